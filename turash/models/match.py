from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from turash.models.base import Base, IdMixin, TimestampMixin, utcnow


class MatchRun(IdMixin, TimestampMixin, Base):
    """One matching computation: with what parameters, on which data, by whom, how long it took."""

    __tablename__ = "match_runs"

    trigger: Mapped[str] = mapped_column(sa.String(16))  # cli | api | worker
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    catalog_version: Mapped[str] = mapped_column(sa.String(64))
    data_version: Mapped[str] = mapped_column(sa.String(64))
    flows_count: Mapped[int] = mapped_column(default=0)
    matches_count: Mapped[int] = mapped_column(default=0)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    finished_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class MatchRecord(Base):
    """A match as served: the pair, its scores, explanation and routing, with the run (parameters, data and
    catalogue versions) that computed it. The id is derived from the two flow ids, so it is stable across runs."""

    __tablename__ = "matches"
    __table_args__ = (sa.Index("ix_matches_pair", "supply_flow_id", "demand_flow_id", unique=True),)

    id: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("match_runs.id", ondelete="SET NULL"), index=True)
    supply_flow_id: Mapped[str] = mapped_column(sa.ForeignKey("resource_flows.id", ondelete="CASCADE"))
    demand_flow_id: Mapped[str] = mapped_column(sa.ForeignKey("resource_flows.id", ondelete="CASCADE"), index=True)
    score: Mapped[float] = mapped_column(sa.Float)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    distance_km: Mapped[float] = mapped_column(sa.Float)
    economics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    explanation: Mapped[str] = mapped_column(sa.Text)
    route: Mapped[str] = mapped_column(sa.String(16))  # automated | facilitated
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    inputs_version: Mapped[str] = mapped_column(sa.String(64))
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)
