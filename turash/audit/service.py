"""The audit trail: every ORM change to a domain row is written to `audit_log` in the same transaction.

A `before_flush` listener records creates, updates (with the changed fields before and after) and deletes, with the
actor taken from a context variable that the auth dependency (API) or the CLI sets. Bulk imports, which bypass
the ORM for speed, write one `import` entry per run with its counts instead of one per row.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from turash.models import AuditEntry, Base
from turash.models.base import new_id

# Never copied into the audit log.
_SECRET_COLUMNS = frozenset({"password_hash", "key_hash", "secret"})  # never copied into the audit log
_SKIP_COLUMNS = frozenset({"created_at", "updated_at"})


@dataclass(frozen=True)
class Actor:
    label: str  # "user:ana@example.org", "api-key:tk_ab12", "cli", "system"
    user_id: str | None = None
    request_id: str | None = None


_SYSTEM = Actor("system")  # frozen dataclass: immutable, safe as a default
_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar("turash_actor", default=_SYSTEM)


def current_actor() -> Actor:
    return _actor.get()


def set_actor(actor: Actor) -> contextvars.Token[Actor]:
    return _actor.set(actor)


@contextmanager
def acting_as(actor: Actor) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):  # file contents: the audit keeps their size, not them
        return f"<{len(value)} bytes>"
    return value


def _snapshot(obj: Base) -> dict[str, Any]:
    mapper = inspect(obj).mapper
    return {
        col.key: _plain(getattr(obj, col.key))
        for col in mapper.column_attrs
        if col.key not in _SECRET_COLUMNS and col.key not in _SKIP_COLUMNS
    }


def _changes(obj: Base) -> tuple[dict[str, Any], dict[str, Any]]:
    state = inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for attr in state.mapper.column_attrs:
        if attr.key in _SKIP_COLUMNS:
            continue
        history = state.attrs[attr.key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        secret = attr.key in _SECRET_COLUMNS
        before[attr.key] = "***" if secret else _plain(old)
        after[attr.key] = "***" if secret else _plain(new)
    return before, after


def _organization_of(obj: Base) -> str | None:
    org = getattr(obj, "organization_id", None)
    if org is None and obj.__tablename__ == "organizations":
        org = getattr(obj, "id", None)
    return org


def actor_of(session: Session) -> Actor:
    """The request's actor is kept on its session (sync routes run in worker threads, which do not share context
    variables with the dependency that authenticated the caller); the CLI sets the context variable instead."""
    actor = session.info.get("actor")
    return actor if isinstance(actor, Actor) else current_actor()


def _entry(
    session: Session, obj: Base, action: str, before: dict[str, Any] | None, after: dict[str, Any] | None
) -> AuditEntry:
    actor = actor_of(session)
    return AuditEntry(
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        entity=obj.__tablename__,
        entity_id=str(getattr(obj, "id", "")),
        organization_id=_organization_of(obj),
        before=before,
        after=after,
        request_id=actor.request_id,
    )


def _record_changes(session: Session, _flush_context: Any, _instances: Any) -> None:
    entries: list[AuditEntry] = []
    for obj in session.new:
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry):
            if getattr(obj, "id", None) is None:  # ids are set by column default at flush; set now to log it
                obj.id = new_id()  # type: ignore[attr-defined]
            entries.append(_entry(session, obj, "create", None, _snapshot(obj)))
    for obj in session.dirty:
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry) and session.is_modified(obj):
            before, after = _changes(obj)
            if after:
                entries.append(_entry(session, obj, "update", before, after))
    for obj in session.deleted:
        if isinstance(obj, Base) and not isinstance(obj, AuditEntry):
            entries.append(_entry(session, obj, "delete", _snapshot(obj), None))
    session.add_all(entries)


def install_audit_listener() -> None:
    """Idempotent: attach the listener to every Session of the process."""
    if not event.contains(Session, "before_flush", _record_changes):
        event.listen(Session, "before_flush", _record_changes)


def record(
    session: Session,
    *,
    action: str,
    entity: str,
    entity_id: str,
    organization_id: str | None = None,
    after: dict[str, Any] | None = None,
) -> None:
    """Write an audit entry for a change made outside the ORM (bulk import)."""
    actor = actor_of(session)
    session.add(
        AuditEntry(
            actor_id=actor.user_id,
            actor=actor.label,
            action=action,
            entity=entity,
            entity_id=entity_id,
            organization_id=organization_id,
            after=after,
            request_id=actor.request_id,
        )
    )


def entries_for(
    session: Session,
    *,
    entity: str | None = None,
    entity_id: str | None = None,
    organization_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditEntry]:
    query = sa.select(AuditEntry)
    if entity:
        query = query.where(AuditEntry.entity == entity)
    if entity_id:
        query = query.where(AuditEntry.entity_id == entity_id)
    if organization_id:
        query = query.where(AuditEntry.organization_id == organization_id)
    return list(session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit).offset(offset)))
