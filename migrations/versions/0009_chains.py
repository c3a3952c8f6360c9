"""multi-party chains: heat_pump service kind, proposal parties

Revision ID: 0009_chains
Revises: 0008
Create Date: 2026-12-07 11:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_chains"
down_revision = "0008"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('transport', 'treatment', 'storage', 'maintenance', 'consulting')"
NEW_KINDS = "kind IN ('transport', 'treatment', 'storage', 'maintenance', 'consulting', 'heat_pump')"


def upgrade() -> None:
    # batch mode: SQLite recreates the table to change a CHECK constraint; PostgreSQL alters it in place
    with op.batch_alter_table("service_offerings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_service_offerings_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_service_offerings_kind"), sa.text(NEW_KINDS))
    op.create_table(
        "proposal_parties",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("proposal_id", sa.String(length=32), nullable=False),
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("service_id", sa.String(length=32), nullable=True),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('supplier', 'service', 'receiver')", name=op.f("ck_proposal_parties_role")),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_proposal_parties_proposal_id_proposals"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_proposal_parties_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["service_id"],
            ["service_offerings.id"],
            name=op.f("fk_proposal_parties_service_id_service_offerings"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_parties")),
        sa.UniqueConstraint(
            "proposal_id", "organization_id", "role", name=op.f("uq_proposal_parties_proposal_id_organization_id_role")
        ),
    )
    with op.batch_alter_table("proposal_parties", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_parties_proposal_id"), ["proposal_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposal_parties_organization_id"), ["organization_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("proposal_parties", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_parties_organization_id"))
        batch_op.drop_index(batch_op.f("ix_proposal_parties_proposal_id"))
    op.drop_table("proposal_parties")
    op.execute(sa.text("DELETE FROM service_offerings WHERE kind = 'heat_pump'"))
    with op.batch_alter_table("service_offerings", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_service_offerings_kind"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_service_offerings_kind"), sa.text(OLD_KINDS))
