"""Both event buses pass the same suite: in-process, and NATS JetStream when reachable (mandatory in CI)."""

import threading
import uuid
from collections.abc import Iterator

import pytest

from tests.conftest import require_service
from turash.kit.bus import DomainEvent, EventBus, InProcessBus, NatsBus


@pytest.fixture(params=["inprocess", "nats"])
def bus(request: pytest.FixtureRequest) -> Iterator[EventBus]:
    if request.param == "inprocess":
        b: EventBus = InProcessBus()
    else:
        require_service("NATS", "127.0.0.1", 4222)
        b = NatsBus(
            "nats://127.0.0.1:4222",
            stream=f"TURASH_TEST_{uuid.uuid4().hex[:8].upper()}",
            subject_prefix=f"turash-test-{uuid.uuid4().hex[:8]}",
        )
    yield b
    b.close()


def test_published_events_reach_subscribers(bus: EventBus) -> None:
    received: list[DomainEvent] = []
    done = threading.Event()

    def handler(event: DomainEvent) -> None:
        received.append(event)
        if len(received) == 2:
            done.set()

    bus.subscribe("flow_created", handler, durable=f"t{uuid.uuid4().hex[:8]}")
    bus.publish(
        [
            DomainEvent("flow_created", {"flow_id": "f1"}),
            DomainEvent("other", {}),
            DomainEvent("flow_created", {"flow_id": "f2"}),
        ]
    )
    assert done.wait(10), f"received {received}"
    assert [e.payload["flow_id"] for e in received] == ["f1", "f2"]


def test_failing_handler_does_not_stop_others(bus: EventBus) -> None:
    got = threading.Event()

    def broken(event: DomainEvent) -> None:
        raise RuntimeError("boom")

    bus.subscribe("x", broken, durable=f"b{uuid.uuid4().hex[:8]}")
    bus.subscribe("x", lambda e: got.set(), durable=f"g{uuid.uuid4().hex[:8]}")
    bus.publish([DomainEvent("x", {})])
    assert got.wait(10)


def test_event_roundtrip_json() -> None:
    event = DomainEvent("proposal_changed", {"id": "p1", "status": "sent"})
    assert DomainEvent.from_json(event.to_json()) == event


def test_a_pattern_subscribes_to_a_family_of_events(bus: EventBus) -> None:
    received: list[str] = []
    done = threading.Event()

    def handler(event: DomainEvent) -> None:
        received.append(event.name)
        if len(received) == 2:
            done.set()

    bus.subscribe("proposal.*", handler, durable=f"p{uuid.uuid4().hex[:8]}")
    bus.publish(
        [
            DomainEvent("proposal.created", {}),
            DomainEvent("flow.updated", {}),
            DomainEvent("proposal.status_changed", {}),
        ]
    )
    assert done.wait(10)
    assert sorted(received) == ["proposal.created", "proposal.status_changed"]
