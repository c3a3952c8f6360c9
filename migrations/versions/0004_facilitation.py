"""facilitation

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07 01:26:14.743854
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "facilitator_profiles",
        sa.Column("organization_id", sa.String(length=32), nullable=False),
        sa.Column(
            "regions", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "specialities",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("fee_model", sa.String(length=16), nullable=False),
        sa.Column("fee_eur", sa.Float(), nullable=True),
        sa.Column("fee_note", sa.Text(), nullable=True),
        sa.Column("sla_hours", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "fee_model IN ('fixed', 'success', 'hourly', 'free')", name=op.f("ck_facilitator_profiles_fee_model")
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_facilitator_profiles_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_facilitator_profiles")),
    )
    op.create_table(
        "facilitation_cases",
        sa.Column("match_id", sa.String(length=80), nullable=False),
        sa.Column("supply_flow_id", sa.String(length=32), nullable=True),
        sa.Column("demand_flow_id", sa.String(length=32), nullable=True),
        sa.Column("country", sa.String(length=2), nullable=True),
        sa.Column("category", sa.String(length=16), nullable=True),
        sa.Column("supply_class", sa.String(length=100), nullable=True),
        sa.Column("demand_class", sa.String(length=100), nullable=True),
        sa.Column(
            "reasons", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column(
            "snapshot", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("facilitator_org_id", sa.String(length=32), nullable=True),
        sa.Column("claimed_by", sa.String(length=32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("proposal_id", sa.String(length=32), nullable=True),
        sa.Column("outcome_reason", sa.Text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'claimed', 'agreed', 'failed')", name=op.f("ck_facilitation_cases_status")
        ),
        sa.ForeignKeyConstraint(
            ["claimed_by"], ["users.id"], name=op.f("fk_facilitation_cases_claimed_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["demand_flow_id"],
            ["resource_flows.id"],
            name=op.f("fk_facilitation_cases_demand_flow_id_resource_flows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["facilitator_org_id"],
            ["organizations.id"],
            name=op.f("fk_facilitation_cases_facilitator_org_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposal_id"],
            ["proposals.id"],
            name=op.f("fk_facilitation_cases_proposal_id_proposals"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["supply_flow_id"],
            ["resource_flows.id"],
            name=op.f("fk_facilitation_cases_supply_flow_id_resource_flows"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_facilitation_cases")),
    )
    with op.batch_alter_table("facilitation_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_facilitation_cases_country"), ["country"], unique=False)
        batch_op.create_index(batch_op.f("ix_facilitation_cases_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_facilitation_cases_facilitator_org_id"), ["facilitator_org_id"], unique=False
        )
        batch_op.create_index("ix_facilitation_cases_match", ["match_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_facilitation_cases_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("facilitation_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_facilitation_cases_status"))
        batch_op.drop_index("ix_facilitation_cases_match")
        batch_op.drop_index(batch_op.f("ix_facilitation_cases_facilitator_org_id"))
        batch_op.drop_index(batch_op.f("ix_facilitation_cases_due_at"))
        batch_op.drop_index(batch_op.f("ix_facilitation_cases_country"))

    op.drop_table("facilitation_cases")
    op.drop_table("facilitator_profiles")
