"""Streamed readings benchmark: publish N readings at a target rate to our own Mosquitto / nats-server and measure
what the consumers store.

    .venv/bin/python -m bench.bench_streams                      # 100,000 readings at 10,000/s, both brokers
    .venv/bin/python -m bench.bench_streams --only mqtt --n 20000 --profile
    .venv/bin/python -m bench.bench_streams --database-url postgresql+psycopg://postgres@127.0.0.1/turash_bench

Figures: publish rate achieved, sustained ingest rate (readings stored per second, first publish to last commit),
end-to-end latency (reading time = send time, to its commit) p50/p95/max, and the backlog when the publisher
finished (published but not yet committed): 0 or a few batches means the consumer kept up. `--profile` prints
where the consumer's store time goes (cProfile over `take_readings` + commit).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from turash.ingestion import streams
from turash.ingestion.readings import Reading, ReadingBatchResult
from turash.kit import migrations
from turash.kit.db import make_engine
from turash.models import Meter, Organization
from turash.models.base import name_key


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(command: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, stdout=log.open("ab"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{command[0]} did not start; see {log}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


def start_mosquitto(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location {folder}/\n"
        f"max_queued_messages 0\nuser {pwd.getpwuid(os.geteuid()).pw_name}\n"
    )
    return f"mqtt://127.0.0.1:{port}", _start(["/usr/sbin/mosquitto", "-c", str(conf)], port, folder / "broker.log")


def start_nats(folder: Path) -> tuple[str, subprocess.Popen[bytes]]:
    port = _free_port()
    command = ["/usr/sbin/nats-server", "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(folder / "js")]
    return f"nats://127.0.0.1:{port}", _start(command, port, folder / "broker.log")


class Probe:
    """The consumers' `on_commit` hook: latency of every committed reading, time of the last commit."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.last_commit = 0.0
        self.lock = threading.Lock()

    def __call__(self, _org: str, readings: Sequence[Reading], _result: ReadingBatchResult) -> None:
        now = time.time()
        with self.lock:
            self.latencies.extend(now - r.ts.timestamp() for r in readings)
            self.last_commit = now


