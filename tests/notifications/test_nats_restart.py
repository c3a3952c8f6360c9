"""On NATS JetStream the handlers' consumer is durable and at-least-once: a consumer that stops mid-stream and
restarts loses no event, and an event delivered twice (handled, then the process died before the ack) has its
effect once, thanks to `apply_once`."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import require_service
from turash.kit.bus import DomainEvent, NatsBus
from turash.models import Base
from turash.notifications.handlers import apply_once

N = 20


def test_restart_mid_stream_loses_nothing_and_applies_once(tmp_path: Path) -> None:
    require_service("NATS", "127.0.0.1", 4222)
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'effects.db'}")
    Base.metadata.create_all(engine)  # (the audit listener writes audit entries for every session)
    run = uuid.uuid4().hex[:8]
    stream, prefix, durable = f"TEST{run}", f"t{run}.events", f"restart-{run}"
    effects: list[str] = []
    skipped: list[str] = []
    crashed: list[str] = []
    lock = threading.Lock()

    def handler(event: DomainEvent) -> None:
        time.sleep(0.05)  # work takes time: the stop comes mid-stream
        with Session(engine) as s:
            if not apply_once(s, event.id, "effect"):
                with lock:
                    skipped.append(event.id)
                return
            with lock:
                effects.append(event.id)
            s.commit()
        if event.payload["n"] == 5 and not crashed:
            crashed.append(event.id)
            raise RuntimeError("the process dies after its commit, before the ack")

    first = NatsBus("nats://127.0.0.1:4222", stream=stream, subject_prefix=prefix)
    try:
        events = [DomainEvent("flow.updated", {"n": i}) for i in range(N)]
        first.publish(events)
        first.subscribe("*", handler, durable=durable, ack_wait=1.0)
        deadline = time.monotonic() + 20
        while len(effects) < N // 2 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        first.close(drain=False)  # the consumer dies mid-stream, messages in hand unacknowledged
    stopped_at = len(effects)
    assert 0 < stopped_at < N, "the consumer should have stopped mid-stream"

    second = NatsBus("nats://127.0.0.1:4222", stream=stream, subject_prefix=prefix)
    try:
        second.subscribe("*", handler, durable=durable, ack_wait=1.0)
        deadline = time.monotonic() + 30
        while (len(set(effects)) < N or crashed[0] not in skipped) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        second.close()
        cleanup = NatsBus("nats://127.0.0.1:4222", stream=stream, subject_prefix=prefix)
        try:
            cleanup._loop.run(cleanup._js.delete_stream(stream))
        finally:
            cleanup.close()
    assert sorted(effects) == sorted(e.id for e in events)  # every event, each effect once
    assert crashed[0] in skipped  # the event handled before the crash came again and was recognised
