from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from turash.models.base import Base, IdMixin, TimestampMixin


class ImportRun(IdMixin, TimestampMixin, Base):
    """One import of one file. Its counts add up: rows_total = imported + skipped (already present) + quarantined."""

    __tablename__ = "import_runs"

    kind: Mapped[str] = mapped_column(sa.String(16))
    file_name: Mapped[str] = mapped_column(sa.String(500))
    file_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    status: Mapped[str] = mapped_column(sa.String(16), default="running")  # running | done | failed
    rows_total: Mapped[int] = mapped_column(default=0)
    rows_imported: Mapped[int] = mapped_column(default=0)
    rows_skipped: Mapped[int] = mapped_column(default=0)
    rows_quarantined: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    finished_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    # The organisation an API import was made for (its quarantine is that organisation's); None for the CLI.
    organization_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )


class QuarantinedRow(IdMixin, TimestampMixin, Base):
    """A record that failed validation, kept with where and why, so nothing rejected is ever out of sight."""

    __tablename__ = "quarantined_rows"

    import_run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="CASCADE"), index=True)
    file_name: Mapped[str] = mapped_column(sa.String(500))
    row_number: Mapped[int | None] = mapped_column()  # 1-based line number in the file; None = the whole file
    column: Mapped[str | None] = mapped_column(sa.String(100))
    reason: Mapped[str] = mapped_column(sa.Text)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    resolved_at: Mapped[datetime | None] = mapped_column()
    kind: Mapped[str | None] = mapped_column(sa.String(16))  # flows | sites | readings; None = the run's kind
    organization_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    replays: Mapped[int] = mapped_column(default=0)
    resolution: Mapped[str | None] = mapped_column(sa.String(200))  # "imported flow <id>", "dismissed by ..."

    import_run: Mapped[ImportRun | None] = relationship(lazy="raise")


class ColumnMapping(IdMixin, TimestampMixin, Base):
    """How one source's foreign headers map onto the import columns, saved so its next file maps itself."""

    __tablename__ = "column_mappings"
    __table_args__ = (sa.UniqueConstraint("organization_id", "source", "kind"),)

    organization_id: Mapped[str | None] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(sa.String(200))  # the source's name: "SAP export", "plant-3 historian"
    kind: Mapped[str] = mapped_column(sa.String(16))  # flows | sites
    mapping: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {foreign header: import column}
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class IngestJob(IdMixin, TimestampMixin, Base):
    """An asynchronous bulk import (`POST /api/v1/bulk/flows`) with its per-record results.

    `idempotency_key` (per organisation) makes a retried request return the first job instead of importing twice.
    """

    __tablename__ = "ingest_jobs"
    __table_args__ = (sa.UniqueConstraint("organization_id", "idempotency_key"),)

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))  # flows | sites | readings
    status: Mapped[str] = mapped_column(sa.String(16), default="queued")  # queued | running | done | failed
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200))
    source: Mapped[str] = mapped_column(sa.String(32), default="bulk")  # bulk | upload | webhook | watch
    records_total: Mapped[int] = mapped_column(default=0)
    payload: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)  # the records as sent, for resuming
    results: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)  # [{index, status, id?, errors?}]
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(sa.Text)
    import_run_id: Mapped[str | None] = mapped_column(sa.ForeignKey("import_runs.id", ondelete="SET NULL"))
    finished_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class InboundWebhook(IdMixin, TimestampMixin, Base):
    """A source that pushes records to Turash, signed with HMAC-SHA256 over "timestamp.body" with `secret`."""

    __tablename__ = "inbound_webhooks"

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(16))  # flows | readings
    secret: Mapped[str] = mapped_column(sa.String(128))
    active: Mapped[bool] = mapped_column(default=True)
    last_received_at: Mapped[datetime | None] = mapped_column()
    created_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))


class WebhookReceipt(Base):
    """Delivery ids already accepted from a webhook source: a replayed delivery is refused."""

    __tablename__ = "webhook_receipts"

    webhook_id: Mapped[str] = mapped_column(
        sa.ForeignKey("inbound_webhooks.id", ondelete="CASCADE"), primary_key=True
    )
    delivery_id: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    job_id: Mapped[str | None] = mapped_column(sa.String(32))


class Meter(IdMixin, TimestampMixin, Base):
    """A meter or sensor whose readings update a flow: a topic, subject, OPC UA node or Modbus register."""

    __tablename__ = "meters"
    __table_args__ = (sa.UniqueConstraint("organization_id", "name"),)

    organization_id: Mapped[str] = mapped_column(sa.ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    flow_id: Mapped[str | None] = mapped_column(sa.ForeignKey("resource_flows.id", ondelete="SET NULL"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))  # the name readings are sent under (topic's last part)
    quantity: Mapped[str] = mapped_column(sa.String(16))  # flow_rate | temperature | quantity | power | pressure
    unit: Mapped[str] = mapped_column(sa.String(50))  # the unit readings arrive in, e.g. "m3/h", "degC", "kW"
    protocol: Mapped[str] = mapped_column(sa.String(16), default="api")  # api | mqtt | nats | opcua | modbus
    address: Mapped[str | None] = mapped_column(sa.String(500))  # endpoint, node id or register
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_reading_at: Mapped[datetime | None] = mapped_column()
    last_value_si: Mapped[float | None] = mapped_column(sa.Float)


class MeterReading(Base):
    """One reading, in SI. (meter_id, ts) is the key, so a redelivered reading is stored once.

    On PostgreSQL the table is partitioned by month of `ts` (migration 0007); on SQLite it is a plain table.
    """

    __tablename__ = "meter_readings"

    meter_id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    ts: Mapped[datetime] = mapped_column(primary_key=True)
    value_si: Mapped[float] = mapped_column(sa.Float)
    received_at: Mapped[datetime] = mapped_column()


class ReadingRollup(Base):
    """Hourly and daily aggregates of a meter's readings, updated by each batch (turash/ingestion/readings.py)."""

    __tablename__ = "reading_rollups"

    meter_id: Mapped[str] = mapped_column(sa.ForeignKey("meters.id", ondelete="CASCADE"), primary_key=True)
    period: Mapped[str] = mapped_column(sa.String(8), primary_key=True)  # hour | day
    start: Mapped[datetime] = mapped_column(primary_key=True)
    count: Mapped[int] = mapped_column()
    total: Mapped[float] = mapped_column(sa.Float)  # sum of the values, so a late reading updates the mean
    mean: Mapped[float] = mapped_column(sa.Float)
    minimum: Mapped[float] = mapped_column(sa.Float)
    maximum: Mapped[float] = mapped_column(sa.Float)


class MergeProposal(IdMixin, TimestampMixin, Base):
    """Two organisations (or sites) that look like one: proposed by entity resolution, merged only when a person
    accepts, and reversible (`undo` records what moved)."""

    __tablename__ = "merge_proposals"
    __table_args__ = (sa.UniqueConstraint("kind", "keep_id", "merge_id"),)

    kind: Mapped[str] = mapped_column(sa.String(16))  # organization | site
    keep_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    merge_id: Mapped[str] = mapped_column(sa.String(32), index=True)
    score: Mapped[float] = mapped_column(sa.Float)
    reasons: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    status: Mapped[str] = mapped_column(sa.String(16), default="proposed")  # proposed | merged | rejected | reverted
    undo: Mapped[dict[str, Any]] = mapped_column(default=dict)
    decided_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None] = mapped_column()
