"""Outgoing webhooks: an organisation's endpoints get the events it takes part in, as JSON, signed.

Headers: `X-Turash-Event` (name), `X-Turash-Delivery` (delivery id), `X-Turash-Timestamp` (unix seconds) and
`X-Turash-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the webhook's secret>`; a receiver
recomputes it and rejects old timestamps (replay). A 2xx answer is a delivery; anything else is retried with
exponential backoff: 30 s, 1, 2, 4, 8 min... at most MAX_ATTEMPTS tries, then the delivery is failed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import json
import time
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from turash.kit.db import claim, ready_to_write
from turash.models import Webhook, WebhookDelivery
from turash.models.base import as_utc, utcnow

log = structlog.get_logger(__name__)
MAX_ATTEMPTS = 8
BACKOFF_SECONDS = 30.0
TIMEOUT_SECONDS = 5.0
CLAIM_SECONDS = 60.0  # a delivery being attempted is not due for others; far longer than one request


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def wants(hook: Webhook, event_name: str) -> bool:
    return hook.active and any(fnmatch.fnmatchcase(event_name, p) for p in (hook.events or ["*"]))


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=BACKOFF_SECONDS * 2 ** max(attempts - 1, 0))


def deliver_due(session: Session, now: datetime | None = None, limit: int = 100, client: Any = None) -> int:
    """Try every pending delivery that is due. Returns how many were delivered. Commits what the session holds
    before the first request."""
    import httpx2 as httpx

    now = now or utcnow()
    due = [
        d
        for d in session.scalars(
            sa.select(WebhookDelivery)
            .where(WebhookDelivery.status == "pending")
            .order_by(WebhookDelivery.created_at)
            .limit(limit)
        )
        if d.next_attempt_at is None or as_utc(d.next_attempt_at) <= now
    ]
    if not due:
        return 0
    hooks = {h.id: h for h in session.scalars(sa.select(Webhook).where(Webhook.id.in_({d.webhook_id for d in due})))}
    # No transaction (and on SQLite no write lock) stays open while remote servers answer: the reads end here, the
    # results are written afterwards in a new, short transaction.
    session.commit()
    delivered = 0
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS, follow_redirects=False)
    try:
        for d in due:
            # Claimed (committed) before the request, so two replicas never POST one delivery at once: the claim
            # moves `next_attempt_at` past the request's timeout; a process that dies mid-request leaves the
            # delivery due again once it lapses.
            still_due = sa.or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now)
            taken = sa.update(WebhookDelivery).where(
                WebhookDelivery.id == d.id, WebhookDelivery.status == "pending", still_due
            )
            if not claim(session, taken.values(next_attempt_at=utcnow() + timedelta(seconds=CLAIM_SECONDS))):
                continue
            hook = hooks.get(d.webhook_id)
            if hook is None or not hook.active:
                d.status, d.last_error = "failed", "the webhook was removed or deactivated"
                continue
            body = json.dumps(
                {"id": d.event_id, "event": d.event_name, "delivery": d.id, "data": d.payload}, sort_keys=True
            ).encode()
            stamp = str(int(time.time()))
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Turash-Webhooks/1",
                "X-Turash-Event": d.event_name,
                "X-Turash-Delivery": d.id,
                "X-Turash-Timestamp": stamp,
                "X-Turash-Signature": sign(hook.secret, stamp, body),
            }
            attempts = d.attempts + 1
            status: int | None = None
            try:
                r = http.post(hook.url, content=body, headers=headers)
                status, ok, error = r.status_code, 200 <= r.status_code < 300, None
                if not ok:
                    error = f"HTTP {r.status_code}"
            except Exception as exc:  # connection refused, timeout, TLS...: retried
                ok, error = False, f"{type(exc).__name__}: {exc}"
            ready_to_write(session)  # the outcome is written in a short transaction of its own
            d.attempts, d.last_error = attempts, error
            if status is not None:
                d.last_status = status
            if ok:
                d.status, d.delivered_at, d.next_attempt_at = "delivered", utcnow(), None
                delivered += 1
            elif d.attempts >= MAX_ATTEMPTS:
                d.status = "failed"
                log.warning("webhook_failed", delivery=d.id, url=hook.url, error=d.last_error)
            else:
                d.next_attempt_at = now + backoff(d.attempts)
            session.commit()  # the outcome at once: the claim ends with it
    finally:
        if own:
            http.close()
    return delivered
