"""Delivery of notifications beyond the in-app list: preferences, e-mail, webhooks, and the record that makes event
handlers idempotent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from turash.models.base import Base, IdMixin, JSONType, TimestampMixin, utcnow

EMAIL_MODES = ("immediate", "daily", "off")
DELIVERY_STATES = ("pending", "delivered", "failed")
DEFAULT_MATCH_THRESHOLD = 0.8  # new matches at least this good are announced, unless the user chose otherwise


class HandledEvent(Base):
    """An event a handler has applied: written in the same transaction as the handler's effect, so a redelivered
    event (NATS is at-least-once) is recognised and skipped."""

    __tablename__ = "handled_events"

    event_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    handler: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(default=utcnow)


class NotificationPreference(TimestampMixin, Base):
    __tablename__ = "notification_preferences"
    __table_args__ = (sa.CheckConstraint(f"email IN {EMAIL_MODES}", name="email"),)

    user_id: Mapped[str] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(16), default="immediate")  # immediate | daily digest | off
    websocket: Mapped[bool] = mapped_column(default=True)
    muted_kinds: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # e.g. ["match"]
    match_threshold: Mapped[float] = mapped_column(sa.Float, default=DEFAULT_MATCH_THRESHOLD)
    last_digest_at: Mapped[datetime | None] = mapped_column()


class EmailMessage(IdMixin, Base):
    """One e-mail: written first (the outbox), then sent by SMTP or into the mail folder."""

    __tablename__ = "email_messages"
    __table_args__ = (sa.UniqueConstraint("user_id", "event_id"),)

    user_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[str | None] = mapped_column(sa.String(64))
    to: Mapped[str] = mapped_column(sa.String(320))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column()
    # Set while one process sends it, so that another replica leaves it alone; a crashed sender's claim lapses.
    claimed_until: Mapped[datetime | None] = mapped_column()


class Webhook(IdMixin, TimestampMixin, Base):
    """An organisation's endpoint for the events it takes part in, signed with HMAC-SHA256 of its secret."""

    __tablename__ = "webhooks"

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    secret: Mapped[str] = mapped_column(sa.String(128))  # needed in clear to sign; shown once, never listed
    events: Mapped[list[Any]] = mapped_column(JSONType, default=list)  # patterns: "proposal.*", "*"
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class WebhookDelivery(IdMixin, Base):
    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id"),
        sa.CheckConstraint(f"status IN {DELIVERY_STATES}", name="status"),
        sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    )

    webhook_id: Mapped[str] = mapped_column(sa.ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[str] = mapped_column(sa.String(64))
    event_name: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(sa.String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column()
