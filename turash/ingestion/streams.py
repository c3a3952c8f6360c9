"""Streamed meter readings: MQTT (Mosquitto) and NATS JetStream consumers that lose nothing across restarts.

Message format
--------------
- MQTT topic ``<prefix>/<organization_id>/meters/<meter name>`` (prefix ``turash`` by default; the meter name is
  everything after ``meters/``, so it may contain ``/``).
- NATS subject ``turash.readings.<organization_id>.<meter name>`` (the meter name is every token after the
  organisation, joined by ``.``).
- Payload: UTF-8 JSON, one object ``{"ts": "2024-05-01T12:00:00Z", "value": 12.3, "unit": "m3/h"}`` or a list of
  them. ``ts`` (ISO-8601; without an offset it is UTC) and ``value`` (a JSON number) are required; ``unit`` is
  optional and defaults to the meter's configured unit. `store_readings` converts to SI.

Nothing is dropped: a payload that is not JSON, an item without ``ts``/``value`` or with a value of the wrong
type, and a topic that names no organisation/meter are written to `QuarantinedRow` (kind ``readings``,
file_name ``mqtt readings`` / ``nats readings``) with the reason and the raw payload, in the same transaction as
the good readings of the batch; the consumer carries on.

Delivery guarantee (at-least-once end to end, exactly-once in the table)
------------------------------------------------------------------------
Both consumers acknowledge a message only after the transaction holding its readings has committed. A reading
received but not committed (the process crashed, the database was down, the broker went away) is therefore
delivered again, and the key (meter, ts) of `meter_readings` makes the second delivery a counted duplicate.

- MQTT: MQTT v5, fixed client id, ``clean_start=False`` and a Session Expiry Interval, QoS 1 subscription and
  paho's ``manual_ack``. The broker keeps the session (subscription + queued and unacknowledged messages) while
  the consumer is away and resends unacknowledged messages when it reconnects. The consumer never unsubscribes:
  that would end the session and lose what is published meanwhile. Broker settings that matter: ``persistence
  true`` (queued messages survive a broker restart; Mosquitto writes them on a clean shutdown and every
  ``autosave_interval``), and ``max_queued_messages`` (default 1000 per client!) large enough for the longest
  consumer outage times the message rate, or 0 for no limit; beyond it Mosquitto discards QoS 1 messages.
- NATS: a file-storage JetStream stream over ``turash.readings.>`` and a durable pull consumer with explicit acks;
  a message not acknowledged within ``ack_wait`` is delivered again. The client reconnects forever.

An acknowledgement is sent only on the connection that received the message (MQTT packet ids are per session,
and after a reconnect the broker resends under the same ids, so a late ack could confirm another message).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import ssl
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import structlog
from sqlalchemy import Engine

from turash.ingestion.meters import take_readings
from turash.ingestion.readings import Reading, ReadingBatchResult
from turash.kit.bus import _LoopThread
from turash.kit.db import UnitOfWork, unit_of_work
from turash.kit.runtime import Runtime
from turash.models import Organization, QuarantinedRow

log = structlog.get_logger(__name__)
REFRESH_INTERVAL_S = 60.0

DEFAULT_MQTT_PREFIX = "turash"
DEFAULT_NATS_PREFIX = "turash.readings"
RAW_PAYLOAD_LIMIT = 4000  # characters of a bad payload kept in quarantine: enough to see what went wrong
GIVE_UP_AFTER = 5  # failed attempts on a batch before its messages are tried one by one (a poison message)
OnCommit = Callable[[str, Sequence[Reading], ReadingBatchResult], None]


# --------------------------------------------------------------------------------------------------- payloads


@dataclass
class StreamCounters:
    """What a consumer has done since it started. Readings, not messages, except where it says messages."""

    messages: int = 0  # messages received (a redelivery counts again)
    received: int = 0  # readings decoded from them
    stored: int = 0  # readings newly written
    duplicates: int = 0  # readings already stored (redelivery, replay)
    quarantined: int = 0  # readings or payloads written to quarantine
    acked: int = 0  # messages acknowledged after their commit
    batches: int = 0  # transactions committed
    failures: int = 0  # transactions that failed (retried)
    reconnects: int = 0  # connections lost

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class _Problem:
    column: str
    reason: str
    index: int | None = None  # the item of a list payload


@dataclass
class _Envelope:
    """One broker message on its way to the database; `token` is what acknowledges it."""

    seq: int
    address: str  # topic or subject
    organization_id: str | None
    meter: str | None
    payload: bytes
    token: Any
    arrived: float  # time.monotonic() on receipt
    readings: list[Reading] = field(default_factory=list)
    problems: list[_Problem] = field(default_factory=list)


def reading_payload(readings: Reading | Sequence[Reading]) -> bytes:
    """The wire form of one reading (an object) or several (a list); the meter is in the topic, not here."""

    def one(r: Reading) -> dict[str, Any]:
        item: dict[str, Any] = {"ts": r.ts.isoformat(), "value": r.value}
        if r.unit is not None:
            item["unit"] = r.unit
        return item

    if isinstance(readings, Reading):
        return json.dumps(one(readings)).encode()
    return json.dumps([one(r) for r in readings]).encode()


def parse_mqtt_topic(topic: str, prefix: str = DEFAULT_MQTT_PREFIX) -> tuple[str, str] | None:
    """(organization_id, meter) from ``<prefix>/<org>/meters/<meter...>``, or None."""
    head = prefix.strip("/") + "/"
    if not topic.startswith(head):
        return None
    parts = topic[len(head) :].split("/", 2)
    if len(parts) != 3 or parts[1] != "meters" or not parts[0] or not parts[2]:
        return None
    return parts[0], parts[2]


def parse_nats_subject(subject: str, prefix: str = DEFAULT_NATS_PREFIX) -> tuple[str, str] | None:
    """(organization_id, meter) from ``<prefix>.<org>.<meter...>``, or None."""
    head = prefix.strip(".") + "."
    if not subject.startswith(head):
        return None
    parts = subject[len(head) :].split(".", 1)
    if len(parts) != 2 or not parts[0] or not parts[1]:
        return None
    return parts[0], parts[1]


def decode_payload(meter: str, payload: bytes) -> tuple[list[Reading], list[_Problem]]:
    """Readings from a JSON payload, and a problem for every part that is not a reading (never raises)."""
    try:
        document = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return [], [_Problem("payload", f"payload is not valid JSON: {exc}")]
    single = isinstance(document, dict)
    items = [document] if single else document
    if not isinstance(items, list):
        return [], [_Problem("payload", f"payload is a JSON {type(document).__name__}, not an object or a list")]
    readings: list[Reading] = []
    problems: list[_Problem] = []
    for index, item in enumerate(items):
        where = None if single else index
        if not isinstance(item, dict):
            problems.append(_Problem("payload", f"item is a JSON {type(item).__name__}, not an object", where))
            continue
        missing = [name for name in ("ts", "value") if item.get(name) is None]
        if missing:
            problems.append(_Problem(missing[0], f"missing field(s): {', '.join(missing)}", where))
            continue
        ts_text, value, unit = item["ts"], item["value"], item.get("unit")
        try:
            ts = datetime.fromisoformat(ts_text) if isinstance(ts_text, str) else None
        except ValueError:
            ts = None
        if ts is None:
            problems.append(_Problem("ts", f"ts {ts_text!r} is not an ISO-8601 time", where))
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(_Problem("value", f"value {value!r} is not a number", where))
            continue
        try:
            number = float(value)  # a JSON integer beyond float range would break the arithmetic downstream
        except OverflowError:
            problems.append(_Problem("value", f"value {value} is out of range", where))
            continue
        if unit is not None and not isinstance(unit, str):
            problems.append(_Problem("unit", f"unit {unit!r} is not a string", where))
            continue
        readings.append(Reading(meter=meter, ts=ts, value=number, unit=unit or None))
    return readings, problems


# --------------------------------------------------------------------------------------------------- storage


class _ReadingWriter:
    """Stores envelopes: one transaction per organisation, quarantine rows in the same transaction."""

    def __init__(
        self,
        target: Runtime | Engine,
        source: str,
        counters: StreamCounters,
        lock: threading.Lock,
        on_commit: OnCommit | None,
    ) -> None:
        self._target = target
        self.source = source
        self._counters = counters
        self._lock = lock
        self._on_commit = on_commit

    def _uow(self) -> AbstractContextManager[UnitOfWork]:
        if isinstance(self._target, Engine):
            return unit_of_work(self._target)
        return self._target.uow()

    def _quarantine(self, envelope: _Envelope, problem: _Problem) -> QuarantinedRow:
        text = envelope.payload.decode("utf-8", errors="replace")
        raw: dict[str, Any] = {
            "organization_id": envelope.organization_id,
            "meter": envelope.meter,
            "address": envelope.address,
            "payload": text[:RAW_PAYLOAD_LIMIT],
        }
        if len(text) > RAW_PAYLOAD_LIMIT:
            raw["payload_truncated"] = len(text)
        if problem.index is not None:
            raw["index"] = problem.index
        return QuarantinedRow(
            kind="readings",
            file_name=f"{self.source} readings",
            row_number=None if problem.index is None else problem.index + 1,
            column=problem.column,
            reason=problem.reason,
            errors=[{"column": problem.column, "reason": problem.reason}],
            raw=raw,
        )

    def write(self, envelopes: Sequence[_Envelope]) -> tuple[list[_Envelope], list[_Envelope]]:
        """(committed, failed). A failed group's transaction rolled back; its messages must not be acked."""
        groups: dict[str | None, list[_Envelope]] = {}
        for envelope in envelopes:
            groups.setdefault(envelope.organization_id, []).append(envelope)
        committed: list[_Envelope] = []
        failed: list[_Envelope] = []
        for organization_id, group in groups.items():
            readings = [r for e in group for r in e.readings]
            bad = [self._quarantine(e, p) for e in group for p in e.problems]
            try:
                with self._uow() as uow:
                    if bad:
                        # the organisation's members see its quarantine; a topic naming no organisation stays
                        # with the operators (the id is kept in `raw`)
                        known = organization_id is not None and (
                            uow.session.get(Organization, organization_id) is not None
                        )
                        for row in bad:
                            row.organization_id = organization_id if known else None
                        uow.session.add_all(bad)
                    result = ReadingBatchResult()
                    if organization_id is not None and readings:
                        # flows measured by these meters are refreshed at most once a minute (readings come by
                        # the second); a flow that moved far is announced for re-matching
                        result = take_readings(
                            uow.session,
                            organization_id,
                            readings,
                            source=self.source,
                            collect=uow.collect,
                            refresh_interval_s=REFRESH_INTERVAL_S,
                        ).batch
                    uow.commit()
            except Exception:
                log.exception(
                    "stream_readings_store_failed",
                    source=self.source,
                    organization_id=organization_id,
                    messages=len(group),
                    readings=len(readings),
                )
                with self._lock:
                    self._counters.failures += 1
                failed.extend(group)
                continue
            with self._lock:
                self._counters.batches += 1
                self._counters.stored += result.stored
                self._counters.duplicates += result.duplicates
                self._counters.quarantined += result.quarantined + len(bad)
            committed.extend(group)
            if self._on_commit is not None and organization_id is not None and readings:
                try:
                    self._on_commit(organization_id, readings, result)
                except Exception:
                    log.exception("stream_on_commit_failed", source=self.source)
        return committed, failed

    def write_or_quarantine(self, envelope: _Envelope, error: str) -> bool:
        """Last resort for a message that keeps failing: store it alone, else quarantine it whole. False only when
        even the quarantine row cannot be written (the database is down): then it stays unacknowledged."""
        committed, _ = self.write([envelope])
        if committed:
            return True
        envelope.readings, envelope.problems = [], [_Problem("payload", f"could not be stored: {error}")]
        committed, _ = self.write([envelope])
        return bool(committed)


