"""Prometheus metrics shared by the API and workers (exposed at /metrics)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric

REQUEST_LATENCY = Histogram(
    "turash_http_request_duration_seconds",
    "HTTP request latency by route template and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IMPORTED_ROWS = Counter("turash_import_rows_total", "Rows processed by imports, by outcome.", ["kind", "outcome"])
LOGIN_ATTEMPTS = Counter("turash_login_attempts_total", "Login attempts by outcome.", ["outcome"])
MATCH_RUN_SECONDS = Histogram(
    "turash_match_run_seconds",
    "Time of a matching request through the engine (ranked, filtered, shaped), by kind.",
    ["kind"],  # find (an organisation's or a flow's matches) | query (ad-hoc, no flow saved)
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
MATCHES_FOUND = Counter("turash_matches_found_total", "Matches returned by the engine, by route.", ["route"])
IMPORT_SECONDS = Histogram(
    "turash_import_seconds",
    "Duration of an import run (file, upload, bulk job), by kind.",
    ["kind"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300, 900),
)
METER_READINGS = Counter("turash_meter_readings_total", "Meter readings taken in, by outcome.", ["outcome"])


class QueueDepth:
    """`turash_queue_depth{queue}`: work waiting in the database, counted when Prometheus scrapes (every 15-60 s;
    each count is one indexed query): bulk import jobs queued or running, e-mails and webhook deliveries pending.
    Registered once per process by `install_queue_depth` with the engine to count in."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:
        import sqlalchemy as sa

        from turash.models import EmailMessage, IngestJob, WebhookDelivery

        gauge = GaugeMetricFamily("turash_queue_depth", "Work items waiting, by queue.", labels=["queue"])
        queries = {
            "ingest_jobs": sa.select(sa.func.count()).where(IngestJob.status.in_(("queued", "running"))),
            "emails": sa.select(sa.func.count()).where(EmailMessage.status == "pending"),
            "webhook_deliveries": sa.select(sa.func.count()).where(WebhookDelivery.status == "pending"),
        }
        try:
            with self.engine.connect() as connection:
                for queue, query in queries.items():
                    gauge.add_metric([queue], float(connection.execute(query).scalar_one()))
        except Exception:  # a scrape must answer while the database is down; the health route says why
            return
        yield gauge


_QUEUE_DEPTH: list[QueueDepth] = []


def install_queue_depth(engine: Any) -> None:
    """Count the queues of this engine's database (the latest app's, when a process creates several)."""
    if _QUEUE_DEPTH:
        _QUEUE_DEPTH[0].engine = engine
        return
    collector = QueueDepth(engine)
    REGISTRY.register(collector)
    _QUEUE_DEPTH.append(collector)
