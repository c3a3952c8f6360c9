"""OpenTelemetry traces (turash/kit/tracing.py): a span per request, spans for imports and match runs, trace ids in
the log lines, and nothing at all while tracing is off."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import structlog
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from structlog.testing import capture_logs

from turash.app import create_app
from turash.ingestion.service import import_flows
from turash.kit import tracing


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    tracing.configure(exporter, batch=False)
    yield exporter
    tracing._state["provider"].shutdown()
    tracing._state["provider"] = None


def test_a_request_is_a_span_with_its_route(spans, runtime) -> None:  # type: ignore[no-untyped-def]
    with TestClient(create_app(runtime=runtime)) as client:
        client.post("/api/v1/auth/register", json={"email": "t@example.org", "password": "correct horse battery"})
        client.get("/api/v1/health")  # probes are not traced
    finished = spans.get_finished_spans()
    server = [s for s in finished if s.kind.name == "SERVER"]
    assert [s.attributes.get("http.route") for s in server] == ["/api/v1/auth/register"]
    assert server[0].resource.attributes["service.name"] == "turash"


def test_imports_and_match_runs_have_spans_and_logs_carry_the_trace(spans, session) -> None:  # type: ignore[no-untyped-def]
    text = "organization,lat,lon,direction,resource\nA,55.0,11.0,supply,fly ash\nB,55.0,11.0,demand,glass\n"
    import_flows(session, "t.csv", data=text.encode(), name="t.csv", parallel=False)
    (run,) = [s for s in spans.get_finished_spans() if s.name == "import.flows"]
    assert run.attributes["turash.rows_total"] == 2 and run.attributes["turash.imported"] == 2
    with (
        capture_logs(processors=[tracing.add_trace_ids]) as logs,
        tracing.span("match.batch", flows=2) as current,
    ):
        structlog.get_logger().info("inside")
    with capture_logs(processors=[tracing.add_trace_ids]) as after:
        structlog.get_logger().info("outside")
    assert "trace_id" not in next(e for e in after if e["event"] == "outside")
    trace_id = format(current.get_span_context().trace_id, "032x")
    assert next(e for e in logs if e["event"] == "inside")["trace_id"] == trace_id  # (other threads may log too)
    assert next(s for s in spans.get_finished_spans() if s.name == "match.batch").attributes["turash.flows"] == 2


def test_off_by_default_and_free(runtime) -> None:  # type: ignore[no-untyped-def]
    assert tracing._state["provider"] is None
    assert tracing.begin("x") is None
    with tracing.span("y") as nothing:
        assert nothing is None
    assert tracing.from_settings(runtime.settings) is None
