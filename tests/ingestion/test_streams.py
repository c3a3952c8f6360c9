"""Streamed readings against real brokers: our own Mosquitto and nats-server processes on free ports (the shared
ones on 1883/4222 are never touched), so the tests can kill and restart them mid-stream.

The consumers write from their own threads and commit, so these tests use the session `engine` and real commits
(no surrounding transaction) and delete what they created.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.conftest import REQUIRE_SERVICES, reachable
from turash.ingestion.readings import Reading
from turash.ingestion.streams import (
    MqttReadingConsumer,
    MqttReadingPublisher,
    NatsReadingConsumer,
    NatsReadingPublisher,
    decode_payload,
    parse_mqtt_topic,
    parse_nats_subject,
    publish_mqtt,
    publish_nats,
)
from turash.models import AuditEntry, Meter, MeterReading, Organization, QuarantinedRow
from turash.models.base import name_key

MOSQUITTO = os.environ.get("TURASH_MOSQUITTO_BIN", "/usr/sbin/mosquitto")
NATS_SERVER = os.environ.get("TURASH_NATS_SERVER_BIN", "/usr/sbin/nats-server")
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _need_binary(path: str) -> None:
    if shutil.which(path):
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{path} is missing and TURASH_REQUIRE_SERVICES=1")
    pytest.skip(f"{path} is missing")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(check: Callable[[], Any], seconds: float = 20.0, step: float = 0.02) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(step)
    return check()


class BrokerProcess:
    """A broker we own: started, SIGTERMed and started again on the same port and data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> None:
        log = (self.folder / "broker.log").open("ab")
        self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT)
        assert _wait(lambda: reachable("127.0.0.1", self.port), 10), "broker did not start"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a clean shutdown: the broker saves its state
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self, down_s: float = 1.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


class Mosquitto(BrokerProcess):
    def command(self) -> list[str]:
        conf = self.folder / "mosquitto.conf"
        conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "max_queued_messages 0\n"  # the default (1000) drops QoS 1 messages queued for an absent consumer
            # Started as root, Mosquitto switches to user "mosquitto", who cannot write our temporary folder.
            f"user {pwd.getpwuid(os.geteuid()).pw_name}\n"
        )
        return [MOSQUITTO, "-c", str(conf)]

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"


