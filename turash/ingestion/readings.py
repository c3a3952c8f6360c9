"""Meter readings: the time series behind a `measured` flow.

Every source (REST, inbound webhooks, MQTT, NATS JetStream, OPC UA and Modbus pollers) hands `Reading`s to
`store_readings`, which
1. finds each reading's meter (by name, within the organisation) and converts the value to SI with pint,
2. quarantines what it cannot store (unknown meter, unit of the wrong dimension, value not finite, time in the
   future) with the reason, so nothing is silently dropped,
3. writes the rest with the key (meter, time): a reading delivered twice (QoS 1 redelivery, a replayed stream, a
   poller restart) is stored once and counted as a duplicate,
4. recomputes the hourly and daily rollups of the buckets the batch touched.

`refresh_flow` then turns a meter's rollups into the flow's measured quantity, availability profile and precision.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.kit.units import ureg
from turash.models import Meter, MeterReading, QuarantinedRow, ReadingRollup
from turash.models.base import utcnow

# The SI unit each meter quantity is stored in.
QUANTITY_UNITS: dict[str, str] = {
    "flow_rate": "m3/s",  # volume flow; a mass flow meter uses "mass_rate"
    "mass_rate": "kg/s",
    "power": "W",
    "energy": "J",  # a cumulative counter (kWh, GJ)
    "temperature": "degC",
    "pressure": "bar",
    "quantity": "kg",  # a mass counter (t, kg)
}
FUTURE_TOLERANCE = timedelta(minutes=5)  # meter clocks drift; a reading further ahead than this is refused


@dataclass(frozen=True, slots=True)
class Reading:
    """One value from one meter. `unit` None means the meter's configured unit."""

    meter: str  # the meter's name within its organisation
    ts: datetime
    value: float
    unit: str | None = None


ReadingSink = Callable[[Sequence[Reading]], Any]


@dataclass
class ReadingBatchResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    quarantined: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    meters: set[str] = field(default_factory=set)  # ids of the meters that got new readings

    def as_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "quarantined": self.quarantined,
            "problems": self.problems[:100],
        }


def _factor(unit: str, target: str) -> tuple[float, float]:
    """(scale, offset) so that SI = value * scale + offset; raises on a unit of the wrong dimension."""
    if target == "degC":
        source = ureg.Quantity(0.0, unit)
        zero = source.to(target).magnitude
        one = ureg.Quantity(1.0, unit).to(target).magnitude
        return one - zero, zero
    return float(ureg.Quantity(1.0, unit).to(target).magnitude), 0.0


_FACTORS: dict[tuple[str, str], tuple[float, float] | str] = {}


def conversion(unit: str, quantity: str) -> tuple[float, float]:
    """Cached conversion of a reading unit to its quantity's SI unit. Raises ValueError with the reason."""
    target = QUANTITY_UNITS.get(quantity)
    if target is None:
        raise ValueError(f"unknown meter quantity {quantity!r}; use one of {', '.join(QUANTITY_UNITS)}")
    key = (unit, target)
    cached = _FACTORS.get(key)
    if cached is None:
        try:
            cached = _factor(unit, target)
        except Exception as exc:  # pint's errors: undefined unit, dimensionality
            cached = f"unit {unit!r} is not a {quantity.replace('_', ' ')} unit ({target}): {exc}"
        _FACTORS[key] = cached
    if isinstance(cached, str):
        raise ValueError(cached)
    return cached


