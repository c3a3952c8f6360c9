"""Several replicas deliver at once: every e-mail and every webhook delivery goes out exactly once. Each replica
is a thread with its own database session, as two `turash serve` processes would be; the mail server and the
webhook endpoint are real local servers that count what they receive, and answer slowly so the replicas overlap."""

from __future__ import annotations

import socketserver
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session

from tests.notifications.test_delivery import Receiver
from tests.notifications.test_smtp import _Smtp
from turash.config import Settings
from turash.kit import migrations
from turash.kit.db import make_engine
from turash.models import EmailMessage, Organization, Webhook, WebhookDelivery
from turash.notifications import mail, webhooks

MESSAGES = 12
REPLICAS = 3


class _SlowSmtp(_Smtp):
    def handle(self) -> None:
        time.sleep(0.02)
        super().handle()


def _race(url: str, work: Callable[[Session], int]) -> list[int]:
    """Run `work` in REPLICAS threads at once, each with its own session; returns what each reported."""
    engine = make_engine(url)
    start = threading.Barrier(REPLICAS)
    results: list[int] = []
    errors: list[BaseException] = []

    def replica() -> None:
        with Session(engine) as session:
            start.wait()
            try:
                results.append(work(session))
                session.commit()
            except BaseException as exc:  # surfaced below: a thread's failure must fail the test
                errors.append(exc)

    threads = [threading.Thread(target=replica) for _ in range(REPLICAS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    engine.dispose()
    assert not errors, errors
    return results


@pytest.fixture
def fresh_db(cli_db: str) -> str:
    migrations.upgrade(cli_db)  # the claim column comes from its migration, on SQLite and PostgreSQL
    return cli_db


def test_each_email_is_sent_once_by_racing_replicas(fresh_db: str, tmp_path: Path) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _SlowSmtp)
    server.received = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    engine = make_engine(fresh_db)
    with Session(engine) as session:
        for i in range(MESSAGES):
            session.add(EmailMessage(id=f"m{i:02d}", to=f"u{i}@example.org", subject=f"[Turash] note {i}", body="hi"))
        session.commit()
    settings = Settings(smtp_url=f"smtp://127.0.0.1:{server.server_address[1]}", mail_dir=tmp_path)
    try:
        counts = _race(fresh_db, lambda s: mail.send_pending(s, settings))
    finally:
        server.shutdown()
    received: list[dict[str, Any]] = server.received  # type: ignore[attr-defined]
    per_recipient = Counter(r["rcpt"][0] for r in received)
    assert sum(counts) == MESSAGES and len(received) == MESSAGES  # each replica counts only what it sent
    assert set(per_recipient.values()) == {1}
    with Session(engine) as session:
        rows = session.query(EmailMessage).all()
        assert {r.status for r in rows} == {"sent"} and {r.attempts for r in rows} == {1}
        assert {r.claimed_until for r in rows} == {None}
    engine.dispose()


def test_each_webhook_delivery_is_posted_once_by_racing_replicas(fresh_db: str) -> None:
    endpoint = Receiver([])
    engine = make_engine(fresh_db)
    with Session(engine) as session:
        session.add(Organization(id="o1", name="Nordic Power", name_key="nordic power"))
        session.flush()  # before the webhook that refers to it
        session.add(Webhook(id="w1", organization_id="o1", url=endpoint.url, secret="s3cret", events=["*"]))
        for i in range(MESSAGES):
            session.add(WebhookDelivery(id=f"d{i:02d}", webhook_id="w1", event_id=f"e{i}", event_name="proposal.sent"))
        session.commit()
    try:
        counts = _race(fresh_db, webhooks.deliver_due)
    finally:
        endpoint.close()
    posted = Counter(headers["X-Turash-Delivery"] for headers, _ in endpoint.requests)
    assert sum(counts) == MESSAGES and len(posted) == MESSAGES and set(posted.values()) == {1}
    with Session(engine) as session:
        assert {d.status for d in session.query(WebhookDelivery).all()} == {"delivered"}
    engine.dispose()


def test_a_lapsed_claim_is_taken_over(fresh_db: str, tmp_path: Path) -> None:
    """A replica that died mid-send leaves its claim; once it lapses the message goes out (at least once)."""
    from datetime import timedelta

    from turash.models.base import utcnow

    engine = make_engine(fresh_db)
    with Session(engine) as session:
        session.add(
            EmailMessage(
                id="held", to="a@example.org", subject="s", body="b", claimed_until=utcnow() + timedelta(minutes=5)
            )
        )
        session.add(
            EmailMessage(
                id="lapsed", to="b@example.org", subject="s", body="b", claimed_until=utcnow() - timedelta(seconds=1)
            )
        )
        session.commit()
        settings = Settings(mail_dir=tmp_path / "mail")
        assert mail.send_pending(session, settings) == 1
        session.commit()
        status = {m.id: m.status for m in session.query(EmailMessage).all()}
    assert status == {"held": "pending", "lapsed": "sent"}
    assert [p.name.endswith("-lapsed.eml") for p in (tmp_path / "mail").iterdir()] == [True]
    engine.dispose()
