"""The same deliveries on both buses: a proposal change reaches the other party's e-mail and its organisation's
webhook through the in-process bus and through NATS JetStream (the handler runs on the consumer's thread there)."""

from __future__ import annotations

import email
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.conftest import PG_URL, Api, require_service
from tests.notifications.test_delivery import Receiver
from tests.proposals.test_endpoints import _proposal
from turash.app import create_app
from turash.config import Settings
from turash.kit import migrations
from turash.kit.bus import EventBus, InProcessBus, NatsBus
from turash.kit.cache import MemoryCache
from turash.kit.db import make_engine
from turash.kit.runtime import Runtime


@pytest.fixture(params=["inprocess", "nats"])
def app_client(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[TestClient, Runtime]]:
    """A whole app on its own database: SQLite with the in-process bus; PostgreSQL with NATS, as in production
    (NATS handlers write on the consumer's thread while requests write: SQLite's single writer is no place for that)."""
    run = uuid.uuid4().hex[:8]
    bus: EventBus
    cleanup = None
    if request.param == "inprocess":
        url = f"sqlite:///{tmp_path / 'app.db'}"
        bus = InProcessBus()
    else:
        require_service("NATS", "127.0.0.1", 4222)
        if not PG_URL:
            pytest.skip("the NATS variant runs on PostgreSQL (TURASH_TEST_DATABASE_URL)")
        admin = make_engine(str(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "turash_bus_{run}"'))
        url = admin.url.set(database=f"turash_bus_{run}").render_as_string(hide_password=False)
        cleanup = admin
        bus = NatsBus("nats://127.0.0.1:4222", stream=f"TURASH_APP_{run.upper()}", subject_prefix=f"app-{run}")
    settings = Settings(
        database_url=url, secret_key="bus-test-" + "x" * 40, delivery_mode="inline", mail_dir=tmp_path / "mail"
    )
    engine = make_engine(url)
    with engine.begin() as connection:
        migrations.upgrade(connection=connection)
    runtime = Runtime(settings=settings, engine=engine, cache=MemoryCache(), bus=bus)
    try:
        with TestClient(create_app(runtime=runtime)) as client:
            yield client, runtime
    finally:
        bus.close()
        engine.dispose()
        if cleanup is not None:
            with cleanup.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "turash_bus_{run}" WITH (FORCE)'))
            cleanup.dispose()


def _wait(check: Any, seconds: float = 15.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    return check()


def test_a_proposal_change_is_mailed_and_posted(app_client: tuple[TestClient, Runtime]) -> None:
    client, runtime = app_client
    alice, bob = Api(client, "alice@example.org"), Api(client, "bob@example.org")
    proposal, ids = _proposal(alice, bob)
    server = Receiver([])
    try:
        alice.post(f"/api/v1/organizations/{ids['plant']['id']}/webhooks", json={"url": server.url})
        alice.post(f"/api/v1/proposals/{proposal['id']}/status", json={"status": "sent"})
        folder = Path(runtime.settings.mail_dir)

        def mailed() -> list[str]:
            found = [email.message_from_bytes(p.read_bytes()) for p in folder.glob("*.eml")] if folder.exists() else []
            return [m["Subject"] for m in found if m["To"] == bob.email and "Proposal sent" in m["Subject"]]

        assert _wait(mailed) == ["[Turash] Proposal sent"]
        assert _wait(lambda: any(h["X-Turash-Event"] == "proposal.status_changed" for h, _ in server.requests))
    finally:
        server.close()
