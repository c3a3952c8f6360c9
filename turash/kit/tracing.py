"""OpenTelemetry traces: a span per API request (FastAPI instrumentation), spans for imports and match runs, and
the trace id in every log line written while a span is active (so a log line leads to its trace and back).

Off unless `TURASH_OTEL_EXPORTER_OTLP_ENDPOINT` is set (`http://collector:4318`): spans then go by OTLP over HTTP
(`/v1/traces`) in batches, sampled at `TURASH_OTEL_SAMPLE_RATIO` (parent-based: a caller's sampled trace is always
continued). `configure` takes any span exporter, which is how the tests read spans in memory. While tracing is off,
`span()` costs one no-op context manager.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

if TYPE_CHECKING:
    from fastapi import FastAPI
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

    from turash.config import Settings

_state: dict[str, Any] = {"provider": None}
EXCLUDED_URLS = "/metrics,/api/v1/health"  # scrapes and probes every few seconds would drown the real traces


def configure(
    exporter: SpanExporter, *, service_name: str = "turash", sample_ratio: float = 1.0, batch: bool = True
) -> TracerProvider:
    """Set up this process's tracer provider with one exporter (replacing an earlier one)."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    from turash import __version__

    previous = _state["provider"]
    if previous is not None:
        previous.shutdown()
    provider = TracerProvider(
        resource=Resource.create({"service.name": service_name, "service.version": __version__}),
        sampler=ParentBased(TraceIdRatioBased(sample_ratio)),
    )
    provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
    _state["provider"] = provider
    return provider


def from_settings(settings: Settings) -> TracerProvider | None:
    """The provider the settings ask for (an OTLP/HTTP exporter), or None when tracing is off."""
    endpoint = settings.otel_exporter_otlp_endpoint
    if not endpoint:
        return _state["provider"]  # type: ignore[no-any-return]  # configured in code (tests), or None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces")
    return configure(exporter, service_name=settings.otel_service_name, sample_ratio=settings.otel_sample_ratio)


def instrument(app: FastAPI, settings: Settings) -> None:
    """A span per request of this app, when tracing is on."""
    provider = from_settings(settings)
    if provider is None:
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, tracer_provider=provider, excluded_urls=EXCLUDED_URLS)


@contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span around a piece of work (an import, a match run), child of the request's span when there is one."""
    provider = _state["provider"]
    if provider is None:
        yield None
        return
    with provider.get_tracer("turash").start_as_current_span(name) as current:
        for key, value in attributes.items():
            if value is not None:
                current.set_attribute(f"turash.{key}", value)
        yield current


def add_trace_ids(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: `trace_id` and `span_id` of the active span, if any."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def begin(name: str, **attributes: Any) -> Any:
    """A span started here and ended by `end` (for work whose start and end are in different functions), or None
    when tracing is off. It is a child of the active span (the request's) but does not become the active one."""
    provider = _state["provider"]
    if provider is None:
        return None
    started = provider.get_tracer("turash").start_span(name)
    for key, value in attributes.items():
        if value is not None:
            started.set_attribute(f"turash.{key}", value)
    return started


def end(started: Any, **attributes: Any) -> None:
    if started is None:
        return
    for key, value in attributes.items():
        if value is not None:
            started.set_attribute(f"turash.{key}", value)
    started.end()
