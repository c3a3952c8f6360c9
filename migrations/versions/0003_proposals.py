"""proposals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 11:00:14.598867
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "notifications",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column(
            "data", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("event_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("event_id", name=op.f("uq_notifications_event_id")),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_notifications_user_unread", ["user_id", "read_at"], unique=False)

    op.create_table(
        "proposals",
        sa.Column("match_id", sa.String(length=80), nullable=False),
        sa.Column("supply_flow_id", sa.String(length=32), nullable=True),
        sa.Column("demand_flow_id", sa.String(length=32), nullable=True),
        sa.Column("proposer_org_id", sa.String(length=32), nullable=False),
        sa.Column("receiver_org_id", sa.String(length=32), nullable=False),
        sa.Column("facilitator_org_id", sa.String(length=32), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "snapshot", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"), nullable=False
        ),
        sa.Column("nda_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=32), nullable=True),
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'sent', 'accepted', 'rejected', 'withdrawn', 'in_negotiation', 'agreed', 'failed', 'implemented')",
            name=op.f("ck_proposals_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_proposals_created_by_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["demand_flow_id"],
            ["resource_flows.id"],
            name=op.f("fk_proposals_demand_flow_id_resource_flows"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["facilitator_org_id"],
            ["organizations.id"],
            name=op.f("fk_proposals_facilitator_org_id_organizations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["proposer_org_id"],
            ["organizations.id"],
            name=op.f("fk_proposals_proposer_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["receiver_org_id"],
            ["organizations.id"],
            name=op.f("fk_proposals_receiver_org_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supply_flow_id"],
            ["resource_flows.id"],
            name=op.f("fk_proposals_supply_flow_id_resource_flows"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposals")),
    )
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposals_facilitator_org_id"), ["facilitator_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposals_match_id"), ["match_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposals_proposer_org_id"), ["proposer_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposals_receiver_org_id"), ["receiver_org_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_proposals_status"), ["status"], unique=False)

    op.create_table(
        "proposal_events",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("proposal_id", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.String(length=32), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["proposals.id"], name=op.f("fk_proposal_events_proposal_id_proposals"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proposal_events")),
    )
    with op.batch_alter_table("proposal_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_proposal_events_proposal_id"), ["proposal_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("proposal_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposal_events_proposal_id"))

    op.drop_table("proposal_events")
    with op.batch_alter_table("proposals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_proposals_status"))
        batch_op.drop_index(batch_op.f("ix_proposals_receiver_org_id"))
        batch_op.drop_index(batch_op.f("ix_proposals_proposer_org_id"))
        batch_op.drop_index(batch_op.f("ix_proposals_match_id"))
        batch_op.drop_index(batch_op.f("ix_proposals_facilitator_org_id"))

    op.drop_table("proposals")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_user_unread")
        batch_op.drop_index(batch_op.f("ix_notifications_created_at"))

    op.drop_table("notifications")
