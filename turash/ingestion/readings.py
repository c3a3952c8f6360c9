"""Meter readings: the time series behind a `measured` flow.

Every source (REST, inbound webhooks, MQTT, NATS JetStream, OPC UA and Modbus pollers) hands `Reading`s to
`store_readings`, which
1. finds each reading's meter (by name, within the organisation) and converts the value to SI with pint,
2. quarantines what it cannot store (unknown meter, unit of the wrong dimension, value not finite, time in the
   future) with the reason, so nothing is silently dropped,
3. writes the rest with the key (meter, time): a reading delivered twice (QoS 1 redelivery, a replayed stream, a
   poller restart) is stored once and counted as a duplicate,
4. adds the new readings to their hourly and daily rollups (one upsert per batch).

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

from turash.kit.metrics import METER_READINGS
from turash.kit.units import from_si, prepare_unit_text, ureg
from turash.models import Meter, MeterReading, QuarantinedRow, ReadingRollup
from turash.models.base import utcnow

# The SI unit each meter quantity is stored in.
QUANTITY_UNITS: dict[str, str] = {
    "flow_rate": "m3/s",  # volume flow; a mass flow meter uses "mass_rate"
    "mass_rate": "kg/s",
    "power": "W",
    "energy": "J",  # a cumulative counter (kWh, GJ)
    "temperature": "degC",  # pint reads "degC", "°C", "K", "degF"
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
    text = prepare_unit_text(unit)
    if target == "degC":  # offset units: convert two points
        zero = float(ureg.Quantity(0.0, text).to(target).magnitude)
        one = float(ureg.Quantity(1.0, text).to(target).magnitude)
        return one - zero, zero
    return float(ureg.Quantity(1.0, text).to(target).magnitude), 0.0


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
    quarantine: bool = True,
) -> ReadingBatchResult:
    """Store a batch of readings for one organisation. The caller commits (one transaction per batch).
    `quarantine=False` reports problems without writing quarantine rows (a replay of a row already there)."""
    result = ReadingBatchResult(received=len(readings))
    if not readings:
        return result
    now = now or utcnow()
    names = {r.meter for r in readings}
    query = sa.select(Meter).where(Meter.organization_id == organization_id, Meter.name.in_(names))
    meters = {m.name: m for m in session.scalars(query)}
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
                    organization_id=organization_id,
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
    if bad and quarantine:
        session.add_all(bad)
    if rows:
        inserted = _insert_new(session, rows, now)
        result.stored = len(inserted)
        result.duplicates += len(rows) - len(inserted)
        _rollup(session, {key: rows[key] for key in inserted})
        touched: dict[str, list[datetime]] = {}
        for meter_id, ts in inserted:
            touched.setdefault(meter_id, []).append(ts)
        by_id = {m.id: m for m in meters.values()}
        for meter_id, times in touched.items():
            latest = max(times)
            meter = by_id[meter_id]
            if meter.last_reading_at is None or latest >= _as_utc(meter.last_reading_at):
                meter.last_reading_at = latest
                meter.last_value_si = rows[(meter_id, latest)]
        result.meters = set(touched)
    session.flush()
    for outcome in ("stored", "duplicates", "quarantined"):
        if count := getattr(result, outcome):
            METER_READINGS.labels(outcome).inc(count)
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
                            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF meter_readings "
                            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                        )
                    )
            except sa.exc.DBAPIError:
                # Rows of that month already sit in the default partition: keep using it.
                pass
        _PARTITIONS.add((url, year, month))


def _insert_new(session: Session, rows: dict[tuple[str, datetime], float], now: datetime) -> list[tuple[str, datetime]]:
    """Insert the readings not already stored; returns the keys of those that went in."""
    dialect = session.get_bind().dialect.name
    values = [{"meter_id": m, "ts": ts, "value_si": v, "received_at": now} for (m, ts), v in rows.items()]
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        _ensure_partitions(session, {(ts.year, ts.month) for _, ts in rows})
        statement: Any = pg_insert(MeterReading).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(MeterReading).on_conflict_do_nothing(index_elements=["meter_id", "ts"])
    inserted: list[tuple[str, datetime]] = []
    returning = statement.returning(MeterReading.meter_id, MeterReading.ts)
    for start in range(0, len(values), 5000):
        # RETURNING names the rows that went in (executemany's rowcount is not reliable across drivers)
        inserted.extend((m, _as_utc(ts)) for m, ts in session.execute(returning, values[start : start + 5000]))
    return inserted


def _bucket(ts: datetime, period: str) -> datetime:
    ts = _as_utc(ts)
    if period == "hour":
        return ts.replace(minute=0, second=0, microsecond=0)
    return ts.replace(hour=0, minute=0, second=0, microsecond=0)


def _rollup(session: Session, fresh: dict[tuple[str, datetime], float]) -> None:
    """Add newly stored readings to their hourly and daily buckets: one upsert per batch, whatever the number of
    meters (count and total add up, min and max widen, the mean is total / count). Only readings that were really
    inserted come here, so a redelivered reading is never counted twice."""
    if not fresh:
        return
    buckets: dict[tuple[str, str, datetime], list[float]] = {}
    for (meter_id, ts), value in fresh.items():
        for period in ("hour", "day"):
            key = (meter_id, period, _bucket(ts, period))
            agg = buckets.get(key)
            if agg is None:
                buckets[key] = [1, value, value, value]
            else:
                agg[0] += 1
                agg[1] += value
                agg[2] = min(agg[2], value)
                agg[3] = max(agg[3], value)
    values = [
        {
            "meter_id": m,
            "period": p,
            "start": start,
            "count": int(c),
            "total": t,
            "mean": t / c,
            "minimum": lo,
            "maximum": hi,
        }
        for (m, p, start), (c, t, lo, hi) in buckets.items()
    ]
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement: Any = pg_insert(ReadingRollup)
        lower: Any = sa.func.least
        upper: Any = sa.func.greatest
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(ReadingRollup)
        lower, upper = sa.func.min, sa.func.max  # SQLite's scalar min(a, b) and max(a, b)
    new, table = statement.excluded, ReadingRollup.__table__.c
    statement = statement.on_conflict_do_update(
        index_elements=["meter_id", "period", "start"],
        set_={
            "count": table.count + new.count,
            "total": table.total + new.total,
            "mean": (table.total + new.total) / (table.count + new.count),
            "minimum": lower(table.minimum, new.minimum),
            "maximum": upper(table.maximum, new.maximum),
        },
    )
    for start in range(0, len(values), 2000):
        session.execute(statement, values[start : start + 2000])


# --- from readings to the flow -------------------------------------------------------------------------------------

MIN_HOURS = 24  # a flow becomes `measured` once a meter has covered at least a day
WINDOW_DAYS = 365  # the measured quantity and profile use the last year of readings
REMATCH_CHANGE = 0.2  # a measured quantity this far (relative) from the declared one re-matches the flow
UPTIME_SHARE = 0.05  # an hour counts as "running" when its mean is above 5 % of the overall mean

# Which meter quantity measures which flow quantity kind (turash.kit.units.QuantityKind), and how: a rate meter's
# mean is the flow's rate; a counter's increase over the time covered is.
_RATE_FOR_KIND = {"volume_rate": "flow_rate", "mass_rate": "mass_rate", "power": "power"}
_COUNTER_FOR_KIND = {"power": "energy", "mass_rate": "quantity"}


@dataclass
class FlowRefresh:
    flow_id: str
    meter_id: str
    hours: int
    updated: list[str] = field(default_factory=list)  # the flow fields changed
    previous_si: float | None = None
    measured_si: float | None = None
    relative_change: float | None = None
    rematch: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "meter_id": self.meter_id,
            "hours": self.hours,
            "updated": self.updated,
            "previous_si": self.previous_si,
            "measured_si": self.measured_si,
            "relative_change": self.relative_change,
            "rematch": self.rematch,
            "note": self.note,
        }


def _factors(means: dict[int, list[float]], size: int, overall: float) -> list[float | None]:
    """Each slot's mean over the overall mean (1.0 = average); None where no reading fell."""
    out: list[float | None] = []
    for slot in range(size):
        values = means.get(slot)
        out.append(round(sum(values) / len(values) / overall, 3) if values and overall else None)
    return out


