from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from turash.models.base import Base, IdMixin, JSONType, TimestampMixin

FEE_MODELS = ("fixed", "success", "hourly", "free")
CASE_STATES = ("open", "claimed", "agreed", "failed")


class FacilitatorProfile(TimestampMixin, Base):
    """What a facilitator organisation offers: where, on what, at what fee, within what response time."""

    __tablename__ = "facilitator_profiles"
    __table_args__ = (sa.CheckConstraint(f"fee_model IN {FEE_MODELS}", name="fee_model"),)

    organization_id: Mapped[str] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    regions: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # ISO 3166-1 alpha-2 codes; empty: everywhere
    specialities: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # categories or classes; empty: all
    fee_model: Mapped[str] = mapped_column(sa.String(16), default="success")
    fee_eur: Mapped[float | None] = mapped_column(sa.Float)  # per case, per hour or the success fee's minimum
    fee_note: Mapped[str | None] = mapped_column(sa.Text)
    sla_hours: Mapped[int] = mapped_column(default=72)  # from claim to the first step (a proposal or an outcome)
    active: Mapped[bool] = mapped_column(default=True)


class FacilitationCase(IdMixin, TimestampMixin, Base):
    """A match the hybrid router sent to the facilitators' marketplace, and what became of it."""

    __tablename__ = "facilitation_cases"
    __table_args__ = (
        sa.CheckConstraint(f"status IN {CASE_STATES}", name="status"),
        sa.Index("ix_facilitation_cases_match", "match_id", unique=True),
    )

    match_id: Mapped[str] = mapped_column(sa.String(80))
    supply_flow_id: Mapped[str | None] = mapped_column(sa.ForeignKey("resource_flows.id", ondelete="SET NULL"))
    demand_flow_id: Mapped[str | None] = mapped_column(sa.ForeignKey("resource_flows.id", ondelete="SET NULL"))
    country: Mapped[str | None] = mapped_column(sa.String(2), index=True)  # the supply site's
    category: Mapped[str | None] = mapped_column(sa.String(16))
    supply_class: Mapped[str | None] = mapped_column(sa.String(100))
    demand_class: Mapped[str | None] = mapped_column(sa.String(100))
    reasons: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # the router's reasons, e.g. "hazardous waste"
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the match as routed
    status: Mapped[str] = mapped_column(sa.String(16), default="open", index=True)
    facilitator_org_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    claimed_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at: Mapped[datetime | None] = mapped_column()
    due_at: Mapped[datetime | None] = mapped_column(index=True)
    reminded_at: Mapped[datetime | None] = mapped_column()
    proposal_id: Mapped[str | None] = mapped_column(sa.ForeignKey("proposals.id", ondelete="SET NULL"))
    outcome_reason: Mapped[str | None] = mapped_column(sa.Text)
    closed_at: Mapped[datetime | None] = mapped_column()
