"""Storing in-app notifications: one per member of the organisations told, tied to the event that caused it (the
event's handler then e-mails and pushes them, turash.notifications.handlers)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.kit.bus import DomainEvent
from turash.models import Membership, Notification
from turash.models.base import new_id


def notify_members(
    session: Session,
    organization_ids: Iterable[str | None],
    kind: str,
    title: str,
    body: str,
    data: dict[str, Any],
    event: DomainEvent | None,
) -> int:
    """An in-app notification for every member of the organisations (each user once). Returns how many."""
    orgs = {o for o in organization_ids if o}
    if not orgs:
        return 0
    users = set(session.scalars(sa.select(Membership.user_id).where(Membership.organization_id.in_(orgs))))
    for user_id in users:
        session.add(
            Notification(
                id=new_id(),
                user_id=user_id,
                kind=kind,
                title=title,
                body=body,
                data=data,
                event_id=event.id if event else None,
            )
        )
    return len(users)
