"""matching results and flow class candidates

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 10:25:44.744988
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "match_runs",
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column(
            "params", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("catalog_version", sa.String(length=64), nullable=False),
        sa.Column("data_version", sa.String(length=64), nullable=False),
        sa.Column("flows_count", sa.Integer(), nullable=False),
        sa.Column("matches_count", sa.Integer(), nullable=False),
        sa.Column(
            "stats", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_match_runs_created_by_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_match_runs")),
    )
    op.create_table(
        "matches",
        sa.Column("id", sa.String(length=80), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=True),
        sa.Column("supply_flow_id", sa.String(length=32), nullable=False),
        sa.Column("demand_flow_id", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column(
            "scores", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("distance_km", sa.Float(), nullable=False),
        sa.Column(
            "economics", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("explanation", sa.Text(), nullable=False),
        sa.Column("route", sa.String(length=16), nullable=False),
        sa.Column(
            "details", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("inputs_version", sa.String(length=64), nullable=False),
        sa.Column("computed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["demand_flow_id"],
            ["resource_flows.id"],
            name=op.f("fk_matches_demand_flow_id_resource_flows"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["match_runs.id"], name=op.f("fk_matches_run_id_match_runs"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["supply_flow_id"],
            ["resource_flows.id"],
            name=op.f("fk_matches_supply_flow_id_resource_flows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_matches")),
    )
    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_matches_demand_flow_id"), ["demand_flow_id"], unique=False)
        batch_op.create_index("ix_matches_pair", ["supply_flow_id", "demand_flow_id"], unique=True)
        batch_op.create_index(batch_op.f("ix_matches_run_id"), ["run_id"], unique=False)

    with op.batch_alter_table("resource_flows", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resource_classes", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    with op.batch_alter_table("resource_flows", schema=None) as batch_op:
        batch_op.drop_column("resource_classes")

    with op.batch_alter_table("matches", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_matches_run_id"))
        batch_op.drop_index("ix_matches_pair")
        batch_op.drop_index(batch_op.f("ix_matches_demand_flow_id"))

    op.drop_table("matches")
    op.drop_table("match_runs")
