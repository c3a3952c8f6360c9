"""Analytics: KPIs of a region, an organisation or a facilitator, monthly time series, and what the exports read.

Definitions (docs/analytics.md has them with their sources):
- flows listed: flows of the scope, by direction and category; flows inferred from sector profiles are counted apart
  (nobody listed them).
- matches found: stored matches (the audit trail of served matches, turash.models.match) of the scope, by route.
- proposals by state and conversion: sent = every proposal past `draft`; accepted = accepted or any later state
  (in_negotiation, agreed, failed, implemented); agreed = agreed or implemented. acceptance = accepted / sent,
  agreement = agreed / accepted, conversion = agreed / sent, proposal rate = matches proposed / matches found.
- exchanged: per agreed or implemented proposal, the smaller of the supply's and the demand's yearly quantity in the
  supply's quantity family, exactly as turash.matching.economics prices a match; converted with the one pint
  registry (turash.kit.units) to GWh/yr (energy, power), t/yr (mass) and m3/yr (volume). A quantity without a rate
  (t, GWh) is read as per year, as the matching engine does.
- CO2 avoided and money saved: the sums of the economics stored in each proposal's snapshot (the match's business
  case by turash.economics when it was proposed): `co2_avoided_t_per_year` and `npv_eur` (net present value over
  the appraisal period; 4 % real, 20 years unless the operator changed them).

Confidentiality: KPIs are aggregates. A region's exchanged totals (quantities, CO2, NPV) are given only when the
exchanges involve at least `MIN_ORGANISATIONS` organisations or every one of them is the caller's own or public
(else `suppressed`), and its top exchanges show another private party as "private organisation" with a quantity
band instead of its quantity, as a proposal shows the other party before agreement (turash.proposals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pycountry
from sqlalchemy.orm import Session

from turash.analytics import repository
from turash.analytics.repository import EXCHANGED_STATES, ExchangeRow, Scope
from turash.kit.codes import normalise_country
from turash.kit.errors import ValidationFailed
from turash.kit.geo import BBox
from turash.kit.units import from_si
from turash.models import Organization, ResourceFlow
from turash.models.flow import CATEGORIES
from turash.models.proposal import PROPOSAL_STATES
from turash.proposals.bands import band
from turash.reference.datasets import attribution_for

MIN_ORGANISATIONS = 3
ACCEPTED_STATES = ("accepted", "in_negotiation", "agreed", "failed", "implemented")
ANONYMOUS = "private organisation"
# quantity kind (turash.kit.units.QuantityKind) → (family, the unit a person reads per year)
_PER_YEAR = {
    "power": ("energy", "GWh/yr"),
    "energy": ("energy", "GWh"),
    "mass_rate": ("mass", "t/yr"),
    "mass": ("mass", "t"),
    "volume_rate": ("volume", "m3/yr"),
    "volume": ("volume", "m3"),
}
FAMILY_UNITS = {"energy": "GWh/yr", "mass": "t/yr", "volume": "m3/yr"}
_QUANTITY_EDGES = (1, 10, 100, 1_000, 10_000, 100_000, 1_000_000)


# --- scopes ---------------------------------------------------------------------------------------------------------
def region_scope(country: str | None, bbox: str | None, name: str | None = None) -> Scope:
    """A region from a country (code or name) and/or a `min_lon,min_lat,max_lon,max_lat` box; `name` labels it
    (a municipality's name in its report)."""
    if not country and not bbox:
        raise ValidationFailed(
            "a region needs `country` and/or `bbox`",
            details=[{"field": "country", "message": "give a country or a bbox"}],
        )
    try:
        code = normalise_country(country) if country else None
    except ValueError as exc:
        raise ValidationFailed(str(exc), details=[{"field": "country", "message": str(exc)}]) from None
    try:
        box = BBox.parse(bbox) if bbox else None
    except ValueError as exc:
        raise ValidationFailed(str(exc), details=[{"field": "bbox", "message": str(exc)}]) from None
    return Scope("region", name or _region_label(code, box), country=code, bbox=box)


def _region_label(code: str | None, box: BBox | None) -> str:
    parts = []
    if code:
        found = pycountry.countries.get(alpha_2=code)
        parts.append(found.name if found else code)
    if box:
        parts.append(f"bbox {box.min_lon:g},{box.min_lat:g},{box.max_lon:g},{box.max_lat:g}")
    return ", ".join(parts)


def organization_scope(org: Organization) -> Scope:
    return Scope("organization", org.name, organization_id=org.id)


def facilitator_scope(org: Organization) -> Scope:
    return Scope("facilitator", org.name, organization_id=org.id)


# --- exchanged quantity ---------------------------------------------------------------------------------------------
def yearly_amount(flow: ResourceFlow | None) -> tuple[str, float] | None:
    """(family, amount per year in FAMILY_UNITS) of a flow, or None without a usable quantity."""
    if flow is None or flow.quantity_si is None or flow.quantity_kind not in _PER_YEAR:
        return None
    if not math.isfinite(flow.quantity_si):
        return None
    family, unit = _PER_YEAR[flow.quantity_kind]
    return family, abs(from_si(flow.quantity_si, unit))


def exchanged_amount(supply: ResourceFlow | None, demand: ResourceFlow | None) -> tuple[str, float] | None:
    """What an exchange moves per year: the smaller of both sides in the supply's family (the demand's when the
    supply has no quantity), as turash.matching.economics.columns computes the case it prices."""
    s, d = yearly_amount(supply), yearly_amount(demand)
    if s is None:
        return d
    if d is not None and d[0] == s[0]:
        return s[0], min(s[1], d[1])
    return s


# --- KPIs -----------------------------------------------------------------------------------------------------------
def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


@dataclass(frozen=True)
class Viewer:
    """Whose eyes: the organisations whose private details the caller may see (its own), and whether it is a
    platform administrator (who sees everything)."""

    own: frozenset[str]
    is_admin: bool = False

    def sees(self, org: Organization | None) -> bool:
        return org is not None and (self.is_admin or org.id in self.own or org.source == "register")


SYSTEM = Viewer(frozenset(), is_admin=True)  # the CLI: an operator on the database itself


def _flows_block(session: Session, scope: Scope) -> dict[str, Any]:
    by_category: dict[str, dict[str, int]] = {}
    listed = {"supply": 0, "demand": 0}
    inferred = 0
    for direction, category, is_inferred, n in repository.flow_counts(session, scope):
        if is_inferred:
            inferred += n
            continue
        listed[direction] = listed.get(direction, 0) + n
        cell = by_category.setdefault(category or "unknown", {"supply": 0, "demand": 0})
        cell[direction] += n
    order = {c: i for i, c in enumerate((*CATEGORIES, "unknown"))}
    return {
        "listed": listed["supply"] + listed["demand"],
        "supply": listed["supply"],
        "demand": listed["demand"],
        "inferred": inferred,
        "by_category": dict(sorted(by_category.items(), key=lambda kv: order.get(kv[0], 99))),
    }


def _proposals_block(session: Session, scope: Scope, matches_found: int) -> dict[str, Any]:
    counts = repository.proposal_counts(session, scope)
    by_state = {s: counts.get(s, 0) for s in PROPOSAL_STATES}
    total = sum(by_state.values())
    sent = total - by_state["draft"]
    accepted = sum(by_state[s] for s in ACCEPTED_STATES)
    agreed = sum(by_state[s] for s in EXCHANGED_STATES)
    proposed = repository.proposed_match_count(session, scope)
    return {
        "total": total,
        "by_state": by_state,
        "sent": sent,
        "accepted": accepted,
        "agreed": agreed,
        "rates": {
            "proposal_rate": _rate(proposed, matches_found),
            "acceptance_rate": _rate(accepted, sent),
            "agreement_rate": _rate(agreed, accepted),
            "conversion_rate": _rate(agreed, sent),
        },
    }


def _parties(row: ExchangeRow) -> set[str]:
    p = row.proposal
    return {p.proposer_org_id, p.receiver_org_id}


def _exchanged_block(rows: list[ExchangeRow]) -> dict[str, Any]:
    totals = {"energy": 0.0, "mass": 0.0, "volume": 0.0}
    co2 = npv = 0.0
    without_quantity = with_co2 = with_npv = 0
    for row in rows:
        amount = exchanged_amount(row.supply, row.demand)
        if amount is None:
            without_quantity += 1
        else:
            totals[amount[0]] += amount[1]
        economics = (row.proposal.snapshot or {}).get("economics") or {}
        if economics.get("co2_avoided_t_per_year") is not None:
            co2 += float(economics["co2_avoided_t_per_year"])
            with_co2 += 1
        if economics.get("npv_eur") is not None:
            npv += float(economics["npv_eur"])
            with_npv += 1
    return {
        "exchanges": len(rows),
        "implemented": sum(r.proposal.status == "implemented" for r in rows),
        "energy_gwh_per_year": round(totals["energy"], 6),
        "mass_t_per_year": round(totals["mass"], 6),
        "volume_m3_per_year": round(totals["volume"], 6),
        "without_quantity": without_quantity,
        "co2_avoided_t_per_year": round(co2, 3),
        "with_co2": with_co2,
        "npv_eur": round(npv, 2),
        "with_npv": with_npv,
    }


def _may_see_totals(rows: list[ExchangeRow], orgs: dict[str, Organization], viewer: Viewer) -> bool:
    """Totals are shown when they blend at least MIN_ORGANISATIONS organisations' figures, or when every exchange
    in them is open to the caller anyway (it is a party, or both parties are its own or public)."""
    involved = set().union(*(_parties(r) for r in rows)) if rows else set()
    if viewer.is_admin or len(involved) >= MIN_ORGANISATIONS:
        return True
    return all(_open_to(r, orgs, viewer) for r in rows)


def _open_to(row: ExchangeRow, orgs: dict[str, Organization], viewer: Viewer) -> bool:
    return viewer.is_admin or bool(_parties(row) & viewer.own) or all(viewer.sees(orgs.get(o)) for o in _parties(row))


def _party(org: Organization | None, viewer: Viewer, party: bool) -> dict[str, Any]:
    if org is None:
        return {"organization": None, "sector": None}
    if party or viewer.sees(org):
        return {"organization": org.name, "sector": org.nace}
    return {"organization": ANONYMOUS, "sector": org.nace}


def _top(rows: list[ExchangeRow], orgs: dict[str, Organization], viewer: Viewer, limit: int) -> list[dict[str, Any]]:
    """The largest exchanges by NPV (then quantity). A row whose parties the caller is not among and cannot see
    shows them by sector, the quantity as a band, and no money figures."""

    def npv_of(row: ExchangeRow) -> float:
        value = ((row.proposal.snapshot or {}).get("economics") or {}).get("npv_eur")
        return float(value) if value is not None else -math.inf

    out = []
    for row in sorted(rows, key=lambda r: (-npv_of(r), r.proposal.id))[:limit]:
        p = row.proposal
        snap = p.snapshot or {}
        orgs_of = snap.get("_orgs") or {}
        supply_org, demand_org = orgs.get(orgs_of.get("supply", "")), orgs.get(orgs_of.get("demand", ""))
        party = viewer.is_admin or bool(_parties(row) & viewer.own)
        open_ = _open_to(row, orgs, viewer)
        amount = exchanged_amount(row.supply, row.demand)
        unit = FAMILY_UNITS[amount[0]] if amount else None
        economics = snap.get("economics") or {}
        out.append(
            {
                "proposal_id": p.id if party else None,
                "status": p.status,
                "category": snap.get("category") or (row.supply.category if row.supply else None),
                "supply": {"resource": (snap.get("supply") or {}).get("resource"), **_party(supply_org, viewer, party)},
                "demand": {"resource": (snap.get("demand") or {}).get("resource"), **_party(demand_org, viewer, party)},
                "quantity": (round(amount[1], 3) if open_ else None) if amount else None,
                "quantity_band": band(amount[1], _QUANTITY_EDGES, unit or "") if amount and not open_ else None,
                "unit": unit,
                "co2_avoided_t_per_year": economics.get("co2_avoided_t_per_year") if open_ else None,
                "npv_eur": economics.get("npv_eur") if open_ else None,
                "agreed_at": row.agreed_at.isoformat() if row.agreed_at else None,
            }
        )
    return out


def kpis(session: Session, scope: Scope, viewer: Viewer, *, top: int = 10) -> dict[str, Any]:
    """Every KPI of a scope (see the module text for the definitions)."""
    matches = repository.match_counts(session, scope)
    found = sum(matches.values())
    rows = repository.exchanges(session, scope)
    org_ids = {o for r in rows for o in _parties(r)}
    org_ids |= {o for r in rows for o in ((r.proposal.snapshot or {}).get("_orgs") or {}).values() if o}
    orgs = repository.organizations(session, org_ids)
    exchanged = _exchanged_block(rows)
    if scope.kind == "region" and not _may_see_totals(rows, orgs, viewer):
        exchanged = {
            "exchanges": exchanged["exchanges"],
            "implemented": exchanged["implemented"],
            "suppressed": True,
            "reason": f"fewer than {MIN_ORGANISATIONS} organisations take part: totals would disclose their figures",
        }
    else:
        exchanged["suppressed"] = False
    out: dict[str, Any] = {
        "scope": scope.kind,
        "label": scope.label,
        "region": {"country": scope.country, "bbox": _bbox_list(scope.bbox)} if scope.kind == "region" else None,
        "organization_id": scope.organization_id,
        "generated_at": datetime.now(UTC).isoformat(),
        "flows": _flows_block(session, scope),
        "matches": {
            "found": found,
            "automated": matches.get("automated", 0),
            "facilitated": matches.get("facilitated", 0),
        },
        "proposals": _proposals_block(session, scope, found),
        "exchanged": exchanged,
        "top_exchanges": _top(rows, orgs, viewer, top),
        "attribution": attribution(session, scope),
    }
    if scope.kind == "facilitator":
        assert scope.organization_id is not None
        cases = repository.case_counts(session, scope.organization_id)
        decided = cases.get("agreed", 0) + cases.get("failed", 0)
        out["cases"] = {
            "claimed": cases.get("claimed", 0),
            "agreed": cases.get("agreed", 0),
            "failed": cases.get("failed", 0),
            "success_rate": _rate(cases.get("agreed", 0), decided),
        }
    return out


def _bbox_list(box: BBox | None) -> list[float] | None:
    return None if box is None else [box.min_lon, box.min_lat, box.max_lon, box.max_lat]


def attribution(session: Session, scope: Scope) -> str | None:
    """The credit owed to the public registers (Hotmaps, E-PRTR, ...) whose organisations the figures include."""
    texts = dict.fromkeys(t for ref in repository.register_sources(session, scope) if (t := attribution_for(ref)))
    return "Includes data from: " + "; ".join(texts) if texts else None


# --- time series ----------------------------------------------------------------------------------------------------
def months(start: date, end: date) -> list[str]:
    """'YYYY-MM' of every month from the one holding `start` to the one holding `end`, both included."""
    y, m = start.year, start.month
    out = []
    while (y, m) <= (end.year, end.month):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


MAX_MONTHS = 240


def month_range(since: date | None, until: date | None, today: date | None = None) -> tuple[date, date]:
    """The months asked for: default the twelve up to and including this one."""
    today = today or datetime.now(UTC).date()
    end = until or today
    if since is None:
        year, month = (end.year, end.month - 11) if end.month == 12 else (end.year - 1, end.month + 1)
        start = date(year, month, 1)
    else:
        start = since
    if start > end:
        raise ValidationFailed(
            "`from` is after `to`", details=[{"field": "from", "message": f"{start} is after {end}"}]
        )
    if len(months(start, end)) > MAX_MONTHS:
        raise ValidationFailed(
            f"at most {MAX_MONTHS} months per time series",
            details=[{"field": "from", "message": "range too long"}],
        )
    return start, end


SERIES = ("flows_listed", "matches_found", "proposals_created", "proposals_agreed")


def timeseries(
    session: Session, scope: Scope, viewer: Viewer, since: date | None = None, until: date | None = None
) -> dict[str, Any]:
    """Monthly buckets (UTC) of flows listed, matches found, proposals created and agreed, and the quantities
    agreed that month (GWh/yr, t/yr, m3/yr of the exchanges agreed in it)."""
    first, last = month_range(since, until)
    labels = months(first, last)
    start = datetime(first.year, first.month, 1, tzinfo=UTC)
    ny, nm = (last.year + 1, 1) if last.month == 12 else (last.year, last.month + 1)
    end = datetime(ny, nm, 1, tzinfo=UTC)
    counts = repository.monthly_counts(session, scope, start, end)
    buckets: dict[str, dict[str, Any]] = {
        m: {
            "month": m,
            **{s: counts[s].get(m, 0) for s in SERIES},
            "energy_gwh_per_year": 0.0,
            "mass_t_per_year": 0.0,
            "volume_m3_per_year": 0.0,
        }
        for m in labels
    }
    rows = repository.exchanges(session, scope)
    orgs = repository.organizations(session, {o for r in rows for o in _parties(r)})
    hidden = scope.kind == "region" and not _may_see_totals(rows, orgs, viewer)
    if not hidden:
        key = {"energy": "energy_gwh_per_year", "mass": "mass_t_per_year", "volume": "volume_m3_per_year"}
        for row in rows:
            if row.agreed_at is None:
                continue
            at = row.agreed_at if row.agreed_at.tzinfo else row.agreed_at.replace(tzinfo=UTC)
            month = f"{at.astimezone(UTC):%Y-%m}"
            amount = exchanged_amount(row.supply, row.demand)
            if month in buckets and amount is not None:
                buckets[month][key[amount[0]]] += amount[1]
    for b in buckets.values():
        for k in ("energy_gwh_per_year", "mass_t_per_year", "volume_m3_per_year"):
            b[k] = round(b[k], 6)
    return {
        "scope": scope.kind,
        "label": scope.label,
        "from": labels[0],
        "to": labels[-1],
        "quantities_suppressed": hidden,
        "months": list(buckets.values()),
    }


# --- flat rows for CSV / XLSX ---------------------------------------------------------------------------------------
def kpi_rows(report: dict[str, Any]) -> list[tuple[str, Any, str]]:
    """(metric, value, unit) of a KPI report, in a stable order: what CSV and XLSX export."""
    rows: list[tuple[str, Any, str]] = [("scope", report["scope"], ""), ("label", report["label"], "")]
    f = report["flows"]
    rows += [
        ("flows.listed", f["listed"], "flows"),
        ("flows.supply", f["supply"], "flows"),
        ("flows.demand", f["demand"], "flows"),
        ("flows.inferred", f["inferred"], "flows"),
    ]
    for category, cell in f["by_category"].items():
        rows += [
            (f"flows.{category}.supply", cell["supply"], "flows"),
            (f"flows.{category}.demand", cell["demand"], "flows"),
        ]
    m = report["matches"]
    rows += [(f"matches.{k}", m[k], "matches") for k in ("found", "automated", "facilitated")]
    p = report["proposals"]
    rows += [(f"proposals.{s}", n, "proposals") for s, n in p["by_state"].items()]
    rows += [(f"proposals.{k}", p[k], "proposals") for k in ("total", "sent", "accepted", "agreed")]
    rows += [(f"rates.{k}", v, "ratio") for k, v in p["rates"].items()]
    e = report["exchanged"]
    units = {
        "energy_gwh_per_year": "GWh/yr",
        "mass_t_per_year": "t/yr",
        "volume_m3_per_year": "m3/yr",
        "co2_avoided_t_per_year": "t CO2e/yr",
        "npv_eur": "EUR",
        "exchanges": "proposals",
        "implemented": "proposals",
        "without_quantity": "proposals",
        "with_co2": "proposals",
        "with_npv": "proposals",
    }
    for k, unit in units.items():
        if k in e:
            rows.append((f"exchanged.{k}", e[k], unit))
    if e.get("suppressed"):
        rows.append(("exchanged.suppressed", True, e["reason"]))
    for k, v in (report.get("cases") or {}).items():
        rows.append((f"cases.{k}", v, "ratio" if k.endswith("rate") else "cases"))
    return rows


def series_columns() -> tuple[str, ...]:
    return ("month", *SERIES, "energy_gwh_per_year", "mass_t_per_year", "volume_m3_per_year")


def own_organizations(session: Session, user_id: str, api_key_org: str | None) -> frozenset[str]:
    from turash.organizations.repository import organizations_of_user

    if api_key_org is not None:
        return frozenset({api_key_org})
    return frozenset(org.id for org, _ in organizations_of_user(session, user_id))