def refresh_flow(session: Session, meter: Meter, *, now: datetime | None = None) -> FlowRefresh | None:
    """Update the meter's flow from its rollups: measured quantity (or temperature), availability profile,
    precision `measured`. Returns what changed, or None when the meter has no flow or too little data yet."""
    if meter.flow_id is None:
        return None
    from turash.models import ResourceFlow

    flow = session.get(ResourceFlow, meter.flow_id)
    if flow is None:
        return None
    now = now or utcnow()
    since = now - timedelta(days=WINDOW_DAYS)
    hourly = session.execute(
        sa.select(ReadingRollup.start, ReadingRollup.mean, ReadingRollup.minimum, ReadingRollup.maximum)
        .where(ReadingRollup.meter_id == meter.id, ReadingRollup.period == "hour", ReadingRollup.start >= since)
        .order_by(ReadingRollup.start)
    ).all()
    refresh = FlowRefresh(flow_id=flow.id, meter_id=meter.id, hours=len(hourly))
    if len(hourly) < MIN_HOURS:
        refresh.note = f"{len(hourly)} hours of readings; the flow is updated from {MIN_HOURS}"
        return refresh
    first, last = _as_utc(hourly[0].start), _as_utc(hourly[-1].start)
    rate: float | None = None
    if meter.quantity == "temperature":
        mean_c = sum(h.mean for h in hourly) / len(hourly)
        if flow.temperature_c is None or abs(flow.temperature_c - mean_c) > 0.05:
            flow.temperature_c = round(mean_c, 2)
            refresh.updated.append("temperature_c")
    elif meter.quantity == _RATE_FOR_KIND.get(flow.quantity_kind or ""):
        rate = sum(h.mean for h in hourly) / len(hourly)
    elif meter.quantity == _COUNTER_FOR_KIND.get(flow.quantity_kind or ""):
        elapsed = (last - first).total_seconds() + 3600
        rate = max(hourly[-1].maximum - hourly[0].minimum, 0.0) / elapsed
    else:
        refresh.note = f"a {meter.quantity} meter does not measure a {flow.quantity_kind or 'quantity-less'} flow"
    if rate is None or not flow.unit:  # a temperature meter, or one that does not measure this flow's quantity
        session.flush()
        return refresh
    refresh.previous_si, refresh.measured_si = flow.quantity_si, rate
    if flow.quantity_si:
        refresh.relative_change = round(abs(rate - flow.quantity_si) / abs(flow.quantity_si), 4)
    if flow.quantity_si is None or refresh.relative_change is None or refresh.relative_change > 1e-6:
        flow.quantity_si = rate
        flow.quantity = round(from_si(rate, flow.unit), 6)
        flow.quantity_min = flow.quantity_max = None  # a measured quantity has no declared range
        refresh.updated.append("quantity")
    refresh.rematch = refresh.relative_change is None or refresh.relative_change > REMATCH_CHANGE
    if meter.quantity in _RATE_FOR_KIND.values():  # a counter's hourly values rise; they are no profile
        overall = sum(h.mean for h in hourly) / len(hourly)
        monthly: dict[int, list[float]] = {}
        by_hour: dict[int, list[float]] = {}
        running = 0
        for h in hourly:
            start = _as_utc(h.start)
            monthly.setdefault(start.month - 1, []).append(h.mean)
            by_hour.setdefault(start.hour, []).append(h.mean)
            running += abs(h.mean) > UPTIME_SHARE * abs(overall)
        flow.availability_profile = {
            "meter_id": meter.id,
            "quantity": meter.quantity,
            "from": first.isoformat(),
            "to": (last + timedelta(hours=1)).isoformat(),
            "hours": len(hourly),
            "mean_si": overall,
            "uptime": round(running / len(hourly), 3),
            "monthly": _factors(monthly, 12, overall),
            "hourly": _factors(by_hour, 24, overall),
        }
        refresh.updated.append("availability_profile")
    if flow.precision != "measured":  # the quantity is now measured
        flow.precision = "measured"
        refresh.updated.append("precision")
        refresh.rematch = True
    flow.measured_at = now
    session.flush()
    return refresh


def refresh_meters(
    session: Session, meter_ids: set[str], *, now: datetime | None = None, min_interval_s: float = 0.0
) -> list[FlowRefresh]:
    """Refresh the flows of these meters; a flow refreshed less than `min_interval_s` ago waits (streams send
    readings every second; the flow does not need recomputing as often)."""
    from turash.models import ResourceFlow

    now = now or utcnow()
    done: list[FlowRefresh] = []
    # one query for the meters and their flows (refresh_flow then finds each flow in the session)
    pairs = session.execute(
        sa.select(Meter, ResourceFlow)
        .join(ResourceFlow, ResourceFlow.id == Meter.flow_id)
        .where(Meter.id.in_(meter_ids))
    ).all()
    for meter, flow in pairs:
        measured = flow.measured_at
        if min_interval_s > 0 and measured is not None and (now - _as_utc(measured)).total_seconds() < min_interval_s:
            continue
        refresh = refresh_flow(session, meter, now=now)
        if refresh is not None:
            done.append(refresh)
    return done
