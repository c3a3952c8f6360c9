"""search: one document per organisation, site, flow and service, kept by triggers; FTS5 on SQLite, tsvector +
pg_trgm GIN indexes on PostgreSQL (turash/search/index.py)

Revision ID: 0010_search
Revises: 0009_chains
Create Date: 2026-12-07 11:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from turash.search import index

revision = "0010_search"
down_revision = "0009_chains"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "search_documents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("ref_id", sa.String(length=32), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("classes", sa.Text(), nullable=False),
        sa.CheckConstraint(
            "kind IN ('organization', 'site', 'flow', 'service')", name=op.f("ck_search_documents_kind")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_documents")),
        sa.UniqueConstraint("kind", "ref_id", name=op.f("uq_search_documents_kind_ref_id")),
    )
    index.install(op.get_bind())


def downgrade() -> None:
    index.uninstall(op.get_bind())
    op.drop_table("search_documents")
