"""Daily digests: users who chose `email: daily` get one e-mail a day listing their unread notifications of the
last day (none when there is nothing new)."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.config import Settings
from turash.models import EmailMessage, Notification, NotificationPreference, User
from turash.models.base import as_utc, new_id, utcnow
from turash.notifications import mail

PERIOD = timedelta(days=1)


def send_digests(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Queue the digests that are due. Returns how many were queued."""
    now = now or utcnow()
    count = 0
    for pref in session.scalars(sa.select(NotificationPreference).where(NotificationPreference.email == "daily")):
        if pref.last_digest_at is None:  # the clock starts when the user chose digests
            pref.last_digest_at = now
            continue
        since = as_utc(pref.last_digest_at)
        if now - since < PERIOD:
            continue
        notes = session.scalars(
            sa.select(Notification)
            .where(
                Notification.user_id == pref.user_id,
                Notification.read_at.is_(None),
                Notification.created_at > since,
            )
            .order_by(Notification.created_at)
        ).all()
        notes = [n for n in notes if n.kind not in (pref.muted_kinds or [])]
        pref.last_digest_at = now
        user = session.get(User, pref.user_id)
        if not notes or user is None or not user.email:
            continue
        lines = "\n".join(f"- {n.created_at:%Y-%m-%d %H:%M} {n.title}: {n.body or ''}" for n in notes)
        subject, body = mail.render(
            settings,
            "digest",
            f"{len(notes)} new notification{'s' if len(notes) != 1 else ''}",
            lines,
            user.name or user.email,
            f"{settings.public_url.rstrip('/')}/#/notifications",
        )
        session.add(
            EmailMessage(
                id=new_id(),
                user_id=user.id,
                event_id=f"digest-{now:%Y%m%d%H}",
                to=user.email,
                subject=subject,
                body=body,
            )
        )
        count += 1
    session.flush()
    return count
