from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from turash.models.base import Base, IdMixin, TimestampMixin, new_id, utcnow

PROPOSAL_STATES = ("draft", "sent", "accepted", "rejected", "withdrawn", "in_negotiation", "agreed", "failed",
                   "implemented")


class Proposal(IdMixin, TimestampMixin, Base):
    """A proposed exchange between the two parties of a match, carried through its states with an audit trail.

    `snapshot` keeps the match as it was proposed (scores, economics, explanation, both sides), so the record
    stays readable when flows change or are deleted later."""

    __tablename__ = "proposals"
    __table_args__ = (sa.CheckConstraint(f"status IN {PROPOSAL_STATES}", name="status"),)

    match_id: Mapped[str] = mapped_column(sa.String(80), index=True)
    supply_flow_id: Mapped[str | None] = mapped_column(sa.ForeignKey("resource_flows.id", ondelete="SET NULL"))
    demand_flow_id: Mapped[str | None] = mapped_column(sa.ForeignKey("resource_flows.id", ondelete="SET NULL"))
    proposer_org_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    receiver_org_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    facilitator_org_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="SET NULL"), index=True
    )
    status: Mapped[str] = mapped_column(sa.String(16), default="draft", index=True)
    snapshot: Mapped[dict[str, Any]] = mapped_column(default=dict)
    nda_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


PARTY_ROLES = ("supplier", "service", "receiver")


class ProposalParty(Base):
    """An organisation taking part in a multi-party proposal (a chain: supplier → service provider → receiver).

    Two-party proposals have no rows here (proposer and receiver are on the proposal); a chain proposal lists
    every party, so the service provider sees it, is notified, and accepts it like the receiver (`accepted_at`)."""

    __tablename__ = "proposal_parties"
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "organization_id", "role"),
        sa.CheckConstraint(f"role IN {PARTY_ROLES}", name="role"),
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    proposal_id: Mapped[str] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    service_id: Mapped[str | None] = mapped_column(sa.ForeignKey("service_offerings.id", ondelete="SET NULL"))
    accepted_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ProposalEvent(Base):
    """One entry of a proposal's trail: creation, a status change, a comment, an NDA, an assignment."""

    __tablename__ = "proposal_events"

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    proposal_id: Mapped[str] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(sa.String(32))
    actor: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))  # created | status | comment | nda | assignment
    from_status: Mapped[str | None] = mapped_column(sa.String(16))
    to_status: Mapped[str | None] = mapped_column(sa.String(16))
    body: Mapped[str | None] = mapped_column(sa.Text)


class Notification(Base):
    """An in-app notification for one user (read/unread)."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.Index("ix_notifications_user_unread", "user_id", "read_at"),
        sa.UniqueConstraint("user_id", "event_id"),  # one per user and event: handlers stay idempotent
    )

    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(32))
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str | None] = mapped_column(sa.Text)
    data: Mapped[dict[str, Any]] = mapped_column(default=dict)
    event_id: Mapped[str | None] = mapped_column(sa.String(64))  # the domain event that caused it
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None] = mapped_column()


class ProposalDocument(IdMixin, Base):
    """A file attached to a proposal (a sample analysis, a drawing, a signed NDA), seen by its parties only."""

    __tablename__ = "proposal_documents"

    proposal_id: Mapped[str] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(255))
    content_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int] = mapped_column()
    sha256: Mapped[str] = mapped_column(sa.String(64))
    description: Mapped[str | None] = mapped_column(sa.Text)
    content: Mapped[bytes] = mapped_column(sa.LargeBinary, deferred=True)
    uploaded_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    actor: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
