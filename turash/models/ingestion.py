from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from turash.models.base import Base, IdMixin, TimestampMixin


class ImportRun(IdMixin, TimestampMixin, Base):
    """One import of one file. Its counts add up: rows_total = imported + skipped (already present) + quarantined."""

    __tablename__ = "import_runs"

    kind: Mapped[str] = mapped_column(sa.String(16))
    file_name: Mapped[str] = mapped_column(sa.String(500))
    file_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="running")  # running | done | failed
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    rows_quarantined: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    finished_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class QuarantinedRow(IdMixin, TimestampMixin, Base):
    """A record that failed validation, kept with where and why, so nothing rejected is ever out of sight."""

    __tablename__ = "quarantined_rows"

    import_run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(500))
    row_number: Mapped[int | None] = mapped_column()  # 1-based line number in the file; None = the whole file
    column: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved_at: Mapped[datetime | None] = mapped_column()

    import_run: Mapped[ImportRun | None] = relationship(lazy="raise")