class StoreProfile:
    """Wraps `streams.take_readings` to time it (and, with --profile, cProfile it) in the consumer thread."""

    def __init__(self, profile: bool) -> None:
        self.seconds = 0.0
        self.calls = 0
        self.profiler = cProfile.Profile() if profile else None
        self._original = streams.take_readings

    def __enter__(self) -> StoreProfile:
        original = self._original

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                if self.profiler is not None:
                    return self.profiler.runcall(original, *args, **kwargs)  # type: ignore[no-any-return]
                return original(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
                self.calls += 1

        streams.take_readings = timed  # type: ignore[assignment]
        return self

    def __exit__(self, *_exc: object) -> None:
        streams.take_readings = self._original

    def report(self) -> str:
        if self.profiler is None:
            return ""
        out = io.StringIO()
        pstats.Stats(self.profiler, stream=out).sort_stats("cumulative").print_stats(18)
        return out.getvalue()


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def run(
    name: str,
    consumer: Any,
    publish_tick: Callable[[list[tuple[str, str, Reading]]], None],
    finish_publishing: Callable[[], None],
    probe: Probe,
    org_id: str,
    meters: list[str],
    n: int,
    rate: float,
    profile: bool,
    per_message: int = 1,
) -> None:
    tick = 0.01
    per_tick = max(1, round(rate * tick))
    with StoreProfile(profile) as store:
        assert consumer.start(), f"{name} consumer did not connect"
        start = time.monotonic()
        wall_start = time.time()
        sent = 0
        while sent < n:
            count = min(per_tick, n - sent)
            now = datetime.now(UTC)
            if per_message == 1:
                publish_tick(
                    [(org_id, meters[(sent + i) % len(meters)], Reading("", now, float(i), None)) for i in range(count)]
                )
            else:  # a gateway's message: one meter's readings of the last `per_message` intervals
                messages: list[tuple[str, str, Any]] = []
                for first in range(0, count, per_message):
                    size = min(per_message, count - first)
                    meter = meters[((sent + first) // per_message) % len(meters)]
                    base = now.timestamp() - size * 0.001
                    messages.append(
                        (
                            org_id,
                            meter,
                            [
                                Reading("", datetime.fromtimestamp(base + k * 0.001, UTC), float(k), None)
                                for k in range(size)
                            ],
                        )
                    )
                publish_tick(messages)
            sent += count
            delay = start + (sent / per_tick) * tick - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        finish_publishing()
        published_s = time.monotonic() - start
        backlog = n - (consumer.counters.stored + consumer.counters.duplicates + consumer.counters.quarantined)
        deadline = time.monotonic() + 120
        while consumer.counters.stored + consumer.counters.duplicates < n and time.monotonic() < deadline:
            time.sleep(0.05)
        consumer.stop()
    c = consumer.counters
    ingest_s = max(1e-9, probe.last_commit - wall_start)
    busy = store.seconds / ingest_s
    print(
        f"\n== {name}: {n:,} readings at a target of {rate:,.0f}/s, {len(meters)} meters, "
        f"{per_message} reading(s) per message, consumer batch {consumer.batch_size} messages"
    )
    print(f"publish rate achieved      {n / published_s:,.0f} readings/s ({published_s:.1f} s)")
    print(
        f"sustained ingest rate      {c.stored / ingest_s:,.0f} readings/s stored ({ingest_s:.1f} s to the last commit)"
    )
    print(
        f"stored / duplicates        {c.stored:,} / {c.duplicates:,} "
        f"(quarantined {c.quarantined}, failures {c.failures})"
    )
    print(
        f"backlog when publish ended {backlog:,} readings "
        f"({'kept up' if backlog <= 2 * consumer.batch_size * per_message else 'lagging'})"
    )
    print(
        f"end-to-end latency         p50 {_percentile(probe.latencies, 0.5) * 1000:,.0f} ms, "
        f"p95 {_percentile(probe.latencies, 0.95) * 1000:,.0f} ms, max {max(probe.latencies, default=0) * 1000:,.0f} ms"
    )
    print(
        f"take_readings              {store.calls} calls, {store.seconds:.1f} s "
        f"({busy:.0%} of the ingest time; {store.seconds / max(1, store.calls) * 1000:.0f} ms per batch)"
    )
    if profile:
        print(store.report())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=10_000)
    parser.add_argument("--meters", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--only", choices=["mqtt", "nats"], default=None)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument(
        "--per-message",
        type=int,
        default=1,
        help="readings per message, as a gateway sends each meter's last readings together (default 1)",
    )
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for binary in ("/usr/sbin/mosquitto", "/usr/sbin/nats-server"):
        if not shutil.which(binary):
            raise SystemExit(f"{binary} is missing")
    folder = Path(tempfile.mkdtemp(prefix="turash-bench-streams-"))
    for protocol in ["mqtt", "nats"] if args.only is None else [args.only]:
        url_db = args.database_url or f"sqlite:///{folder / f'{protocol}.db'}"
        engine = make_engine(url_db)
        with engine.begin() as connection:
            migrations.upgrade(connection=connection)
        run_id = uuid.uuid4().hex[:6]
        with Session(engine) as s:
            org = Organization(name=f"Bench {run_id}", name_key=name_key(f"Bench {run_id}"))
            s.add(org)
            s.flush()
            names = [f"m{run_id}-{i:04d}" for i in range(args.meters)]
            s.add_all(Meter(organization_id=org.id, name=m, quantity="flow_rate", unit="m3/h") for m in names)
            s.commit()
            org_id = org.id
        probe = Probe()
        broker_dir = folder / protocol
        broker_dir.mkdir()
        if protocol == "mqtt":
            url, process = start_mosquitto(broker_dir)
            consumer: Any = streams.MqttReadingConsumer(
                url, engine, client_id=f"bench-{run_id}", batch_size=args.batch_size, on_commit=probe
            )
            publisher = streams.MqttReadingPublisher(url)
            publisher.start()

            def tick(items: list[tuple[str, str, Reading]], publisher: Any = publisher) -> None:
                for org_key, meter, reading in items:
                    publisher.publish(org_key, meter, reading)

            def finish(publisher: Any = publisher) -> None:
                publisher.close(120)

        else:
            url, process = start_nats(broker_dir)
            consumer = streams.NatsReadingConsumer(
                url, engine, durable=f"bench-{run_id}", batch_size=args.batch_size, on_commit=probe
            )
            nats_publisher = streams.NatsReadingPublisher(url)
            nats_publisher.start()
            tick = nats_publisher.publish_many  # type: ignore[assignment]
            finish = nats_publisher.close  # type: ignore[assignment]
        try:
            run(
                protocol,
                consumer,
                tick,
                finish,
                probe,
                org_id,
                names,
                args.n,
                args.rate,
                args.profile,
                args.per_message,
            )
        finally:
            _stop(process)
            engine.dispose()
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
