"""The process's shared components, built once from settings: database engine, cache, event bus.

The API (app.state.runtime), the CLI and workers each build one. Tests build one around their own engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import structlog
from sqlalchemy import Engine

from turash.config import Settings
from turash.kit.bus import DomainEvent, EventBus, make_bus
from turash.kit.cache import Cache, make_cache
from turash.kit.db import UnitOfWork, get_engine, unit_of_work

log = structlog.get_logger(__name__)


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    cache: Cache
    bus: EventBus
    extras: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, *, migrate: bool | None = None) -> Runtime:
        from turash.audit.service import install_audit_listener
        from turash.kit import migrations

        engine = get_engine(settings.database_url)
        if settings.auto_migrate if migrate is None else migrate:
            with engine.begin() as connection:
                migrations.upgrade(connection=connection)
        install_audit_listener()
        return cls(
            settings=settings,
            engine=engine,
            cache=make_cache(settings.redis_url),
            bus=make_bus(settings.nats_url, settings.nats_stream),
        )

    def publish(self, events: list[DomainEvent]) -> None:
        try:
            self.bus.publish(events)
        except Exception:  # the data is committed; a bus outage must not turn a success into an error
            log.exception("event_publish_failed", events=[e.name for e in events])

    @contextmanager
    def uow(self) -> Iterator[UnitOfWork]:
        with unit_of_work(self.engine, publish=self.publish) as uow:
            yield uow

    def close(self) -> None:
        queue = self.extras.pop("job_queue", None)  # turash/jobs: made on first use
        if queue is not None:
            queue.close()
        self.bus.close()