def _backoff(attempt: int, cap: float = 30.0) -> float:
    return float(min(cap, 0.5 * 2 ** min(attempt, 10)))


# --------------------------------------------------------------------------------------------------- MQTT


@dataclass(frozen=True)
class _Broker:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None


def _mqtt_broker(url: str) -> _Broker:
    parts = urlsplit(url if "://" in url else f"mqtt://{url}")
    tls = parts.scheme in ("mqtts", "ssl", "tls")
    if parts.scheme not in ("mqtt", "tcp", "mqtts", "ssl", "tls"):
        raise ValueError(f"not an MQTT URL: {url!r} (use mqtt://host:1883 or mqtts://host:8883)")
    return _Broker(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def _mqtt_client(broker: _Broker, client_id: str, *, manual_ack: bool) -> Any:
    import paho.mqtt.client as mqtt  # imported here: only the stream roles need paho loaded
    from paho.mqtt.enums import CallbackAPIVersion

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
        manual_ack=manual_ack,
        reconnect_on_failure=True,
    )
    if broker.username:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set(cert_reqs=ssl.CERT_REQUIRED)
    return client


class MqttReadingConsumer:
    """Subscribes to ``<prefix>/+/meters/#`` with QoS 1 in a persistent session and stores readings in batches.

    Messages are buffered by the paho network thread and written by a worker thread, a batch being at most
    `batch_size` messages or what arrived within `flush_interval_s` of the first one. The broker sends at most
    `receive_maximum` unacknowledged messages (the MQTT v5 flow control), which bounds the buffer: a slow database
    makes the broker queue, not this process.
    """

    source = "mqtt"

    def __init__(
        self,
        url: str,
        runtime_or_engine: Runtime | Engine,
        topic_prefix: str = DEFAULT_MQTT_PREFIX,
        client_id: str = "turash-ingest",
        batch_size: int = 500,
        flush_interval_s: float = 0.5,
        *,
        session_expiry_s: int = 7 * 24 * 3600,
        receive_maximum: int | None = None,
        reconnect_max_s: int = 30,
        on_commit: OnCommit | None = None,
    ) -> None:
        self.url = url
        self.topic_prefix = topic_prefix.strip("/")
        self.topic = f"{self.topic_prefix}/+/meters/#"
        self.client_id = client_id
        self.batch_size = max(1, batch_size)
        self.flush_interval_s = flush_interval_s
        self.session_expiry_s = session_expiry_s
        # Two batches in flight keep the broker sending while one is being written.
        self.receive_maximum = min(65535, receive_maximum or max(100, 2 * self.batch_size))
        self.reconnect_max_s = reconnect_max_s
        self.counters = StreamCounters()
        self._lock = threading.Lock()  # counters
        self._writer = _ReadingWriter(runtime_or_engine, self.source, self.counters, self._lock, on_commit)
        self._broker = _mqtt_broker(url)
        self._client: Any = None
        self._buffer: deque[_Envelope] = deque()
        self._cond = threading.Condition()
        self._ack_lock = threading.Lock()  # an ack and a connection change never interleave
        self._generation = 0  # bumped when the connection drops: acks of older messages are not sent
        self._seq = 0
        self._stopping = False
        self._abandon = False
        self._subscribed = threading.Event()
        self._worker: threading.Thread | None = None

    # -- lifecycle

    def start(self, timeout: float = 10.0) -> bool:
        """Connect (in the background, retrying) and start storing. True once subscribed within `timeout`;
        False means the broker is not there yet: the consumer keeps trying."""
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        client = _mqtt_client(self._broker, self.client_id, manual_ack=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=self.reconnect_max_s)
        properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        properties.SessionExpiryInterval = self.session_expiry_s
        properties.ReceiveMaximum = self.receive_maximum
        client.connect_async(
            self._broker.host, self._broker.port, keepalive=30, clean_start=False, properties=properties
        )
        self._client = client
        self._worker = threading.Thread(target=self._work, name=f"turash-mqtt-{self.client_id}", daemon=True)
        self._worker.start()
        client.loop_start()
        ready = self._subscribed.wait(timeout)
        if not ready:
            log.warning("mqtt_consumer_not_connected_yet", url=self.url, waited_s=timeout)
        return ready

    def stop(self, *, flush: bool = True, timeout: float = 30.0) -> None:
        """Stop. `flush=True` stores and acknowledges what is buffered first; `flush=False` drops it unstored and
        unacknowledged, as a crash would (the broker delivers it again to the next consumer with this client id).
        Never unsubscribes: the session and its subscription stay with the broker."""
        with self._cond:
            self._stopping = True
            self._abandon = not flush
            self._cond.notify_all()
        if self._worker is not None:
            self._worker.join(timeout)
        if self._client is not None:
            self._client.disconnect()
            self._client.loop_stop()
        log.info("mqtt_consumer_stopped", client_id=self.client_id, flushed=flush, **self.counters.as_dict())

    def __enter__(self) -> MqttReadingConsumer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def backlog(self) -> int:
        """Messages received and not yet committed."""
        with self._cond:
            return len(self._buffer)

    @property
    def connected(self) -> bool:
        return bool(self._client is not None and self._client.is_connected())

    # -- paho callbacks (network thread)

    def _on_connect(self, client: Any, _userdata: Any, flags: Any, reason_code: Any, _properties: Any) -> None:
        if reason_code.is_failure:
            log.warning("mqtt_connect_refused", url=self.url, reason=str(reason_code))
            return
        log.info("mqtt_connected", url=self.url, client_id=self.client_id, session_present=flags.session_present)
        # Subscribing again in a resumed session is harmless and repairs a session the broker lost.
        client.subscribe(self.topic, qos=1)

    def _on_subscribe(self, _client: Any, _userdata: Any, _mid: int, reason_codes: Any, _properties: Any) -> None:
        if any(code.is_failure for code in reason_codes):
            log.error("mqtt_subscribe_refused", topic=self.topic, reasons=[str(c) for c in reason_codes])
            return
        self._subscribed.set()

    def _on_disconnect(self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        with self._ack_lock:
            self._generation += 1
        with self._lock:
            self.counters.reconnects += 1
        if not self._stopping:
            log.warning("mqtt_disconnected", url=self.url, reason=str(reason_code))

    def _on_message(self, _client: Any, _userdata: Any, message: Any) -> None:
        topic = message.topic
        address = parse_mqtt_topic(topic, self.topic_prefix)
        with self._cond:
            self._seq += 1
            self._buffer.append(
                _Envelope(
                    seq=self._seq,
                    address=topic,
                    organization_id=address[0] if address else None,
                    meter=address[1] if address else None,
                    payload=bytes(message.payload),
                    token=(self._generation, message.mid, message.qos),
                    arrived=time.monotonic(),
                )
            )
            if len(self._buffer) >= self.batch_size:
                self._cond.notify_all()
            elif len(self._buffer) == 1:
                self._cond.notify_all()  # starts the flush clock

    # -- worker thread

    def _take(self) -> list[_Envelope]:
        """Wait for a batch: `batch_size` messages, or `flush_interval_s` after the oldest arrived, or stop."""
        with self._cond:
            while not self._buffer and not self._stopping:
                self._cond.wait(1.0)
            if self._abandon:
                return []
            while self._buffer and len(self._buffer) < self.batch_size and not self._stopping:
                remaining = self._buffer[0].arrived + self.flush_interval_s - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            if self._abandon:
                return []
            count = min(self.batch_size, len(self._buffer))
            return [self._buffer.popleft() for _ in range(count)]

    def _work(self) -> None:
        while True:
            batch = self._take()
            if not batch:
                if self._stopping:
                    return
                continue
            for envelope in batch:
                _decode(envelope)
            with self._lock:
                self.counters.messages += len(batch)
                self.counters.received += sum(len(e.readings) for e in batch)
            self._store(batch)

    def _store(self, batch: list[_Envelope]) -> None:
        pending, attempt = batch, 0
        while pending and not self._abandon:
            committed, pending = self._writer.write(pending)
            self._ack(committed)
            if not pending:
                return
            attempt += 1
            if attempt >= GIVE_UP_AFTER:
                done = [e for e in pending if self._writer.write_or_quarantine(e, "repeated store failures")]
                self._ack(done)
                pending = [e for e in pending if e not in done]
            if pending:
                self._sleep(_backoff(attempt))

    def _sleep(self, seconds: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self._abandon, seconds)

    def _ack(self, envelopes: list[_Envelope]) -> None:
        """Acknowledge committed messages, in the order they arrived, unless their connection is gone (then the
        broker resends them and they are counted as duplicates) or the consumer is playing dead."""
        if not envelopes:
            return
        acked = 0
        with self._ack_lock:
            if self._abandon:
                return
            for envelope in sorted(envelopes, key=lambda e: e.seq):
                generation, mid, qos = envelope.token
                if qos > 0 and generation == self._generation:
                    self._client.ack(mid, qos)
                    acked += 1
        with self._lock:
            self.counters.acked += acked


def _decode(envelope: _Envelope) -> None:
    if envelope.organization_id is None or envelope.meter is None:
        envelope.problems = [_Problem("topic", f"{envelope.address!r} names no organisation and meter")]
        return
    envelope.readings, envelope.problems = decode_payload(envelope.meter, envelope.payload)


class MqttReadingPublisher:
    """A QoS 1 publisher that loses nothing across a broker restart.

    paho keeps every QoS 1 message until the broker's PUBACK and sends it again after reconnecting (marked
    duplicate); `wait()` returns once the broker has acknowledged everything published. A reading acknowledged by
    the broker is the broker's to keep (in the consumer's persistent session).
    """

    def __init__(
        self,
        url: str,
        topic_prefix: str = DEFAULT_MQTT_PREFIX,
        client_id: str | None = None,
        *,
        max_inflight: int = 20,  # Mosquitto's default Receive Maximum for publishers
        max_pending: int = 10_000,
    ) -> None:
        self.topic_prefix = topic_prefix.strip("/")
        self._broker = _mqtt_broker(url)
        self._client = _mqtt_client(self._broker, client_id or f"turash-pub-{uuid.uuid4().hex[:12]}", manual_ack=False)
        self._client.max_inflight_messages_set(max_inflight)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.on_publish = self._on_publish
        self._client.on_connect = self._on_connect
        self._cond = threading.Condition()
        self._connected = threading.Event()
        # Messages not yet acknowledged before `publish` blocks: the backpressure that keeps paho's queue (and
        # its 16-bit packet ids: 65,535 outstanding at most) bounded when the broker is slower or away.
        self.max_pending = max_pending
        self.sent = 0
        self.acked = 0
        self.refused = 0  # PUBACK with a failure reason (not authorised, quota exceeded...): not stored by the broker

    def start(self, timeout: float = 10.0) -> bool:
        self._client.connect_async(self._broker.host, self._broker.port, keepalive=30)
        self._client.loop_start()
        return self._connected.wait(timeout)

    def _on_connect(self, _client: Any, _userdata: Any, _flags: Any, reason_code: Any, _properties: Any) -> None:
        if not reason_code.is_failure:
            self._connected.set()

    def _on_publish(self, _client: Any, _userdata: Any, mid: int, reason_code: Any, _properties: Any) -> None:
        # Runs under paho's message lock: touch only this object's own state here.
        with self._cond:
            self.acked += 1
            if reason_code.is_failure:
                self.refused += 1
                log.warning("mqtt_publish_refused", mid=mid, reason=str(reason_code))
            self._cond.notify_all()

    def topic_for(self, organization_id: str, meter: str) -> str:
        return f"{self.topic_prefix}/{organization_id}/meters/{meter}"

    def publish(self, organization_id: str, meter: str, payload: Reading | Sequence[Reading] | bytes) -> None:
        """Queue one message (one reading, a list, or raw bytes). Queued even while disconnected; blocks while
        `max_pending` messages await the broker's acknowledgement."""
        import paho.mqtt.client as mqtt

        with self._cond:
            self._cond.wait_for(lambda: self.sent - self.acked < self.max_pending)

        data = payload if isinstance(payload, bytes) else reading_payload(payload)
        info = self._client.publish(self.topic_for(organization_id, meter), data, qos=1)
        # NO_CONN means "queued, sent after reconnecting"; only a full queue loses the message.
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise RuntimeError("MQTT publish queue is full")
        with self._cond:
            self.sent += 1

    def wait(self, timeout: float = 30.0) -> bool:
        """True when every message published so far is acknowledged by the broker."""
        deadline = time.monotonic() + timeout
        with self._cond:
            return self._cond.wait_for(lambda: self.acked >= self.sent, max(0.0, deadline - time.monotonic()))

    @property
    def pending(self) -> int:
        with self._cond:
            return self.sent - self.acked

    def close(self, timeout: float = 30.0) -> bool:
        """Wait for the broker's acknowledgements (up to `timeout`), then disconnect. True when none is missing."""
        done = self.wait(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        return done


def publish_mqtt(
    url: str,
    organization_id: str,
    meter: str,
    readings: Reading | Sequence[Reading] | bytes,
    *,
    topic_prefix: str = DEFAULT_MQTT_PREFIX,
    timeout: float = 30.0,
) -> None:
    """Publish one message with QoS 1 and return once the broker has acknowledged it (raises TimeoutError)."""
    publisher = MqttReadingPublisher(url, topic_prefix)
    if not publisher.start(timeout):
        publisher.close(0)
        raise TimeoutError(f"MQTT broker {url} not reachable")
    publisher.publish(organization_id, meter, readings)
    if not publisher.close(timeout):
        raise TimeoutError(f"MQTT broker {url} did not acknowledge within {timeout} s")


# --------------------------------------------------------------------------------------------------- NATS


async def ensure_stream(
    js: Any, stream: str, subject_prefix: str = DEFAULT_NATS_PREFIX, max_age_s: float | None = None
) -> None:
    """Create the readings stream if missing: file storage (survives a server restart), 2-minute de-duplication
    window for publishers' retries (`Nats-Msg-Id`)."""
    import nats.js.errors
    from nats.js.api import StorageType, StreamConfig

    try:
        await js.stream_info(stream)
    except nats.js.errors.NotFoundError:
        config = StreamConfig(
            name=stream,
            subjects=[f"{subject_prefix}.>"],
            storage=StorageType.FILE,
            duplicate_window=120.0,
            max_age=max_age_s,
        )
        await js.add_stream(config)
        log.info("nats_stream_created", stream=stream, subjects=config.subjects)


class NatsReadingConsumer:
    """Pulls batches from a durable JetStream consumer, stores them, and acks each message after the commit.

    A message not acked within `ack_wait_s` (the process died, the database failed) is delivered again. The NATS
    client reconnects forever; while the server is away, fetches fail and are retried.
    """

    source = "nats"

    def __init__(
        self,
        url: str,
        runtime_or_engine: Runtime | Engine,
        stream: str = "TURASH_READINGS",
        durable: str = "turash-ingest",
        batch_size: int = 500,
        *,
        subject_prefix: str = DEFAULT_NATS_PREFIX,
        ack_wait_s: float = 30.0,
        fetch_timeout_s: float = 1.0,
        reconnect_wait_s: float = 0.5,
        max_age_s: float | None = 7 * 24 * 3600,
        on_commit: OnCommit | None = None,
    ) -> None:
        self.url = url
        self.stream = stream
        self.durable = durable
        self.batch_size = max(1, batch_size)
        self.subject_prefix = subject_prefix.strip(".")
        self.ack_wait_s = ack_wait_s
        self.fetch_timeout_s = fetch_timeout_s
        self.reconnect_wait_s = reconnect_wait_s
        self.max_age_s = max_age_s
        self.counters = StreamCounters()
        self._lock = threading.Lock()
        self._writer = _ReadingWriter(runtime_or_engine, self.source, self.counters, self._lock, on_commit)
        self._loop: _LoopThread | None = None
        self._executor = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="turash-nats-store")
        self._task: concurrent.futures.Future[None] | None = None
        self._nc: Any = None
        self._ready = threading.Event()
        self._stopping = False
        self._abandon = False
        self._seq = 0
        self._in_hand = 0

    def start(self, timeout: float = 10.0) -> bool:
        """Connect (retrying in the background) and start fetching. True once the consumer is bound."""
        self._loop = _LoopThread()
        self._task = asyncio.run_coroutine_threadsafe(self._run(), self._loop.loop)
        ready = self._ready.wait(timeout)
        if not ready:
            log.warning("nats_consumer_not_connected_yet", url=self.url, waited_s=timeout)
        return ready

    def stop(self, *, flush: bool = True, timeout: float = 30.0) -> None:
        """Stop. `flush=True` finishes the batch in hand (store, ack) and closes; `flush=False` drops the
        connection at once, as a crash would: unacked messages come again after `ack_wait_s`."""
        self._stopping = True
        self._abandon = not flush
        if self._task is not None:
            if not flush:
                self._task.cancel()
            with contextlib.suppress(concurrent.futures.CancelledError, concurrent.futures.TimeoutError):
                self._task.result(timeout)
        if self._loop is not None:
            if self._nc is not None:
                # Not drain(): it waits for the pull subscription's pending fetch; the acks are flushed already.
                with contextlib.suppress(Exception):
                    self._loop.run(self._nc.close(), timeout=10)
            self._loop.stop()
        self._executor.shutdown(wait=flush)
        log.info("nats_consumer_stopped", durable=self.durable, flushed=flush, **self.counters.as_dict())

    def __enter__(self) -> NatsReadingConsumer:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def backlog(self) -> int:
        """Messages fetched and not yet committed."""
        return self._in_hand

    @property
    def connected(self) -> bool:
        return bool(self._nc is not None and self._nc.is_connected)

    async def _connect(self) -> Any:
        import nats
        from nats.js.api import AckPolicy, ConsumerConfig

        async def disconnected() -> None:
            with self._lock:
                self.counters.reconnects += 1
            if not self._stopping:
                log.warning("nats_disconnected", url=self.url)

        async def reconnected() -> None:
            log.info("nats_reconnected", url=self.url)

        async def error(exc: Exception) -> None:
            if not self._stopping:
                log.warning("nats_error", url=self.url, error=str(exc))

        self._nc = await nats.connect(
            self.url,
            connect_timeout=2,
            max_reconnect_attempts=-1,
            reconnect_time_wait=self.reconnect_wait_s,
            disconnected_cb=disconnected,
            reconnected_cb=reconnected,
            error_cb=error,
        )
        js = self._nc.jetstream()
        await ensure_stream(js, self.stream, self.subject_prefix, self.max_age_s)
        config = ConsumerConfig(
            durable_name=self.durable,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self.ack_wait_s,
            max_ack_pending=max(1000, 4 * self.batch_size),
        )
        subscription = await js.pull_subscribe(
            f"{self.subject_prefix}.>", durable=self.durable, stream=self.stream, config=config
        )
        log.info("nats_consumer_bound", url=self.url, stream=self.stream, durable=self.durable)
        return subscription

    async def _run(self) -> None:
        subscription: Any = None
        attempt = 0
        loop = asyncio.get_running_loop()
        while not self._stopping:
            try:
                if subscription is None:
                    subscription = await self._connect()
                    self._ready.set()
                messages = await subscription.fetch(self.batch_size, timeout=self.fetch_timeout_s)
                attempt = 0
            except TimeoutError:  # nothing to fetch (or the server is away and the client reconnecting)
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                attempt += 1
                log.warning("nats_fetch_failed", url=self.url, error=repr(exc), attempt=attempt)
                if subscription is None and self._nc is not None:  # the first connect half-succeeded: start over
                    with contextlib.suppress(Exception):
                        await self._nc.close()
                    self._nc = None
                await asyncio.sleep(_backoff(attempt, cap=5.0))
                continue
            envelopes = [self._envelope(m) for m in messages]
            self._in_hand = len(envelopes)
            with self._lock:
                self.counters.messages += len(envelopes)
                self.counters.received += sum(len(e.readings) for e in envelopes)
            await self._store(loop, envelopes)
            self._in_hand = 0

    def _envelope(self, message: Any) -> _Envelope:
        address = parse_nats_subject(message.subject, self.subject_prefix)
        self._seq += 1
        envelope = _Envelope(
            seq=self._seq,
            address=message.subject,
            organization_id=address[0] if address else None,
            meter=address[1] if address else None,
            payload=bytes(message.data),
            token=message,
            arrived=time.monotonic(),
        )
        _decode(envelope)
        return envelope

    async def _store(self, loop: asyncio.AbstractEventLoop, envelopes: list[_Envelope]) -> None:
        pending, attempt = envelopes, 0
        while pending:
            committed, pending = await loop.run_in_executor(self._executor, self._writer.write, pending)
            await self._ack(committed)
            if not pending:
                return
            attempt += 1
            if attempt >= GIVE_UP_AFTER:
                outcome = [
                    await loop.run_in_executor(
                        self._executor, self._writer.write_or_quarantine, e, "repeated store failures"
                    )
                    for e in pending
                ]
                await self._ack([e for e, ok in zip(pending, outcome, strict=True) if ok])
                pending = [e for e, ok in zip(pending, outcome, strict=True) if not ok]
            if pending:
                # Keep the messages (they would come back anyway): tell the server we are still on them.
                for envelope in pending:
                    with contextlib.suppress(Exception):
                        await envelope.token.in_progress()
                await asyncio.sleep(_backoff(attempt, cap=min(10.0, self.ack_wait_s / 2)))

    async def _ack(self, envelopes: list[_Envelope]) -> None:
        if self._abandon or not envelopes:
            return
        acked = 0
        for envelope in envelopes:
            try:
                await envelope.token.ack()
                acked += 1
            except Exception as exc:  # connection gone: the message comes again and is counted as a duplicate
                log.warning("nats_ack_failed", subject=envelope.address, error=repr(exc))
        with contextlib.suppress(Exception):
            await self._nc.flush(timeout=5)
        with self._lock:
            self.counters.acked += acked


class NatsReadingPublisher:
    """JetStream publisher that retries until the server acknowledges, across server restarts.

    Each message carries a `Nats-Msg-Id` kept across its retries, so a retry of a publish whose ack was lost is
    de-duplicated by the stream (within its 2-minute window); the (meter, ts) key covers the rest.
    """

    def __init__(
        self, url: str, subject_prefix: str = DEFAULT_NATS_PREFIX, *, retry_for_s: float = 60.0, window: int = 256
    ) -> None:
        self.url = url
        self.subject_prefix = subject_prefix.strip(".")
        self.retry_for_s = retry_for_s
        self.window = window  # publishes awaiting their ack at once
        self._loop: _LoopThread | None = None
        self._nc: Any = None
        self._js: Any = None
        self.sent = 0
        self.retries = 0

    def start(self, timeout: float = 10.0) -> None:
        import nats

        self._loop = _LoopThread()

        async def connect() -> None:
            self._nc = await nats.connect(
                self.url, connect_timeout=2, max_reconnect_attempts=-1, reconnect_time_wait=0.5
            )
            self._js = self._nc.jetstream()

        self._loop.run(connect(), timeout)

    def subject_for(self, organization_id: str, meter: str) -> str:
        return f"{self.subject_prefix}.{organization_id}.{meter}"

    async def _publish_one(self, subject: str, data: bytes, deadline: float) -> None:
        headers = {"Nats-Msg-Id": uuid.uuid4().hex}
        attempt = 0
        while True:
            try:
                await self._js.publish(subject, data, timeout=2.0, headers=headers)
                return
            except Exception as exc:  # timeout, no responders (server restarting), connection closed...
                attempt += 1
                self.retries += 1
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JetStream did not acknowledge {subject}: {exc!r}") from exc
                await asyncio.sleep(min(2.0, 0.1 * attempt))

    def publish_many(self, messages: Sequence[tuple[str, str, Reading | Sequence[Reading] | bytes]]) -> None:
        """Publish (organization_id, meter, payload) messages; return when JetStream has stored all of them."""
        assert self._loop is not None, "start() first"
        items = [
            (self.subject_for(org, meter), p if isinstance(p, bytes) else reading_payload(p))
            for org, meter, p in messages
        ]

        async def send() -> None:
            deadline = time.monotonic() + self.retry_for_s
            for start in range(0, len(items), self.window):
                chunk = items[start : start + self.window]
                await asyncio.gather(*(self._publish_one(s, d, deadline) for s, d in chunk))

        self._loop.run(send(), timeout=self.retry_for_s + 30)
        self.sent += len(items)

    def publish(self, organization_id: str, meter: str, payload: Reading | Sequence[Reading] | bytes) -> None:
        self.publish_many([(organization_id, meter, payload)])

    def close(self) -> None:
        if self._loop is None:
            return
        with contextlib.suppress(Exception):
            self._loop.run(self._nc.flush(timeout=5))
        with contextlib.suppress(Exception):
            self._loop.run(self._nc.close())
        self._loop.stop()


def publish_nats(
    url: str,
    organization_id: str,
    meter: str,
    readings: Reading | Sequence[Reading] | bytes,
    *,
    subject_prefix: str = DEFAULT_NATS_PREFIX,
    retry_for_s: float = 30.0,
) -> None:
    """Publish one message to JetStream, retrying until stored (raises TimeoutError after `retry_for_s`)."""
    publisher = NatsReadingPublisher(url, subject_prefix, retry_for_s=retry_for_s)
    publisher.start()
    try:
        publisher.publish(organization_id, meter, readings)
    finally:
        publisher.close()


__all__ = [
    "MqttReadingConsumer",
    "MqttReadingPublisher",
    "NatsReadingConsumer",
    "NatsReadingPublisher",
    "StreamCounters",
    "decode_payload",
    "ensure_stream",
    "parse_mqtt_topic",
    "parse_nats_subject",
    "publish_mqtt",
    "publish_nats",
    "reading_payload",
]
