"""Prometheus metrics shared by the API and workers (exposed at /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUEST_LATENCY = Histogram(
    "turash_http_request_duration_seconds",
    "HTTP request latency by route template and status class.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
IMPORTED_ROWS = Counter("turash_import_rows_total", "Rows processed by imports, by outcome.", ["kind", "outcome"])
LOGIN_ATTEMPTS = Counter("turash_login_attempts_total", "Login attempts by outcome.", ["outcome"])
