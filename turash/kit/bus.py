"""Domain event bus: in-process (embedded default, tests) or NATS JetStream (production).

Events are published after the unit of work commits. On NATS, each event goes to the subject
`turash.events.<name>` of a durable JetStream stream, with the event id as `Nats-Msg-Id` so that a retried publish
is de-duplicated by the server; consumers are durable and acknowledge after handling (at-least-once), so handlers
must be idempotent (they receive the event id to check).
"""

from __future__ import annotations

import asyncio
import fnmatch
import json
import threading
import uuid
from collections import defaultdict
from collections.abc import Callable, Coroutine
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class DomainEvent:
    name: str
    payload: dict[str, Any]
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), default=str).encode()

    @classmethod
    def from_json(cls, data: bytes) -> DomainEvent:
        raw = json.loads(data)
        return cls(name=raw["name"], payload=raw["payload"], id=raw["id"], occurred_at=raw["occurred_at"])


Handler = Callable[[DomainEvent], None]


class EventBus(Protocol):
    def publish(self, events: list[DomainEvent]) -> None: ...
    def subscribe(
        self, name: str, handler: Handler, *, durable: str | None = None, ack_wait: float | None = None
    ) -> None: ...
    def ping(self) -> bool: ...
    def close(self) -> None: ...


class InProcessBus:
    """Calls handlers synchronously in the publishing thread; a failing handler is logged and does not stop others.
    A subscription names an event, a pattern (`proposal.*`) or `*`."""

    def __init__(self) -> None:
        self._handlers: dict[str, list[Handler]] = defaultdict(list)

    def publish(self, events: list[DomainEvent]) -> None:
        for event in events:
            handlers = [
                h
                for pattern, hs in list(self._handlers.items())
                if pattern == "*" or pattern == event.name or fnmatch.fnmatchcase(event.name, pattern)
                for h in hs
            ]
            for handler in handlers:
                try:
                    handler(event)
                except Exception:
                    log.exception("event_handler_failed", event_name=event.name, event_id=event.id)

    def subscribe(
        self, name: str, handler: Handler, *, durable: str | None = None, ack_wait: float | None = None
    ) -> None:
        self._handlers[name].append(handler)

    def ping(self) -> bool:
        return True

    def close(self) -> None:
        self._handlers.clear()


class _LoopThread:
    """An asyncio loop on a daemon thread, so synchronous code can drive the async NATS client."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="turash-nats", daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 10.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=5)


class NatsBus:
    def __init__(self, url: str, stream: str = "TURASH", subject_prefix: str = "turash.events") -> None:
        import nats  # imported here: only production needs it loaded

        self._prefix = subject_prefix
        self._stream = stream
        self._loop = _LoopThread()
        self._subs: list[Any] = []

        async def connect() -> tuple[Any, Any]:
            nc = await nats.connect(url, connect_timeout=5, max_reconnect_attempts=-1, reconnect_time_wait=1)
            js = nc.jetstream()
            try:
                await js.stream_info(stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(name=stream, subjects=[f"{subject_prefix}.>"], duplicate_window=120.0)
            return nc, js

        self._nc, self._js = self._loop.run(connect())

    def publish(self, events: list[DomainEvent]) -> None:
        async def send() -> None:
            for event in events:
                await self._js.publish(
                    f"{self._prefix}.{event.name}", event.to_json(), headers={"Nats-Msg-Id": event.id}
                )

        self._loop.run(send())

    def subscribe(
        self, name: str, handler: Handler, *, durable: str | None = None, ack_wait: float | None = None
    ) -> None:
        """`name` is an event, a pattern (`proposal.*`: NATS `proposal.>`) or `*`. A durable consumer resumes where
        it stopped; an event not acknowledged within `ack_wait` seconds (default 30) is delivered again."""
        pattern = ">" if name == "*" else (name[:-2] + ".>" if name.endswith(".*") else name)
        subject = f"{self._prefix}.{pattern}"

        async def on_message(msg: Any) -> None:
            event = DomainEvent.from_json(msg.data)
            try:
                await asyncio.get_running_loop().run_in_executor(None, handler, event)
            except Exception:
                log.exception("event_handler_failed", event_name=event.name, event_id=event.id)
                await msg.nak(delay=5)
                return
            await msg.ack()

        async def sub() -> Any:
            from nats.js.api import ConsumerConfig

            config = ConsumerConfig(ack_wait=ack_wait) if ack_wait else None
            return await self._js.subscribe(subject, durable=durable, cb=on_message, manual_ack=True, config=config)

        self._subs.append(self._loop.run(sub()))

    def ping(self) -> bool:
        return bool(self._nc.is_connected)

    def close(self, *, drain: bool = True) -> None:
        """Drain (finish the messages received, then disconnect) or, with `drain=False`, drop the connection at
        once as a crashing process would: its unacknowledged messages are delivered again after `ack_wait`."""

        async def stop() -> None:
            await (self._nc.drain() if drain else self._nc.close())

        try:
            self._loop.run(stop())
        finally:
            self._loop.stop()


def make_bus(nats_url: str | None, stream: str = "TURASH") -> EventBus:
    return NatsBus(nats_url, stream=stream) if nats_url else InProcessBus()


__all__ = ["DomainEvent", "EventBus", "InProcessBus", "NatsBus", "make_bus"]
