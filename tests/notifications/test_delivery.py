"""Events to deliveries: e-mail (file sink) by preference and as daily digests, live WebSocket updates with token
auth, webhooks signed with HMAC-SHA256 and retried with backoff, idempotent handling, new-match announcements."""

from __future__ import annotations

import email
import hashlib
import hmac
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from tests.conftest import Api
from tests.proposals.test_endpoints import _proposal
from turash.kit.bus import DomainEvent
from turash.models import EmailMessage, WebhookDelivery
from turash.models.base import utcnow
from turash.notifications import digest, handlers, webhooks


def _mails(runtime: Any, to: str, about: str = "") -> list[email.message.Message]:
    folder = Path(runtime.settings.mail_dir)
    found = [email.message_from_bytes(p.read_bytes()) for p in sorted(folder.glob("*.eml"))] if folder.exists() else []
    return [m for m in found if m["To"] == to and about in m["Subject"]]


def _body(message: email.message.Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


class Receiver:
    """A local HTTP endpoint that answers with the given statuses in turn (then 200) and records every request."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses, self.requests = list(statuses), []
        outer = self

        class Handle(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                outer.requests.append((dict(self.headers), body))
                self.send_response(outer.statuses.pop(0) if outer.statuses else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handle)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def receiver() -> Any:
    servers: list[Receiver] = []

    def make(statuses: list[int] | None = None) -> Receiver:
        servers.append(Receiver(statuses or []))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def test_email_follows_the_preferences(alice: Api, bob: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    proposal, _ = _proposal(alice, bob)
    pid = proposal["id"]
    alice.post(f"/api/v1/proposals/{pid}/status", json={"status": "sent"})
    [mail] = _mails(runtime, bob.email, "Proposal")  # Bob is told it was sent to him; Alice, who acted, is not
    assert mail["Subject"] == "[Turash] Proposal sent" and f"/#/deals/{pid}" in _body(mail)
    assert _mails(runtime, alice.email, "Proposal") == []
    # Bob turns e-mail off: the notification is still listed in the app, but no e-mail.
    r = bob.client.put("/api/v1/users/me/preferences", headers=bob.headers, json={"email": "off"})
    assert r.status_code == 200 and r.json()["email"] == "off"
    alice.post(f"/api/v1/proposals/{pid}/comments", json={"body": "Samples next week?"})
    assert _mails(runtime, bob.email, "comment") == []
    assert bob.get("/api/v1/users/me/notifications").json()["items"][0]["title"] == "New comment on a proposal"
    bad = bob.client.put("/api/v1/users/me/preferences", headers=bob.headers, json={"email": "hourly"})
    assert bad.status_code == 422


def test_daily_digest(alice: Api, bob: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    prefs = {"email": "daily", "muted_kinds": ["match"]}
    bob.client.put("/api/v1/users/me/preferences", headers=bob.headers, json=prefs)
    proposal, _ = _proposal(alice, bob)
    alice.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "sent"})
    alice.post(f"/api/v1/proposals/{proposal['id']}/comments", json={"body": "Hello"})
    assert _mails(runtime, bob.email) == []  # nothing at once
    with runtime.uow() as uow:
        assert digest.send_digests(uow.session, runtime.settings, now=utcnow() + timedelta(hours=25)) == 1
        assert digest.send_digests(uow.session, runtime.settings, now=utcnow() + timedelta(hours=26)) == 0  # daily
        uow.commit()
    handlers.deliver(runtime)
    [mail] = _mails(runtime, bob.email)
    assert mail["Subject"] == "[Turash] 2 new notifications" and "New comment on a proposal" in _body(mail)


def test_webhooks_are_signed_retried_and_idempotent(alice: Api, bob: Api, runtime, receiver) -> None:  # type: ignore[no-untyped-def]
    proposal, ids = _proposal(alice, bob)
    server = receiver([500])  # the first attempt fails
    org = ids["plant"]["id"]
    r = alice.post(f"/api/v1/organizations/{org}/webhooks", json={"url": server.url, "events": ["proposal.status_*"]})
    assert r.status_code == 201, r.text
    hook = r.json()
    assert hook["secret"].startswith("whsec_")
    assert "secret" not in alice.get(f"/api/v1/organizations/{org}/webhooks").json()["items"][0]
    assert bob.get(f"/api/v1/organizations/{org}/webhooks").status_code == 403
    bad = alice.post(f"/api/v1/organizations/{org}/webhooks", json={"url": "not a url"})
    assert bad.status_code == 422

    alice.post(f"/api/v1/proposals/{proposal['id']}/comments", json={"body": "not subscribed"})
    alice.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "sent"})
    assert len(server.requests) == 1  # the comment is not a status change
    url = f"/api/v1/organizations/{org}/webhooks/{hook['id']}/deliveries"
    [d] = alice.get(url).json()["items"]
    assert d["status"] == "pending" and d["attempts"] == 1 and d["last_status"] == 500 and d["next_attempt_at"]

    with runtime.uow() as uow:  # not due yet; then, after the backoff, delivered
        assert webhooks.deliver_due(uow.session) == 0
        assert webhooks.deliver_due(uow.session, now=utcnow() + timedelta(seconds=31)) == 1
        uow.commit()
    [d] = alice.get(url).json()["items"]
    assert d["status"] == "delivered" and d["attempts"] == 2
    headers, body = server.requests[-1]
    stamp = headers["X-Turash-Timestamp"]
    expected = "sha256=" + hmac.new(hook["secret"].encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    assert headers["X-Turash-Signature"] == expected and headers["X-Turash-Event"] == "proposal.status_changed"
    payload = json.loads(body)
    assert payload["data"]["proposal_id"] == proposal["id"] and payload["data"]["to"] == "sent"

    # The same event handled again (NATS delivers at least once): no second delivery, no second e-mail.
    event = DomainEvent("proposal.status_changed", payload["data"], id=payload["id"])
    handlers.handle(runtime, event)
    with runtime.uow() as uow:
        deliveries = uow.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery))
        emails = uow.session.scalar(
            sa.select(sa.func.count()).select_from(EmailMessage).where(EmailMessage.event_id == payload["id"])
        )
    assert deliveries == 1 and emails == 1 and len(server.requests) == 2


def test_backoff_doubles() -> None:
    assert [webhooks.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [30, 60, 120, 240]


def test_websocket_live_updates(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    proposal, _ = _proposal(alice, bob)
    token = bob.tokens["access_token"]
    with client.websocket_connect(f"/api/v1/ws?token={token}") as ws:
        hello = ws.receive_json()
        assert hello["type"] == "hello" and hello["unread"] == 1  # the new-match notice
        alice.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "sent"})
        live = ws.receive_json()
        assert live["type"] == "notification" and live["title"] == "Proposal sent"
        assert live["data"]["proposal_id"] == proposal["id"]
    with client.websocket_connect("/api/v1/ws") as ws:  # the token as the first message
        ws.send_json({"token": token})
        assert ws.receive_json()["type"] == "hello"
    with client.websocket_connect("/api/v1/ws?token=forged") as ws:
        error = ws.receive_json()
        assert error["type"] == "error" and error["code"] == "invalid_token"


def test_new_matches_above_the_threshold_are_announced(alice: Api, bob: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    from tests.matching.test_endpoints import _setup

    bob.client.put("/api/v1/users/me/preferences", headers=bob.headers, json={"match_threshold": 0.99})
    ids = _setup(alice, bob)
    alice.get(f"/api/v1/organizations/{ids['plant']['id']}/matching/direct")
    notes = alice.get("/api/v1/users/me/notifications").json()["items"]
    [note] = [n for n in notes if n["kind"] == "match"]
    assert note["title"] == "1 new match for Nordic Power" and "your fly ash with pozzolanic" in note["body"]
    assert "Baltic" not in note["body"]  # the other party stays anonymous
    assert not [n for n in bob.get("/api/v1/users/me/notifications").json()["items"] if n["kind"] == "match"]
    alice.get(f"/api/v1/organizations/{ids['plant']['id']}/matching/direct?top=4")  # no longer new
    assert len([n for n in alice.get("/api/v1/users/me/notifications").json()["items"] if n["kind"] == "match"]) == 1
    assert _mails(runtime, alice.email, "1 new match for Nordic Power")


def test_the_audit_log_never_holds_a_webhook_secret(alice: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    from turash.models import AuditEntry

    org = alice.organization("Hooked")
    secret = alice.post(f"/api/v1/organizations/{org['id']}/webhooks", json={"url": "https://example.org/h"}).json()[
        "secret"
    ]
    with runtime.uow() as uow:
        entries = uow.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity == "webhooks")).all()
    assert entries and all(secret not in str(e.after) for e in entries)


def test_a_new_match_webhook_names_only_the_own_organisation(alice: Api, bob: Api, receiver) -> None:  # type: ignore[no-untyped-def]
    from tests.matching.test_endpoints import _setup

    server = receiver([])
    ids = _setup(alice, bob)
    plant = ids["plant"]
    alice.post(f"/api/v1/organizations/{plant['id']}/webhooks", json={"url": server.url, "events": ["match.*"]})
    alice.get(f"/api/v1/organizations/{plant['id']}/matching/direct")
    posted = [json.loads(body) for headers, body in server.requests if headers["X-Turash-Event"] == "match.found"]
    assert posted, "the new match reached the webhook"
    for p in posted:
        assert p["data"]["organization_ids"] == [plant["id"]]
        assert ids["works"]["id"] not in json.dumps(p)  # nothing of the other party