def _as_utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def store_readings(
    session: Session,
    organization_id: str,
    readings: Sequence[Reading],
    *,
    source: str = "api",
    now: datetime | None = None,
) -> ReadingBatchResult:
    """Store a batch of readings for one organisation. The caller commits (one transaction per batch)."""
    result = ReadingBatchResult(received=len(readings))
    if not readings:
        return result
    now = now or utcnow()
    names = {r.meter for r in readings}
    meters = {
        m.name: m
        for m in session.scalars(sa.select(Meter).where(Meter.organization_id == organization_id, Meter.name.in_(names)))
    }
    rows: dict[tuple[str, datetime], float] = {}
    bad: list[QuarantinedRow] = []
    for index, reading in enumerate(readings):
        problem = None
        meter = meters.get(reading.meter)
        value_si = math.nan
        ts = _as_utc(reading.ts)
        if meter is None:
            problem = ("meter", f"no meter named {reading.meter!r} in this organisation")
        elif not isinstance(reading.value, int | float) or not math.isfinite(reading.value):
            problem = ("value", f"value {reading.value!r} is not a finite number")
        elif ts > now + FUTURE_TOLERANCE:
            problem = ("ts", f"time {ts.isoformat()} is in the future")
        else:
            try:
                scale, offset = conversion(reading.unit or meter.unit, meter.quantity)
            except ValueError as exc:
                problem = ("unit", str(exc))
            else:
                value_si = reading.value * scale + offset
        if problem is not None:
            column, reason = problem
            result.quarantined += 1
            result.problems.append({"index": index, "meter": reading.meter, "column": column, "reason": reason})
            bad.append(
                QuarantinedRow(
                    kind="readings",
                    file_name=f"{source} readings",
                    row_number=index + 1,
                    column=column,
                    reason=reason,
                    errors=[{"column": column, "reason": reason}],
                    raw={
                        "organization_id": organization_id,
                        "meter": reading.meter,
                        "ts": ts.isoformat(),
                        "value": reading.value if isinstance(reading.value, int | float) else str(reading.value),
                        "unit": reading.unit,
                    },
                )
            )
            continue
        assert meter is not None
        key = (meter.id, ts)
        if key in rows:
            result.duplicates += 1
        rows[key] = value_si
    if bad:
        session.add_all(bad)
    if rows:
        inserted = _insert_new(session, rows, now)
        result.stored = inserted
        result.duplicates += len(rows) - inserted
        touched: dict[str, list[datetime]] = {}
        for meter_id, ts in rows:
            touched.setdefault(meter_id, []).append(ts)
        by_id = {m.id: m for m in meters.values()}
        for meter_id, times in touched.items():
            _rollup(session, meter_id, times)
            latest = max(times)
            meter = by_id[meter_id]
            if meter.last_reading_at is None or latest >= _as_utc(meter.last_reading_at):
                meter.last_reading_at = latest
                meter.last_value_si = rows[(meter_id, latest)]
        result.meters = set(touched)
    session.flush()
    return result


_PARTITIONS: set[tuple[str, int, int]] = set()  # (database url, year, month) partitions known to exist


def _ensure_partitions(session: Session, times: set[tuple[int, int]]) -> None:
    """On PostgreSQL, create the monthly partitions a batch needs (the default partition catches the rest)."""
    bind = session.get_bind()
    url = str(bind.engine.url)
    for year, month in sorted(times):
        if (url, year, month) in _PARTITIONS:
            continue
        start = datetime(year, month, 1, tzinfo=UTC)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
        name = f"meter_readings_{year:04d}_{month:02d}"
        exists = session.execute(sa.text("SELECT to_regclass(:n)"), {"n": name}).scalar()
        if exists is None:
            try:
                with session.begin_nested():
                    # DDL cannot take bind parameters; the name and bounds are built from integers above.
                    session.execute(
                        sa.text(
                            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF meter_readings "  # noqa: S608
                            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                        )
                    )
            except sa.exc.DBAPIError:
                # Rows of that month already sit in the default partition: keep using it.
                pass
        _PARTITIONS.add((url, year, month))


def _insert_new(session: Session, rows: dict[tuple[str, datetime], float], now: datetime) -> int:
    """Insert the readings not already stored; returns how many went in."""
    dialect = session.get_bind().dialect.name
    table = MeterReading.__table__
    values = [{"meter_id": m, "ts": ts, "value_si": v, "received_at": now} for (m, ts), v in rows.items()]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        _ensure_partitions(session, {(ts.year, ts.month) for _, ts in rows})
        statement: Any = pg_insert(table).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    inserted = 0
    for start in range(0, len(values), 5000):
        outcome = session.execute(statement, values[start : start + 5000])
        inserted += max(outcome.rowcount, 0)
    return inserted


def _bucket(ts: datetime, period: str) -> datetime:
    ts = _as_utc(ts)
    if period == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def _rollup(session: Session, meter_id: str, times: list[datetime]) -> None:
    """Recompute the hourly and daily aggregates of every bucket these readings fall in (idempotent)."""
    for period, width in (("hour", timedelta(hours=1)), ("day", timedelta(days=1))):
        starts = sorted({_bucket(ts, period) for ts in times})
        lo, hi = starts[0], starts[-1] + width
        readings = session.execute(
            sa.select(MeterReading.ts, MeterReading.value_si).where(
                MeterReading.meter_id == meter_id, MeterReading.ts >= lo, MeterReading.ts < hi
            )
        ).all()
        buckets: dict[datetime, list[float]] = {}
        wanted = set(starts)
        for ts, value in readings:
            start = _bucket(ts, period)
            if start in wanted:
                buckets.setdefault(start, []).append(value)
        session.execute(
            sa.delete(ReadingRollup).where(
                ReadingRollup.meter_id == meter_id, ReadingRollup.period == period, ReadingRollup.start.in_(starts)
            )
        )
        if buckets:
            session.execute(
                sa.insert(ReadingRollup),
                [
                    {
                        "meter_id": meter_id,
                        "period": period,
                        "start": start,
                        "count": len(values),
                        "mean": sum(values) / len(values),
                        "minimum": min(values),
                        "maximum": max(values),
                    }
                    for start, values in buckets.items()
                ],
            )
