"""The handler that turns domain events into deliveries, and the worker that sends them.

Services store the in-app notifications of an event in their own transaction (one per user and event,
`Notification.event_id`). The `notify` handler then, once per event (its `HandledEvent` row is written in the same
transaction as its effects, so an event NATS delivers twice is skipped): queues an e-mail for each recipient who
wants them immediately, pushes the notification to the recipient's open WebSockets, and queues a webhook delivery
for every active webhook of the organisations the event concerns. The e-mails and webhooks are sent after the
commit: by the delivery worker thread (`delivery_mode=background`, with retries and the daily digests) or at once
(`inline`).
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.exc import IntegrityError

from turash.kit.bus import DomainEvent
from turash.models import (
    FacilitationCase,
    HandledEvent,
    Notification,
    NotificationPreference,
    Proposal,
    ResourceFlow,
    User,
    Webhook,
    WebhookDelivery,
)
from turash.notifications import digest, mail, webhooks
from turash.notifications.hub import hub_of

log = structlog.get_logger(__name__)
HANDLER = "notify"
EVENTS = ("proposal.*", "facilitation.*", "match.*")


def note_json(note: Notification) -> dict[str, Any]:
    return {
        "type": "notification",
        "id": note.id,
        "kind": note.kind,
        "title": note.title,
        "body": note.body,
        "data": note.data,
        "created_at": note.created_at.isoformat() if note.created_at else None,
    }


def related_organizations(session: Any, event: DomainEvent) -> set[str]:
    """The organisations an event concerns (their webhooks get it)."""
    p = event.payload
    orgs: set[str | None] = set(p.get("organization_ids") or [])
    if p.get("proposal_id"):
        proposal = session.get(Proposal, p["proposal_id"])
        if proposal is not None:
            orgs |= {proposal.proposer_org_id, proposal.receiver_org_id, proposal.facilitator_org_id}
    if p.get("case_id"):
        case = session.get(FacilitationCase, p["case_id"])
        if case is not None:
            orgs.add(case.facilitator_org_id)
            flows = [f for f in (case.supply_flow_id, case.demand_flow_id) if f]
            orgs |= set(session.scalars(sa.select(ResourceFlow.organization_id).where(ResourceFlow.id.in_(flows))))
    return {o for o in orgs if o}


def _for_organization(event: DomainEvent, organization_id: str) -> dict[str, Any]:
    """What one organisation's webhook may see of an event: for new matches only its own, never the others'."""
    payload = {**event.payload, "occurred_at": event.occurred_at}
    by_org = payload.pop("match_ids_by_organization", None)
    if by_org is not None:
        payload["match_ids"] = by_org.get(organization_id, [])
        payload["organization_ids"] = [organization_id]
    return payload


def apply_once(session: Any, event_id: str, handler: str) -> bool:
    """Claim the event for the handler in the session's transaction: False when it was applied before. The claim and
    the handler's effects commit together, so an event delivered again (at-least-once) has its effect once."""
    if session.get(HandledEvent, (event_id, handler)) is not None:
        return False
    session.add(HandledEvent(event_id=event_id, handler=handler))
    session.flush()
    return True


def handle(runtime: Any, event: DomainEvent) -> None:
    """Apply one event (idempotent: a second delivery of the same event does nothing)."""
    settings = runtime.settings
    pushes: list[tuple[str, dict[str, Any]]] = []
    with runtime.uow() as uow:
        session = uow.session
        if not apply_once(session, event.id, HANDLER):
            return
        notes = session.scalars(sa.select(Notification).where(Notification.event_id == event.id)).all()
        for note in notes:
            pref = session.get(NotificationPreference, note.user_id)
            if pref is not None and note.kind in (pref.muted_kinds or []):
                continue
            if pref is None or pref.email == "immediate":
                user = session.get(User, note.user_id)
                if user is not None and user.email:
                    session.add(mail.outbox_for(settings, note, user.email, user.name or user.email))
            if pref is None or pref.websocket:
                pushes.append((note.user_id, note_json(note)))
        orgs = related_organizations(session, event)
        if orgs:
            for hook in session.scalars(sa.select(Webhook).where(Webhook.organization_id.in_(orgs))):
                if webhooks.wants(hook, event.name):
                    session.add(
                        WebhookDelivery(
                            webhook_id=hook.id,
                            event_id=event.id,
                            event_name=event.name,
                            payload=_for_organization(event, hook.organization_id),
                        )
                    )
        try:
            uow.commit()
        except IntegrityError:  # the same event handled at the same time elsewhere: that one wins
            uow.rollback()
            return
    hub = hub_of(runtime.extras)
    for user_id, message in pushes:
        hub.push(user_id, message)
    if settings.delivery_mode == "inline":
        deliver(runtime)
    else:
        worker = runtime.extras.get("delivery_worker")
        if worker is not None:
            worker.kick()


def deliver(runtime: Any) -> dict[str, int]:
    """Send what is due: pending e-mails, due webhook deliveries, and the daily digests."""
    with runtime.uow() as uow:
        digests = digest.send_digests(uow.session, runtime.settings)
        sent = mail.send_pending(uow.session, runtime.settings)
        delivered = webhooks.deliver_due(uow.session, client=runtime.extras.get("webhook_client"))
        uow.commit()
    return {"digests": digests, "emails": sent, "webhooks": delivered}


def install(runtime: Any) -> None:
    """Subscribe the handler to the runtime's bus once (durable consumer on NATS)."""
    if runtime.extras.get("notify_installed"):
        return
    runtime.extras["notify_installed"] = True

    def on_event(event: DomainEvent) -> None:
        handle(runtime, event)

    for pattern in EVENTS:
        runtime.bus.subscribe(pattern, on_event, durable=f"notify-{pattern.split('.')[0]}")


class DeliveryWorker:
    """A daemon thread that delivers every `interval` seconds, and at once when kicked by the handler."""

    def __init__(self, runtime: Any, interval: float = 10.0) -> None:
        self.runtime, self.interval = runtime, interval
        self._wake, self._stop = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._run, name="turash-delivery", daemon=True)

    def start(self) -> DeliveryWorker:
        self._thread.start()
        return self

    def kick(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                deliver(self.runtime)
            except Exception:  # the database or the SMTP server is away: try again next round
                log.exception("delivery_failed")
