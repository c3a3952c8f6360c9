"""Data quality: a score per flow and per organisation, and the concrete actions that would raise it.

Matching is only as good as what it is told: a heat flow without a temperature cannot be checked against a
district heating network's supply temperature, a rough quantity cannot be priced. Each flow gets four parts, 0..1:
- completeness: the fields its category needs to be matched and priced (temperature for heat, pressure for steam,
  EWC code for a material supply, quantity and unit, a schedule or availability window),
- precision: rough 0.3, estimated 0.6, measured (backed by a meter) 1.0,
- plausibility: the temperature inside the band the catalogue gives its class, the class expected in the site's
  sector profile (turash/sectors), the quantity within a factor 10 of the profile's range for the site's size,
- freshness: 1.0 when confirmed or measured within a year, falling linearly to 0.3 at three years.
The weights (0.4, 0.25, 0.2, 0.15) are Turash's own rubric, chosen so that what a user can fix in a minute (a
missing field) counts most; they are not taken from a published standard.
An organisation's score is the mean of its flows' scores, and its actions are sorted by how much they would raise it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.models import Meter, ResourceFlow, Site
from turash.models.base import as_utc, utcnow

WEIGHTS = {"completeness": 0.4, "precision": 0.25, "plausibility": 0.2, "freshness": 0.15}
PRECISION_SCORE = {"rough": 0.3, "estimated": 0.6, "measured": 1.0}
SECONDS_PER_YEAR = 365.25 * 86400
# Sector profiles state yearly amounts (t/yr, GWh/yr, m3/yr); flows are stored as SI rates.
_PROFILE_TO_SI = {
    "mass": 1000.0 / SECONDS_PER_YEAR,
    "energy": 3.6e12 / SECONDS_PER_YEAR,
    "volume": 1 / SECONDS_PER_YEAR,
}
_PROFILE_KIND = {"mass_rate": "mass", "power": "energy", "volume_rate": "volume"}
METERED_CATEGORIES = ("heat", "steam", "water", "gas", "energy")


@dataclass
class Action:
    flow_id: str | None
    action: str  # add_temperature | add_pressure | add_ewc | add_quantity | add_schedule | connect_meter | ...
    message: str
    gain: float  # how much the organisation's score would rise, 0..1

    def as_dict(self) -> dict[str, Any]:
        return {"flow_id": self.flow_id, "action": self.action, "message": self.message, "gain": round(self.gain, 4)}


@dataclass
class FlowQuality:
    flow_id: str
    score: float
    parts: dict[str, float]
    missing: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow_id": self.flow_id,
            "score": round(self.score, 3),
            "parts": {k: round(v, 3) for k, v in self.parts.items()},
            "missing": self.missing,
            "notes": self.notes,
        }


def _needed(flow: ResourceFlow) -> list[str]:
    """The fields a flow of this category and direction needs to be matched and priced."""
    needed = ["quantity", "schedule"]
    if flow.category in ("heat", "steam", "water"):
        needed.append("temperature_c")
    if flow.category in ("steam", "gas"):
        needed.append("pressure_bar")
    if flow.category in ("material", "gas", "water") and flow.direction == "supply":
        needed.append("purity_pct" if flow.category != "material" else "ewc_code")
    if flow.direction == "supply" and flow.category == "material":
        needed.append("price_eur_per_unit")
    return needed


def _present(flow: ResourceFlow, name: str) -> bool:
    if name == "quantity":
        return flow.quantity is not None and bool(flow.unit)
    if name == "schedule":
        return bool(flow.schedule) or flow.available_from is not None or flow.availability_profile is not None
    return getattr(flow, name) not in (None, "")


_LABELS = {
    "quantity": ("add_quantity", "add the quantity and its unit"),
    "schedule": ("add_schedule", "say when it is available (a schedule such as 24/7, or dates)"),
    "temperature_c": ("add_temperature", "add the temperature"),
    "pressure_bar": ("add_pressure", "add the pressure"),
    "purity_pct": ("add_purity", "add the purity"),
    "ewc_code": ("add_ewc", "add the EWC waste code"),
    "price_eur_per_unit": ("add_price", "add the price or disposal cost per unit"),
}


def _plausibility(flow: ResourceFlow, site: Site | None, notes: list[str]) -> float:
    from turash.catalog.service import get_catalog
    from turash.sectors.service import profile_for

    checks: list[float] = []
    if flow.resource_class is None:
        notes.append("the resource was not recognised: name it the way the trade does, or give its EWC code")
        checks.append(0.3)
    else:
        catalog = get_catalog()
        cls = catalog.get(flow.resource_class) if flow.resource_class in catalog else None
        band = cls.band if cls is not None else None
        if band is not None and band.temperature_c is not None and flow.temperature_c is not None:
            ok = band.contains_temperature(flow.temperature_c)
            checks.append(1.0 if ok else 0.2)
            if not ok:
                notes.append(f"{flow.temperature_c:g} °C is outside the band of class {flow.resource_class}")
        profile = profile_for(site.nace) if site is not None and site.nace else None
        if profile is not None:
            expected = {f.class_id: f for f in profile.profile.flows(flow.direction)}  # type: ignore[arg-type]
            spec = expected.get(flow.resource_class)
            if spec is None:
                checks.append(0.7)
                notes.append(f"{flow.resource_class} is unusual for sector {profile.code} ({profile.profile.name})")
            else:
                checks.append(1.0)
                per_employee = spec.quantities.get("per_employee")
                kind = _PROFILE_KIND.get(flow.quantity_kind or "")
                if per_employee is not None and kind == per_employee.kind and site is not None and flow.quantity_si:
                    employees = site.employees
                    if employees:
                        _, low, high = per_employee.scaled(float(employees))
                        factor = _PROFILE_TO_SI[kind]
                        if not low * factor / 10 <= flow.quantity_si <= high * factor * 10:
                            checks.append(0.2)
                            notes.append(
                                f"the quantity is more than 10x outside what sector {profile.code} sites of "
                                f"{employees} employees have ({low:g}-{high:g} {per_employee.unit})"
                            )
    return sum(checks) / len(checks) if checks else 0.7


def _freshness(flow: ResourceFlow, now: datetime) -> float:
    latest = max(as_utc(flow.updated_at), as_utc(flow.measured_at) if flow.measured_at else as_utc(flow.updated_at))
    years = (now - latest) / timedelta(days=365.25)
    return 1.0 if years <= 1 else max(0.3, 1.0 - 0.35 * (years - 1))


def flow_quality(flow: ResourceFlow, site: Site | None, *, metered: bool, now: datetime | None = None) -> FlowQuality:
    now = now or utcnow()
    needed = _needed(flow)
    missing = [n for n in needed if not _present(flow, n)]
    notes: list[str] = []
    parts = {
        "completeness": 1 - len(missing) / len(needed),
        "precision": PRECISION_SCORE.get(flow.precision, 0.6),
        "plausibility": _plausibility(flow, site, notes),
        "freshness": _freshness(flow, now),
    }
    score = sum(WEIGHTS[k] * v for k, v in parts.items())
    quality = FlowQuality(flow.id, score, parts, missing, notes)
    where = f"{flow.resource!r}" + (f" at {site.name}" if site is not None else "")
    for name in missing:
        action, text = _LABELS[name]
        gain = WEIGHTS["completeness"] / len(needed)
        quality.actions.append(Action(flow.id, action, f"{text} of {where}", gain))
    if flow.precision != "measured" and flow.category in METERED_CATEGORIES and not metered:
        gain = WEIGHTS["precision"] * (1 - parts["precision"])
        quality.actions.append(
            Action(flow.id, "connect_meter", f"connect a meter to {where} (MQTT, OPC UA, Modbus)", gain)
        )
    elif flow.precision == "rough":
        gain = WEIGHTS["precision"] * (PRECISION_SCORE["estimated"] - parts["precision"])
        quality.actions.append(Action(flow.id, "estimate_quantity", f"replace the rough quantity of {where}", gain))
    if parts["freshness"] < 1.0:
        gain = WEIGHTS["freshness"] * (1 - parts["freshness"])
        quality.actions.append(Action(flow.id, "confirm", f"confirm {where} is still current", gain))
    return quality


def organization_quality(session: Session, organization_id: str, *, now: datetime | None = None) -> dict[str, Any]:
    """The organisation's score, each flow's, and the actions that would raise it most, best first."""
    rows = session.execute(
        sa.select(ResourceFlow, Site)
        .join(Site, Site.id == ResourceFlow.site_id)
        .where(ResourceFlow.organization_id == organization_id, ResourceFlow.inferred.is_(False))
        .order_by(ResourceFlow.created_at)
    ).all()
    metered = set(
        session.scalars(
            sa.select(Meter.flow_id).where(Meter.organization_id == organization_id, Meter.flow_id.is_not(None))
        )
    )
    flows = [flow_quality(f, s, metered=f.id in metered, now=now) for f, s in rows]
    actions: list[Action] = []
    for q in flows:
        for a in q.actions:
            actions.append(Action(a.flow_id, a.action, a.message, a.gain / len(flows)))
    if not flows:
        actions.append(Action(None, "add_flows", "list what your sites have (supply) and need (demand)", 1.0))
    actions.sort(key=lambda a: -a.gain)
    score = sum(q.score for q in flows) / len(flows) if flows else 0.0
    return {
        "organization_id": organization_id,
        "score": round(score, 3),
        "flows": len(flows),
        "measured_share": round(sum(f.precision == "measured" for f, _ in rows) / len(rows), 3) if rows else 0.0,
        "weights": WEIGHTS,
        "actions": [a.as_dict() for a in actions[:50]],
        "per_flow": [q.as_dict() for q in flows],
    }


# -- the import's quality stage -------------------------------------------------------------------------------------

_RECORD_FIELDS = (
    "category",
    "direction",
    "quantity",
    "unit",
    "schedule",
    "available_from",
    "temperature_c",
    "pressure_bar",
    "purity_pct",
    "ewc_code",
    "price_eur_per_unit",
    "precision",
    "resource_class",
    "quantity_kind",
)
_RECORD_MEMO: dict[tuple[Any, ...], FlowQuality] = {}
_RECORD_MEMO_LIMIT = 8192
# A record being imported is fresh (freshness 1.0) whatever the date: any fixed time serves as its "now".
_EPOCH_NOW = datetime(2000, 1, 1, tzinfo=UTC)
# What a record's quality depends on by value; of the other fields only whether they are set matters.
_KEYED = frozenset({"category", "direction", "precision", "resource_class", "temperature_c", "quantity_kind"})


def record_quality(values: dict[str, Any], nace: str | None) -> FlowQuality:
    """The quality of one flow record as an import writes it (`values` after `prepare`): `flow_quality` of a flow
    that is new (fresh), not metered, at a site of sector `nace` whose size is not known. Records repeat a few
    shapes (which fields are set, class, temperature), so results are remembered by what they depend on; the
    returned object is shared and must not be changed."""
    key = (
        nace,
        *(values.get(name) if name in _KEYED else values.get(name) is None for name in _RECORD_FIELDS),
    )
    found = _RECORD_MEMO.get(key)
    if found is not None:
        return found
    flow = SimpleNamespace(
        id=None,
        resource="this flow",  # the parts and missing fields do not depend on the words; only messages name them
        availability_profile=None,
        quantity_si=None,  # only judged against a sector profile with the site's size, unknown here
        updated_at=_EPOCH_NOW,
        measured_at=None,
        **{name: values.get(name) for name in _RECORD_FIELDS},
    )
    site = SimpleNamespace(nace=nace, employees=None, name="")
    quality = flow_quality(flow, site, metered=False, now=_EPOCH_NOW)  # type: ignore[arg-type]
    if len(_RECORD_MEMO) < _RECORD_MEMO_LIMIT:
        _RECORD_MEMO[key] = quality
    return quality



@dataclass
class QualitySummary:
    """The quality stage's figures for an import run: the mean score and parts, and how many records lack each
    field their category needs (what the run's report tells the user to add)."""

    records: int = 0
    total: float = 0.0
    parts: dict[str, float] = field(default_factory=lambda: dict.fromkeys(WEIGHTS, 0.0))
    missing: dict[str, int] = field(default_factory=dict)
    below_half: int = 0

    def add(self, score: float, parts: dict[str, float], missing: Sequence[str]) -> None:
        self.records += 1
        self.total += score
        for name, value in parts.items():
            self.parts[name] += value
        for name in missing:
            self.missing[name] = self.missing.get(name, 0) + 1
        if score < 0.5:
            self.below_half += 1

    def as_dict(self) -> dict[str, Any]:
        n = max(1, self.records)
        return {
            "records": self.records,
            "mean_score": round(self.total / n, 3) if self.records else None,
            "parts": {k: round(v / n, 3) for k, v in self.parts.items()} if self.records else {},
            "missing": dict(sorted(self.missing.items(), key=lambda kv: -kv[1])),
            "below_half": self.below_half,
        }
