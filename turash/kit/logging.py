"""Structured logging with structlog: console lines for people, JSON lines (with request ids) for machines."""

from __future__ import annotations

import logging
import sys

import structlog


class _StderrLogger:
    """Writes each line to whatever `sys.stderr` is at that moment (test runners and daemons swap it)."""

    def msg(self, message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    log = debug = info = warning = warn = error = critical = exception = fatal = msg


CACHE_LOGGERS = True  # the test suite turns it off: its tests configure logging many times over


def configure_logging(level: str = "INFO", json_logs: bool = False) -> None:
    """Loggers are bound once, on first use (fast; a later call leaves the loggers already used as they were)."""
    from turash.kit.tracing import add_trace_ids

    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        add_trace_ids,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer() if json_logs else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level.upper())),
        logger_factory=lambda *_args: _StderrLogger(),
        cache_logger_on_first_use=CACHE_LOGGERS,
    )
    logging.basicConfig(level=level.upper(), stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s")
