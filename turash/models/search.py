from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from turash.models.base import Base

SEARCH_KINDS = ("organization", "site", "flow", "service")


class SearchDocument(Base):
    """The searchable text of one organisation, site, flow or service offering.

    Written only by database triggers on the four source tables (migration 0008, `turash/search/index.py`), so
    every writer is covered: the ORM, the bulk importer's driver-level `executemany`, SQL by hand. The integer key is
    the rowid of SQLite's FTS5 index (external content); PostgreSQL indexes the same rows with a tsvector and a
    trigram GIN index. Facets and visibility are read from the source tables at query time, never copied here.
    """

    __tablename__ = "search_documents"
    __table_args__ = (
        sa.UniqueConstraint("kind", "ref_id"),
        sa.CheckConstraint(f"kind IN {SEARCH_KINDS}", name="kind"),
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    ref_id: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.Text)
    body: Mapped[str] = mapped_column(sa.Text)
    # Resource class ids (space-separated): a catalogue synonym in a query finds the flows of its class.
    classes: Mapped[str] = mapped_column(sa.Text)