class NatsServer(BrokerProcess):
    def command(self) -> list[str]:
        return [NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.folder / "js")]

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Mosquitto]:
    _need_binary(MOSQUITTO)
    broker = Mosquitto(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    _need_binary(NATS_SERVER)
    broker = NatsServer(tmp_path)
    broker.start()
    yield broker
    broker.stop()


@dataclass
class MeterRef:
    organization_id: str
    name: str
    id: str


@pytest.fixture
def meter(engine: Engine) -> Iterator[MeterRef]:
    """A committed organisation with a flow meter in m3/h; everything it leads to is deleted afterwards."""
    run = uuid.uuid4().hex[:8]
    with Session(engine, expire_on_commit=False) as s:
        org = Organization(name=f"Stream Works {run}", name_key=name_key(f"Stream Works {run}"))
        s.add(org)
        s.flush()
        m = Meter(organization_id=org.id, name=f"boiler-{run}", quantity="flow_rate", unit="m3/h", protocol="mqtt")
        s.add(m)
        s.commit()
        ref = MeterRef(org.id, m.name, m.id)
    yield ref
    with Session(engine) as s:
        s.execute(sa.delete(MeterReading).where(MeterReading.meter_id == ref.id))
        for row in s.scalars(sa.select(QuarantinedRow).where(QuarantinedRow.kind == "readings")):
            if (row.raw or {}).get("organization_id") == ref.organization_id:
                s.delete(row)
        s.execute(sa.delete(Organization).where(Organization.id == ref.organization_id))
        s.execute(sa.delete(AuditEntry).where(AuditEntry.organization_id == ref.organization_id))
        s.commit()


def _stored(engine: Engine, meter_id: str) -> dict[datetime, float]:
    with engine.connect() as c:
        rows = c.execute(sa.select(MeterReading.ts, MeterReading.value_si).where(MeterReading.meter_id == meter_id))
        return {(ts if ts.tzinfo else ts.replace(tzinfo=UTC)): v for ts, v in rows}


def _count(engine: Engine, meter_id: str) -> int:
    with engine.connect() as c:
        query = sa.select(sa.func.count()).select_from(MeterReading).where(MeterReading.meter_id == meter_id)
        return int(c.execute(query).scalar_one())


def _quarantined(engine: Engine, organization_id: str) -> list[QuarantinedRow]:
    with Session(engine) as s:
        rows = s.scalars(sa.select(QuarantinedRow).where(QuarantinedRow.kind == "readings")).all()
        return [r for r in rows if (r.raw or {}).get("organization_id") == organization_id]


def _reading(meter: MeterRef, i: int, value: float = 36.0, unit: str | None = "m3/h") -> Reading:
    return Reading(meter.name, T0 + timedelta(seconds=i), value, unit)


# ----------------------------------------------------------------------------------------------- pure parsing


def test_topics_subjects_and_payloads_are_parsed() -> None:
    assert parse_mqtt_topic("turash/org1/meters/hall/boiler-1") == ("org1", "hall/boiler-1")
    assert parse_mqtt_topic("site/a/turash/org1/meters/x", "site/a/turash") == ("org1", "x")
    assert parse_mqtt_topic("turash/org1/sensors/x") is None
    assert parse_nats_subject("turash.readings.org1.boiler.1") == ("org1", "boiler.1")
    assert parse_nats_subject("turash.readings.org1") is None
    readings, problems = decode_payload(
        "m",
        b'[{"ts": "2024-05-01T08:00:00Z", "value": 1}, {"ts": "yesterday", "value": 2}, '
        b'{"value": 3}, {"ts": "2024-05-01T08:00:01", "value": "4"}, {"ts": "2024-05-01T08:00:02", "value": 1'
        + b"0" * 400
        + b"}, 7]",
    )
    assert readings == [Reading("m", T0, 1.0, None)]
    assert [(p.column, p.index) for p in problems] == [("ts", 1), ("ts", 2), ("value", 3), ("value", 4), ("payload", 5)]
    assert decode_payload("m", b"{not json")[1][0].column == "payload"
    assert decode_payload("m", b'"a string"')[1][0].reason.startswith("payload is a JSON str")


# ----------------------------------------------------------------------------------------------- MQTT


def test_mqtt_readings_are_stored_in_si_bad_payloads_quarantined_duplicates_once(
    engine: Engine, mosquitto: Mosquitto, meter: MeterRef
) -> None:
    consumer = MqttReadingConsumer(mosquitto.url, engine, client_id=f"t-{uuid.uuid4().hex[:8]}", flush_interval_s=0.05)
    assert consumer.start()
    try:
        org = meter.organization_id
        publish_mqtt(mosquitto.url, org, meter.name, _reading(meter, 0, 36.0))  # 36 m3/h = 0.01 m3/s
        publish_mqtt(mosquitto.url, org, meter.name, b"{this is not json")
        publish_mqtt(mosquitto.url, org, meter.name, b'{"value": 3}')
        publish_mqtt(
            mosquitto.url,
            org,
            meter.name,
            [_reading(meter, 1, 7.2), _reading(meter, 2, 5.0, "L/s"), _reading(meter, 3, 1.0, "kg")],
        )
        publish_mqtt(mosquitto.url, org, meter.name, _reading(meter, 0, 36.0))  # the same reading again
        publish_mqtt(mosquitto.url, org, "no-such-meter", _reading(meter, 0))
        assert _wait(lambda: consumer.counters.acked == 6), consumer.counters
        assert _wait(lambda: _count(engine, meter.id) == 3)
        stored = _stored(engine, meter.id)
        assert stored[T0] == pytest.approx(0.01)
        assert stored[T0 + timedelta(seconds=1)] == pytest.approx(0.002)
        assert stored[T0 + timedelta(seconds=2)] == pytest.approx(0.005)
        reasons = sorted((q.file_name, q.column or "") for q in _quarantined(engine, org))
        assert reasons == [
            ("mqtt readings", "meter"),  # unknown meter (store_readings)
            ("mqtt readings", "payload"),  # not JSON
            ("mqtt readings", "ts"),  # no ts
            ("mqtt readings", "unit"),  # kg is no flow rate
        ]
        assert consumer.counters.duplicates == 1
        assert consumer.counters.quarantined == 4
        assert consumer.connected  # it kept going through all of it
    finally:
        consumer.stop()


def _steady_publisher(publish: Callable[[int], None], n: int, rate: float, sent: list[int]) -> threading.Thread:
    def run() -> None:
        start = time.monotonic()
        for i in range(n):
            delay = start + i / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            publish(i)
            sent.append(i)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


N_RESTART = 2000


def test_mqtt_broker_restart_mid_stream_loses_no_reading(engine: Engine, mosquitto: Mosquitto, meter: MeterRef) -> None:
    consumer = MqttReadingConsumer(mosquitto.url, engine, client_id=f"t-{uuid.uuid4().hex[:8]}", batch_size=200)
    assert consumer.start()
    publisher = MqttReadingPublisher(mosquitto.url)
    assert publisher.start()
    sent: list[int] = []
    try:
        thread = _steady_publisher(
            lambda i: publisher.publish(meter.organization_id, meter.name, _reading(meter, i)), N_RESTART, 1000, sent
        )
        assert _wait(lambda: len(sent) >= N_RESTART // 2)
        mosquitto.restart(down_s=1.0)
        thread.join(30)
        assert publisher.wait(30), f"{publisher.pending} messages never acknowledged by the broker"
        assert _wait(lambda: _count(engine, meter.id) >= N_RESTART, 30)
        time.sleep(0.5)  # anything more would be a bug
        assert _count(engine, meter.id) == N_RESTART
        assert set(_stored(engine, meter.id)) == {T0 + timedelta(seconds=i) for i in range(N_RESTART)}
        assert consumer.counters.reconnects >= 1
        assert publisher.refused == 0
    finally:
        publisher.close(5)
        consumer.stop()


class _CommitsButNeverAcks(MqttReadingConsumer):
    def _ack(self, envelopes: list[Any]) -> None:  # the process dies between its commit and its acks
        return


def test_mqtt_consumer_crash_before_commit_and_before_ack_is_redelivered_and_stored_once(
    engine: Engine, mosquitto: Mosquitto, meter: MeterRef
) -> None:
    client_id = f"t-{uuid.uuid4().hex[:8]}"
    org, name = meter.organization_id, meter.name
    # 1. Crash with readings received but not committed: a long flush interval keeps them in the buffer.
    first = MqttReadingConsumer(mosquitto.url, engine, client_id=client_id, batch_size=10_000, flush_interval_s=60)
    assert first.start()
    publisher = MqttReadingPublisher(mosquitto.url)
    assert publisher.start()
    for i in range(50):
        publisher.publish(org, name, _reading(meter, i))
    assert publisher.wait(10)
    assert _wait(lambda: first.backlog == 50)
    first.stop(flush=False)
    assert _count(engine, meter.id) == 0

    second = MqttReadingConsumer(mosquitto.url, engine, client_id=client_id, flush_interval_s=0.05)
    assert second.start()
    assert _wait(lambda: second.counters.acked == 50), second.counters
    second.stop()
    assert _count(engine, meter.id) == 50

    # 2. Crash after the commit, before the acks: the broker sends them again; they are stored once.
    third = _CommitsButNeverAcks(mosquitto.url, engine, client_id=client_id, flush_interval_s=0.05)
    assert third.start()
    for i in range(50, 80):
        publisher.publish(org, name, _reading(meter, i))
    assert publisher.wait(10)
    assert _wait(lambda: third.counters.stored == 30), third.counters
    third.stop(flush=False)

    fourth = MqttReadingConsumer(mosquitto.url, engine, client_id=client_id, flush_interval_s=0.05)
    assert fourth.start()
    assert _wait(lambda: fourth.counters.acked == 30), fourth.counters
    fourth.stop()
    publisher.close(5)
    assert fourth.counters.duplicates == 30 and fourth.counters.stored == 0
    assert _count(engine, meter.id) == 80


# ----------------------------------------------------------------------------------------------- NATS


def _nats_consumer(server: NatsServer, engine: Engine, durable: str, cls: type = NatsReadingConsumer) -> Any:
    consumer = cls(server.url, engine, durable=durable, ack_wait_s=1.0, fetch_timeout_s=0.2)
    assert consumer.start()
    return consumer


def test_nats_readings_are_stored_in_si_bad_payloads_quarantined_duplicates_once(
    engine: Engine, nats_server: NatsServer, meter: MeterRef
) -> None:
    consumer = _nats_consumer(nats_server, engine, "basic")
    try:
        org = meter.organization_id
        publish_nats(nats_server.url, org, meter.name, _reading(meter, 0, 36.0))
        publish_nats(nats_server.url, org, meter.name, b"[1, 2")
        publish_nats(nats_server.url, org, meter.name, [_reading(meter, 1, 3.6), _reading(meter, 0, 36.0)])
        assert _wait(lambda: consumer.counters.acked == 3), consumer.counters
        stored = _stored(engine, meter.id)
        assert stored == {T0: pytest.approx(0.01), T0 + timedelta(seconds=1): pytest.approx(0.001)}
        assert [(q.file_name, q.column) for q in _quarantined(engine, org)] == [("nats readings", "payload")]
        assert consumer.counters.duplicates == 1
    finally:
        consumer.stop()


def test_nats_server_restart_mid_stream_loses_no_reading(
    engine: Engine, nats_server: NatsServer, meter: MeterRef
) -> None:
    consumer = _nats_consumer(nats_server, engine, "restart")
    publisher = NatsReadingPublisher(nats_server.url, retry_for_s=30)
    publisher.start()
    sent: list[int] = []
    try:
        thread = _steady_publisher(
            lambda i: publisher.publish(meter.organization_id, meter.name, _reading(meter, i)), N_RESTART, 1000, sent
        )
        assert _wait(lambda: len(sent) >= N_RESTART // 2)
        nats_server.restart(down_s=1.0)
        thread.join(40)
        assert len(sent) == N_RESTART
        assert _wait(lambda: _count(engine, meter.id) >= N_RESTART, 30)
        time.sleep(0.5)
        assert _count(engine, meter.id) == N_RESTART
        assert set(_stored(engine, meter.id)) == {T0 + timedelta(seconds=i) for i in range(N_RESTART)}
        assert consumer.counters.reconnects >= 1
    finally:
        publisher.close()
        consumer.stop()


class _HangsBeforeCommit(NatsReadingConsumer):
    holding = threading.Event()

    async def _store(self, loop: asyncio.AbstractEventLoop, envelopes: list[Any]) -> None:
        type(self).holding.set()
        await asyncio.sleep(3600)  # the batch is in hand, never committed: the process is about to die


class _CommitsButNeverAcksNats(NatsReadingConsumer):
    async def _ack(self, envelopes: list[Any]) -> None:
        return


def test_nats_consumer_crash_before_commit_and_before_ack_is_redelivered_and_stored_once(
    engine: Engine, nats_server: NatsServer, meter: MeterRef
) -> None:
    org, name = meter.organization_id, meter.name
    publisher = NatsReadingPublisher(nats_server.url)
    publisher.start()
    first = _nats_consumer(nats_server, engine, "crash", _HangsBeforeCommit)
    publisher.publish_many([(org, name, _reading(meter, i)) for i in range(50)])
    assert _HangsBeforeCommit.holding.wait(10)
    first.stop(flush=False)
    assert _count(engine, meter.id) == 0

    second = _nats_consumer(nats_server, engine, "crash")
    assert _wait(lambda: _count(engine, meter.id) == 50), second.counters
    assert _wait(lambda: second.counters.acked == second.counters.messages and second.counters.messages >= 50)
    second.stop()

    third = _nats_consumer(nats_server, engine, "crash", _CommitsButNeverAcksNats)
    publisher.publish_many([(org, name, _reading(meter, i)) for i in range(50, 80)])
    assert _wait(lambda: third.counters.stored == 30), third.counters
    third.stop(flush=False)

    fourth = _nats_consumer(nats_server, engine, "crash")
    assert _wait(lambda: fourth.counters.duplicates >= 30 and fourth.counters.acked >= 30), fourth.counters
    fourth.stop()
    publisher.close()
    assert fourth.counters.stored == 0
    assert _count(engine, meter.id) == 80
