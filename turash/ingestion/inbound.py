"""Inbound webhooks: an ERP, a historian or a meter gateway pushes records to Turash.

Each source has its own secret. A delivery carries the headers Turash's own outgoing webhooks send
(notifications/webhooks.py), so one library signs both ways:
- `X-Turash-Timestamp`: Unix seconds when it was signed,
- `X-Turash-Signature`: `sha256=` + hex HMAC-SHA256 of `timestamp + "." + body` with the source's secret,
- `X-Turash-Delivery`: an id unique per delivery.
A delivery is refused when the signature does not verify (constant-time compare), when its timestamp is more than
`REPLAY_WINDOW` away from now (a captured request cannot be replayed later), or when its delivery id was already
accepted (nor within the window). Receipts older than the window are purged: the timestamp check covers them.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy.orm import Session

from turash.ingestion.meters import take_readings
from turash.ingestion.readings import Reading
from turash.kit.bus import DomainEvent
from turash.kit.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from turash.models import InboundWebhook, WebhookReceipt
from turash.models.base import new_id, utcnow
from turash.notifications.webhooks import sign

REPLAY_WINDOW = timedelta(minutes=5)
MAX_RECORDS = 10_000


class _Reading(BaseModel):
    model_config = ConfigDict(extra="forbid")
    meter: str = Field(min_length=1, max_length=200)
    ts: AwareDatetime
    value: float = Field(allow_inf_nan=False)
    unit: str | None = Field(None, max_length=50)


class _ReadingsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    readings: list[_Reading] = Field(min_length=1, max_length=MAX_RECORDS)


class _FlowsBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_RECORDS)


def create_source(session: Session, organization_id: str, name: str, kind: str, user_id: str | None) -> InboundWebhook:
    source = InboundWebhook(
        id=new_id(),
        organization_id=organization_id,
        name=name,
        kind=kind,
        secret=secrets.token_urlsafe(32),
        created_by=user_id,
    )
    session.add(source)
    session.flush()
    return source


def rotate_secret(source: InboundWebhook) -> str:
    source.secret = secrets.token_urlsafe(32)
    return source.secret


def get_source(session: Session, organization_id: str, webhook_id: str) -> InboundWebhook:
    source = session.get(InboundWebhook, webhook_id)
    if source is None or source.organization_id != organization_id:
        raise NotFound.of("inbound webhook", webhook_id)
    return source


def verify(
    source: InboundWebhook, headers: Mapping[str, str], body: bytes, now: datetime | None = None
) -> tuple[str, datetime]:
    """Check the signature and the timestamp; returns (delivery id, signed at). Raises NotAuthenticated."""
    stamp = headers.get("x-turash-timestamp", "")
    signature = headers.get("x-turash-signature", "")
    delivery = headers.get("x-turash-delivery", "").strip()
    if not stamp or not signature or not delivery:
        raise NotAuthenticated(
            "a webhook delivery needs the headers X-Turash-Timestamp, X-Turash-Signature and X-Turash-Delivery",
            code="webhook_unsigned",
        )
    if len(delivery) > 200:
        raise ValidationFailed("X-Turash-Delivery is longer than 200 characters")
    try:
        signed_at = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise NotAuthenticated(
            f"X-Turash-Timestamp {stamp[:40]!r} is not Unix seconds", code="webhook_unsigned"
        ) from None
    if not hmac.compare_digest(sign(source.secret, stamp, body), signature):
        raise NotAuthenticated("the signature does not match the body and timestamp", code="webhook_bad_signature")
    now = now or utcnow()
    if abs(now - signed_at) > REPLAY_WINDOW:
        raise NotAuthenticated(
            f"the delivery was signed at {signed_at.isoformat()}, more than "
            f"{int(REPLAY_WINDOW.total_seconds())} s from now; sign each delivery when it is sent",
            code="webhook_stale",
        )
    return delivery, signed_at


def receive(
    session: Session,
    webhook_id: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    collect: Callable[[DomainEvent], None] | None = None,
    submit_flows: Callable[[Session, InboundWebhook, list[dict[str, Any]], str], dict[str, Any]] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Verify and take one delivery; the caller commits (the receipt and the records together)."""
    source = session.get(InboundWebhook, webhook_id)
    if source is None or not source.active:
        # the same answer as a bad signature: a caller without the secret learns nothing about which ids exist
        raise NotAuthenticated("unknown webhook source, or the delivery is not signed by it")
    now = now or utcnow()
    delivery, _ = verify(source, headers, body, now)
    if session.get(WebhookReceipt, (source.id, delivery)) is not None:
        raise Conflict(f"delivery {delivery!r} was already received", code="webhook_replayed")
    session.execute(sa.delete(WebhookReceipt).where(WebhookReceipt.received_at < now - 2 * REPLAY_WINDOW))
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        where = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ValidationFailed(f"the body is not JSON{where}: {exc}") from None
    receipt = WebhookReceipt(webhook_id=source.id, delivery_id=delivery, received_at=now)
    session.add(receipt)
    source.last_received_at = now
    try:
        if source.kind == "readings":
            parsed = _ReadingsBody.model_validate(payload)
            readings = [Reading(r.meter, r.ts, r.value, r.unit) for r in parsed.readings]
            result = take_readings(session, source.organization_id, readings, source="webhook", collect=collect)
            outcome = {"delivery": delivery, "kind": "readings", **result.as_dict()}
        else:
            records = _FlowsBody.model_validate(payload).records
            if submit_flows is None:
                raise ValidationFailed("this server does not take flow records by webhook")
            outcome = {"delivery": delivery, "kind": "flows", **submit_flows(session, source, records, delivery)}
    except ValidationError as exc:
        details = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in exc.errors()[:20]]
        raise ValidationFailed(f"the body is not a {source.kind} delivery", details=details) from None
    receipt.job_id = outcome.get("job_id")
    session.flush()
    return outcome
