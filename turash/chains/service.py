"""Chain use cases: a flow's chains, ad-hoc chain queries, chains by id, exchange cycles, chain proposals.

The register is read through the matching state (turash.matching.service.state: flows in the engine's arrays,
rebuilt when the data changes); service offerings are read per call (they are few) and turned into the chain
finder's `ServiceSpec`s (turash/chains/engine.py). Economics are priced by turash.economics; each party's share
follows the split rule of `engine.split_shares` (docs/chains.md).
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from turash.catalog import get_catalog
from turash.chains import engine
from turash.chains.engine import (
    Chains,
    Edge,
    Eligible,
    Rejection,
    ServiceIndex,
    ServiceSpec,
    SupplyContext,
    Transform,
)
from turash.chains.schemas import TransformDeclaration
from turash.economics import ExchangeCase, evaluate_many
from turash.kit.errors import NotFound, ValidationFailed
from turash.kit.units import UnitError, unit_info
from turash.matching import repository as matching_repository
from turash.matching import service as matching
from turash.matching.engine import MatchIndex, MatchParams, Reason
from turash.matching.repository import FlowInfo
from turash.matching.service import MatchingState, MatchRequest
from turash.models import Organization, ResourceFlow, ServiceOffering
from turash.models.flow import CATEGORIES

DEFAULT_TOP = 5
DEFAULT_RADIUS_KM = 50.0
RESOLVE_MIN_WEIGHT = 0.25  # a `resources` text names a class when the catalogue gives it at least this weight
CHAIN_PREFIX = "c"
_ID = 32


# --- service offerings as the finder reads them -----------------------------------------------------------------


def declaration(offering: ServiceOffering) -> TransformDeclaration | None:
    """The offering's transformation declaration; None when it is malformed (then the offering is skipped: new
    offerings are validated when saved, see turash/services/schemas.py)."""
    raw = (offering.attributes or {}).get("transform") or {}
    try:
        return TransformDeclaration.model_validate(raw)
    except ValidationError:
        return None


def spec_of(offering: ServiceOffering, key: int, org_code: int, class_index: Mapping[str, int]) -> ServiceSpec | None:
    """The finder's view of one offering, with the defaults of its kind (docs/chains.md)."""
    if offering.kind not in engine.KINDS:
        return None
    decl = declaration(offering)
    if decl is None:
        return None
    catalog = get_catalog()
    names = list(decl.input_classes)
    if not names:  # the offering's own words: "sewage sludge", "fly ash"...
        for text in offering.resources or []:
            resolution = catalog.resolve(text, direction="supply")
            names += [c.class_id for c in resolution.candidates if c.weight >= RESOLVE_MIN_WEIGHT]
    accepted: set[int] = set()
    for name in names:
        for cid in (name, *catalog.descendants(name)):
            if cid in class_index:
                accepted.add(class_index[cid])
    circle = offering.center_lat is not None and offering.center_lon is not None and offering.radius_km is not None
    kind = offering.kind
    mass_yield = decl.mass_yield or 1.0
    if decl.input_moisture_pct is not None and decl.output_moisture_pct is not None:
        mass_yield = (100.0 - decl.input_moisture_pct) / (100.0 - decl.output_moisture_pct)  # dry matter is kept
    transform = Transform(
        input_classes=frozenset(accepted),
        input_categories=frozenset(CATEGORIES.index(c) for c in decl.input_categories),
        output_class=class_index.get(decl.output_class) if decl.output_class else None,
        output_hazardous=decl.output_hazardous,
        output_purity_pct=decl.output_purity_pct,
        output_temperature_c=decl.output_temperature_c,
        min_source_temperature_c=decl.min_source_temperature_c,
        max_lift_k=decl.max_lift_k or engine.HP_MAX_LIFT_K,
        efficiency=decl.efficiency or engine.HP_EFFICIENCY,
        sink_spread_k=decl.sink_spread_k or engine.HP_SINK_SPREAD_K,
        mass_yield=mass_yield,
        removes_treatment_need=(
            decl.removes_treatment_need
            if decl.removes_treatment_need is not None
            else kind in ("treatment", "heat_pump")
        ),
        reach_km=decl.reach_km,
        all_year=decl.all_year if decl.all_year is not None else kind == "storage",
        storage_days=decl.storage_days or 0,
        at_plant=(decl.at_plant if decl.at_plant is not None else kind in ("treatment", "storage")) and circle,
    )
    family, per_year = -1, math.nan
    if offering.capacity is not None and offering.capacity_unit:
        try:
            info = unit_info(offering.capacity_unit)
        except UnitError:
            info = None
        if info is not None:
            from turash.matching.engine import QuantityKind

            code = int(matching_repository._KINDS.get(info.kind.value, QuantityKind.UNKNOWN))
            family = engine.family_of(code)
            per_year = offering.capacity * info.factor * engine.yearly_factor(code)
    return ServiceSpec(
        key=key,
        org=org_code,
        kind=kind,
        lat=offering.center_lat if circle else None,
        lon=offering.center_lon if circle else None,
        radius_km=offering.radius_km if circle else None,
        countries=frozenset(offering.countries or ()),
        ewc_codes=frozenset(offering.ewc_codes or ()),
        hazardous_permit=bool((offering.attributes or {}).get("hazardous_waste_permit")),
        capacity_family=family,
        capacity_per_year=per_year,
        price_market=math.nan if offering.price_eur_per_unit is None else float(offering.price_eur_per_unit),
        transform=transform,
    )


@dataclass
class ChainContext:
    """What the finder needs besides the matching state: the offerings, their specs, per-row facts."""

    st: MatchingState
    index: MatchIndex
    info: Sequence[FlowInfo]
    offerings: list[ServiceOffering]
    specs: list[ServiceSpec]
    supply: SupplyContext
    org_of_code: dict[int, str]
    org_names: dict[str, str]  # the service providers' names
    version: str
    services: ServiceIndex | None = None

    def __post_init__(self) -> None:
        self.services = ServiceIndex.build(self.specs)


def _org_codes(st: MatchingState) -> dict[str, int]:
    arrays, info = st.flows.arrays, st.flows.info
    return {info[k].organization_id: int(arrays.org[k]) for k in range(min(len(info), arrays.n))}


def context(session: Session, holder: dict[str, Any], *, st: MatchingState | None = None) -> ChainContext:
    st = st or matching.state(session, holder)
    offerings = list(
        session.scalars(
            sa.select(ServiceOffering).where(ServiceOffering.kind.in_(engine.KINDS)).order_by(ServiceOffering.id)
        )
    )
    version = hashlib.sha256(
        "|".join(f"{o.id}:{o.updated_at.isoformat()}" for o in offerings).encode() + st.flows.version.encode()
    ).hexdigest()[:16]
    cached: ChainContext | None = holder.get("chains_context")
    if cached is not None and cached.st is st and cached.version == version:
        return cached
    codes = _org_codes(st)
    next_code = int(st.flows.arrays.org.max(initial=-1)) + 1
    specs: list[ServiceSpec] = []
    kept: list[ServiceOffering] = []
    for o in offerings:
        code = codes.get(o.organization_id)
        if code is None:
            code = codes[o.organization_id] = next_code
            next_code += 1
        spec = spec_of(o, len(specs), code, st.catalog.class_index)
        if spec is not None:
            specs.append(spec)
            kept.append(o)
    keys = st.index.table.key
    info = st.flows.info
    supply = SupplyContext(
        country=[info[int(k)].country for k in keys.tolist()], ewc=[info[int(k)].ewc_code for k in keys.tolist()]
    )
    org_ids = {o.organization_id for o in kept}
    org_names: dict[str, str] = {
        org_id: name
        for org_id, name in session.execute(
            sa.select(Organization.id, Organization.name).where(Organization.id.in_(org_ids))
        )
    }
    ctx = ChainContext(st, st.index, info, kept, specs, supply, {v: k for k, v in codes.items()}, org_names, version)
    holder["chains_context"] = ctx
    return ctx


# --- ids ------------------------------------------------------------------------------------------------------


def chain_id(supply_flow_id: str, service_id: str, demand_flow_id: str) -> str:
    """Stable and reversible: the three ids, so a chain can be found again (and recomputed) from its id."""
    return f"{CHAIN_PREFIX}{supply_flow_id}{service_id}{demand_flow_id}"


def parts_of(identifier: str) -> tuple[str, str, str] | None:
    if len(identifier) != 1 + 3 * _ID or not identifier.startswith(CHAIN_PREFIX):
        return None
    body = identifier[1:]
    return body[:_ID], body[_ID : 2 * _ID], body[2 * _ID :]


def proposal_key(identifier: str) -> str:
    """The proposals table's `match_id` (80 characters) for a chain: a digest of the chain id."""
    return "c" + hashlib.sha256(identifier.encode()).hexdigest()[:40]


# --- finding ------------------------------------------------------------------------------------------------


def params_for(radius_km: float, top: int) -> MatchParams:
    return MatchRequest(top_k=top, radius_km=radius_km).params()


def _row_of_flow(ctx: ChainContext, flow_id: str) -> int | None:
    key = ctx.st.flows.row_of_flow.get(flow_id)
    if key is None:
        return None
    row = int(ctx.index.rows_of(np.array([key], np.int64))[0])
    return row if row >= 0 else None


MAX_REJECTIONS = 20


def rejections(ctx: ChainContext, row: int, params: MatchParams) -> list[dict[str, Any]]:
    """The nearest transforming services (at most MAX_REJECTIONS) that cannot take the supply at `row`, and why."""
    out: list[dict[str, Any]] = []
    radius = params.effective_radius_km()
    rows = np.array([row], np.int64)
    fl = ctx.index.flows
    far = [
        float(engine.haversine_km(fl.lat[row], fl.lon[row], s.lat, s.lon)) if s.has_circle else 0.0 for s in ctx.specs
    ]
    for pos in sorted(range(len(ctx.specs)), key=far.__getitem__):
        spec, offering = ctx.specs[pos], ctx.offerings[pos]
        if len(out) >= MAX_REJECTIONS:
            break
        code, _ = engine.check(ctx.index.flows, rows, spec, ctx.supply, ctx.index.compat.n_classes, radius)
        why = Rejection(int(code[0]))
        if why != Rejection.NONE:
            out.append(
                {
                    "service_id": offering.id,
                    "service": offering.name,
                    "kind": offering.kind,
                    "reason": why.name.lower(),
                    "message": engine.REJECTION_TEXT[why],
                }
            )
    return out


def find(
    ctx: ChainContext, supply_rows: np.ndarray[Any, Any] | None, params: MatchParams, top: int
) -> tuple[Chains, Eligible]:
    assert ctx.services is not None
    pairs = engine.eligible(ctx.index, ctx.services, params, ctx.supply, supply_rows)
    return engine.find_chains(ctx.index, ctx.services, params, ctx.supply, top_k=top, pairs=pairs), pairs


def all_chains(ctx: ChainContext, params: MatchParams, top: int) -> Chains:
    """Every supply's chains, cached for the life of the context (its data and services version)."""
    key = ("all", params.radius_km, params.max_radius_km, top)
    cache: dict[Any, Chains] = getattr(ctx, "_all", {})
    if key not in cache:
        cache[key] = find(ctx, None, params, top)[0]
        ctx._all = cache  # type: ignore[attr-defined]
    return cache[key]


def for_flow(
    session: Session, holder: dict[str, Any], flow: ResourceFlow, *, top: int, radius_km: float
) -> dict[str, Any]:
    """A supply's chains (best first, with the services that cannot take it and why), or a demand's: the chains
    that end in it."""
    ctx = context(session, holder)
    row = _row_of_flow(ctx, flow.id)
    if row is None:
        raise ValidationFailed(
            f"flow {flow.id} has no resource class the catalogue knows: it cannot be matched",
            code="flow_not_matchable",
        )
    params = params_for(radius_km, top)
    if flow.direction == "supply":
        chains, _ = find(ctx, np.array([row], np.int64), params, top)
        return {
            "chains": shape(ctx, chains, np.arange(chains.n), params),
            "rejected_services": rejections(ctx, row, params),
            "dropped_for_direct": chains.dropped_direct,
        }
    chains = all_chains(ctx, params, top)
    rows = np.flatnonzero(chains.demand_row == row)
    rows = rows[np.argsort(-chains.score[rows], kind="stable")][:top]
    return {"chains": shape(ctx, chains, rows, params), "rejected_services": [], "dropped_for_direct": 0}


def query(
    session: Session, holder: dict[str, Any], body: dict[str, Any], *, lat: float, lon: float, nace: str | None,
    top: int, radius_km: float,
) -> dict[str, Any]:
    """Chains for an ad-hoc supply (not saved): the supply is added to a copy of the index for this call."""
    values = matching.prepared_query(body, nace)
    st = matching.state(session, holder)
    # nobody's organisation: no counterpart is excluded as its own
    flow = matching.ad_hoc_flow(st, values, lat=lat, lon=lon, direction="supply",
                                org=int(st.index.flows.org.max(initial=-1)) + 1_000_000)
    key = len(st.flows.info)
    best = values.get("resource_class")
    me = FlowInfo(
        matching.QUERY_FLOW_ID, "", "(your query)", "(your query)", values["resource"], best, False,
        body.get("country"), "supply", values.get("category") or "", "", values.get("ewc_code"),
        get_catalog().get(best).name if best else None, nace,
    )
    view = replace(st, flows=st.flows.plus(me), index=st.index.update(added=flow), results={})
    ctx = context(session, {}, st=view)
    row = int(ctx.index.rows_of(np.array([key], np.int64))[0])
    params = params_for(radius_km, top)
    chains, _ = find(ctx, np.array([row], np.int64), params, top)
    return {
        "chains": shape(ctx, chains, np.arange(chains.n), params),
        "rejected_services": rejections(ctx, row, params),
        "dropped_for_direct": chains.dropped_direct,
    }


def by_id(session: Session, holder: dict[str, Any], identifier: str) -> dict[str, Any]:
    """One chain by id, recomputed from its flows and service (so any id a route printed can be looked up)."""
    parts = parts_of(identifier)
    if parts is None:
        raise ValidationFailed(
            f"chain_id {identifier!r} is not a chain id (as the chain routes print them)",
            details=[{"field": "chain_id", "message": "unknown chain id"}],
        )
    supply_id, service_id, demand_id = parts
    ctx = context(session, holder)
    srow, drow = _row_of_flow(ctx, supply_id), _row_of_flow(ctx, demand_id)
    pos = next((i for i, o in enumerate(ctx.offerings) if o.id == service_id), None)
    if srow is None or drow is None or pos is None:
        raise NotFound(
            f"chain '{identifier}' refers to a flow or service that no longer exists", details={"id": identifier}
        )
    assert ctx.services is not None
    # The listing's radius is not in the id: try the default first, then wider ones. (A wider radius changes what
    # counts as direct or as a haulier's added reach, so the narrowest radius that finds the chain is used.)
    for radius in (DEFAULT_RADIUS_KM, 200.0, 2000.0):
        params = params_for(radius, 50)
        pairs = engine.eligible(ctx.index, [ctx.specs[pos]], params, ctx.supply, np.array([srow], np.int64))
        if pairs.n == 0:
            continue
        pairs = Eligible(pairs.supply_row, np.full(pairs.n, pos, np.int32), pairs.leg1_km)
        chains = engine.find_chains(ctx.index, ctx.services, params, ctx.supply, top_k=50, pairs=pairs)
        hit = np.flatnonzero(chains.demand_row == drow)
        if hit.size:
            return shape(ctx, chains, hit[:1], params)[0]
    raise NotFound(f"the flows of chain '{identifier}' no longer fit through its service", details={"id": identifier})


# --- shaping: sides, legs, economics, shares, explanation --------------------------------------------------


def _side(info: FlowInfo) -> dict[str, Any]:
    return {
        "organization_id": info.organization_id,
        "organization": info.organization,
        "site": info.site,
        "flow_id": info.flow_id,
        "resource": info.resource,
        "resource_class": info.resource_class,
        "inferred": info.inferred,
    }


def _yearly(fl: Any, row: int) -> tuple[float, str | None]:
    """A flow's yearly amount (SI) and its economics kind."""
    from turash.matching.economics import _KIND_NAMES, _KIND_OF, _PER_YEAR

    kind = int(fl.quantity_kind[row])
    if kind < 0:
        return math.nan, None
    k = int(_KIND_OF[kind])
    return float(fl.quantity[row] * _PER_YEAR[kind]), (_KIND_NAMES[k] if k >= 0 else None)


def cases(ctx: ChainContext, chains: Chains, rows: np.ndarray[Any, Any]) -> list[ExchangeCase]:
    """The whole exchange of each chain as one economics case: the supply's resource over both legs, with the
    heat pump (the supply's own temperature against the need) or the treatment the service brings."""
    fl, info, ids = ctx.index.flows, ctx.info, ctx.st.catalog.class_ids
    compat = ctx.index.compat
    keys = ctx.index.table.key
    out = []
    for j in rows.tolist():
        s, d, spec = int(chains.supply_row[j]), int(chains.demand_row[j]), ctx.specs[int(chains.service[j])]
        amount_s, kind_s = _yearly(fl, s)
        amount_d, kind_d = _yearly(fl, d)
        kind = kind_s or kind_d or ("energy" if CATEGORIES[int(fl.category[s])] in ("heat", "steam") else "mass")
        amount_s *= spec.transform.mass_yield
        if not math.isnan(spec.capacity_per_year) and spec.capacity_family >= 0:
            amount_s = min(amount_s, spec.capacity_per_year)
        amount = np.nanmin([amount_s, amount_d if kind_d == kind else math.nan])
        pair = int(chains.class_pair[j])
        temp_s = float(fl.temperature_c[s])
        hazardous = (
            bool(fl.hazardous[s]) if spec.transform.output_hazardous is None else spec.transform.output_hazardous
        )
        out.append(
            ExchangeCase(
                category=CATEGORIES[int(fl.category[s])],  # type: ignore[arg-type]
                annual_quantity=None if not math.isfinite(amount) else float(amount),
                quantity_kind=kind,  # type: ignore[arg-type]
                distance_km=float(chains.leg1_km[j] + chains.leg2_km[j]),
                supply_class=ids[int(compat.row_of_entry[pair])],
                demand_class=ids[int(compat.indices[pair])],
                supply_temperature_c=None if math.isnan(temp_s) else temp_s,
                demand_temperature_c=None if math.isnan(fl.temperature_c[d]) else float(fl.temperature_c[d]),
                purity_pct=None if math.isnan(fl.purity_pct[s]) else float(fl.purity_pct[s]),
                hazardous=hazardous,
                needs_treatment=spec.kind == "treatment" or bool(int(chains.reasons[j]) & int(Reason.NEEDS_TREATMENT)),
                country=info[int(keys[d])].country,
                supply_price_eur_per_unit=None if math.isnan(fl.price_eur[s]) else float(fl.price_eur[s]),
                demand_price_eur_per_unit=None if math.isnan(fl.price_eur[d]) else float(fl.price_eur[d]),
            )
        )
    return out


def _num(value: Any, digits: int = 0) -> float | None:
    v = float(value)
    return round(v, digits) if math.isfinite(v) else None


def economics_of(
    ctx: ChainContext, chains: Chains, rows: np.ndarray[Any, Any], weights: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Per chain: the whole chain's figures (turash.economics, vectorised), each leg's link costs (the route's
    costs apportioned by the legs' lengths), the service step's costs, and each party's share of the NPV."""
    if not rows.size:
        return []
    batch = evaluate_many(cases(ctx, chains, rows))
    o = batch.outputs
    out = []
    for i, j in enumerate(rows.tolist()):
        d1, d2 = float(chains.leg1_km[j]), float(chains.leg2_km[j])
        total_km = d1 + d2
        shares_km = (d1 / total_km, d2 / total_km) if total_km > 0 else (0.0, 1.0)
        link_capex = float(o["capex_pipe"][i])
        link_opex = float(o["opex_transport"][i] + o["opex_handling"][i])
        legs = [
            {
                "leg": n + 1,
                "distance_km": round(km, 2),
                "capex_eur": _num(link_capex * share),
                "opex_eur_per_year": _num(link_opex * share),
            }
            for n, (km, share) in enumerate(zip((d1, d2), shares_km, strict=True))
        ]
        npv = float(o["npv"][i])
        roles = ("supplier", "service", "receiver")
        shares = engine.split_shares(npv, roles, weights) if math.isfinite(npv) else [math.nan] * 3
        block = batch.contract(i)
        block.update(
            benefit_eur_per_year=_num(o["benefit"][i]),
            capex_eur=_num(o["capex"][i]),
            opex_eur_per_year=_num(o["opex"][i]),
            legs=legs,
            service_step={
                "capex_eur": _num(o["capex_equipment"][i]),
                "opex_eur_per_year": _num(o["opex_treatment"][i] + o["opex_energy"][i]),
                "heat_pump": bool(o["heat_pump"][i] == 1.0),
                "cop": _num(o["cop"][i], 2),
            },
            shares=[
                {"role": r, "npv_eur": _num(v), "share": None if not math.isfinite(npv) else round(1 / 3, 4)}
                for r, v in zip(roles, shares, strict=True)
            ],
            split_rule="equal split of the chain's NPV among the three parties (Nash bargaining, equal weights); "
            "each party's costs are covered from the chain's flows first (docs/chains.md)",
        )
        if weights:
            total_w = sum(max(0.0, float(weights.get(r, 1.0))) for r in roles) or 3.0
            for s in block["shares"]:
                s["share"] = round(max(0.0, float(weights.get(s["role"], 1.0))) / total_w, 4)
        out.append(block)
    return out


_KIND_VERB = {
    "heat_pump": "heat pump",
    "treatment": "treatment",
    "storage": "storage",
    "transport": "transport",
}


def _service_text(ctx: ChainContext, spec: ServiceSpec, offering: ServiceOffering, s: int, cop: float) -> str:
    tf, fl = spec.transform, ctx.index.flows
    catalog = get_catalog()
    parts = []
    if spec.kind == "heat_pump" and tf.output_temperature_c is not None:
        t = float(fl.temperature_c[s])
        start = f"from {t:.0f} °C " if not math.isnan(t) else ""
        cop_text = f" (COP {cop:.1f}, Lorenz efficiency {tf.efficiency:.2f})" if math.isfinite(cop) else ""
        parts.append(f"lifts the heat {start}to {tf.output_temperature_c:.0f} °C{cop_text}")
    if tf.output_class is not None:
        parts.append(f"turns it into {catalog.get(ctx.st.catalog.class_ids[tf.output_class]).name.lower()}")
    if tf.mass_yield != 1.0:
        parts.append(f"leaves {tf.mass_yield:.0%} of the mass")
    if tf.output_hazardous is False and bool(fl.hazardous[s]):
        parts.append("makes it non-hazardous")
    if tf.output_purity_pct is not None:
        parts.append(f"raises its purity to {tf.output_purity_pct:g} %")
    if tf.all_year:
        parts.append("stores it so it is available all year")
    if spec.kind == "transport":
        reach = tf.reach_km or spec.radius_km
        parts.append(f"carries it up to {reach:.0f} km" if reach else "carries it")
    if tf.removes_treatment_need and not parts:
        parts.append("does the treatment the use needs")
    return f"{offering.name} ({_KIND_VERB[spec.kind]}) " + ", ".join(parts or ["handles it"])


def shape(ctx: ChainContext, chains: Chains, rows: np.ndarray[Any, Any], params: MatchParams) -> list[dict[str, Any]]:
    """Chains as the routes return them, best first: the three parties, each leg explained, the economics."""
    rows = np.asarray(rows, np.int64)
    rows = rows[np.argsort(-chains.score[rows], kind="stable")]
    keys = ctx.index.table.key
    econ = economics_of(ctx, chains, rows)
    out = []
    names = ctx.org_names
    for n, j in enumerate(rows.tolist()):
        s, d = int(chains.supply_row[j]), int(chains.demand_row[j])
        pos = int(chains.service[j])
        spec, offering = ctx.specs[pos], ctx.offerings[pos]
        supply, demand = ctx.info[int(keys[s])], ctx.info[int(keys[d])]
        d1, d2 = float(chains.leg1_km[j]), float(chains.leg2_km[j])
        service_text = _service_text(ctx, spec, offering, s, float(chains.cop[j]))
        leg1 = (
            f"{supply.organization}'s {supply.resource} goes {d1:.1f} km to {service_text}"
            if spec.transform.at_plant
            else f"at {supply.organization}'s site, {service_text}"
        )
        sub = dict(
            zip(
                ("quality", "temporal", "quantity", "economic", "trust", "distance"),
                chains.sub_scores[j].tolist(),
                strict=True,
            )
        )
        leg2_score = float(chains.leg2_score[j])
        leg2 = f"then it serves {demand.organization}'s {demand.resource} {d2:.1f} km away (leg score {leg2_score:.2f})"
        direct = float(chains.direct_score[j])
        direct_text = (
            "no direct exchange passes the strict rules without this service"
            if math.isnan(direct)
            else f"a direct exchange would score {direct:.2f}, the chain {float(chains.score[j]):.2f}"
        )
        cid = chain_id(supply.flow_id, offering.id, demand.flow_id)
        out.append(
            {
                "id": cid,
                "score": round(float(chains.score[j]), 4),
                "supply": _side(supply),
                "service": {
                    "service_id": offering.id,
                    "organization_id": offering.organization_id,
                    "organization": names.get(offering.organization_id, offering.organization_id),
                    "name": offering.name,
                    "kind": offering.kind,
                },
                "demand": _side(demand),
                "legs": [
                    {"leg": 1, "from": "supplier", "to": "service", "distance_km": round(d1, 2), "explanation": leg1},
                    {
                        "leg": 2,
                        "from": "service",
                        "to": "receiver",
                        "distance_km": round(d2, 2),
                        "score": round(float(chains.leg2_score[j]), 4),
                        "scores": {k: round(v, 4) for k, v in sub.items()},
                        "explanation": leg2,
                    },
                ],
                "distance_km": round(d1 + d2, 2),
                "direct_score": None if math.isnan(direct) else round(direct, 4),
                "cop": None if math.isnan(float(chains.cop[j])) else round(float(chains.cop[j]), 2),
                "economics": econ[n],
                "explanation": f"{leg1}; {leg2}; {direct_text}.",
                "route": "facilitated",  # three parties: the hybrid router sends multi-party exchanges to a person
            }
        )
    return out


# --- cycles -------------------------------------------------------------------------------------------------


def cycles_for(
    session: Session, holder: dict[str, Any], organization_id: str, *, max_length: int, radius_km: float, top: int
) -> list[dict[str, Any]]:
    """Closed loops of exchanges through the organisation (A → B → … → A, at most `max_length` organisations):
    edges are the direct matches (the matching engine's lists) and the chains (through a service)."""
    ctx = context(session, holder)
    request = MatchRequest(top_k=top, radius_km=radius_km)
    ranked = matching.run_engine(ctx.st, request)
    info, result = ctx.info, ranked.result
    edges: list[Edge] = []
    for sk, dk, score, dist in zip(
        result.supply_key.tolist(),
        result.demand_key.tolist(),
        ranked.score.tolist(),
        result.distance_km.tolist(),
        strict=True,
    ):
        if dist > radius_km:
            continue
        a, b = info[sk], info[dk]
        edges.append(
            Edge(a.organization_id, b.organization_id, matching_repository.match_id(a.flow_id, b.flow_id), float(score))
        )
    params = params_for(radius_km, top)
    chains = all_chains(ctx, params, top)
    keys = ctx.index.table.key
    for j in range(chains.n):
        a, b = info[int(keys[chains.supply_row[j]])], info[int(keys[chains.demand_row[j]])]
        offering = ctx.offerings[int(chains.service[j])]
        edges.append(
            Edge(
                a.organization_id,
                b.organization_id,
                chain_id(a.flow_id, offering.id, b.flow_id),
                float(chains.score[j]),
                "chain",
            )
        )
    names = {f.organization_id: f.organization for f in info}
    out = []
    for cycle in engine.find_cycles(edges, organization_id, max_length=max_length):
        out.append(
            {
                "length": len(cycle),
                "score": round(sum(e.score for e in cycle) / len(cycle), 4),
                "organizations": [names.get(e.source, e.source) for e in cycle],
                "steps": [
                    {
                        "from_organization_id": e.source,
                        "from": names.get(e.source, e.source),
                        "to_organization_id": e.target,
                        "to": names.get(e.target, e.target),
                        "via": e.via,
                        "id": e.ref,
                        "score": round(e.score, 4),
                    }
                    for e in cycle
                ],
            }
        )
    return out


# --- proposals ------------------------------------------------------------------------------------------------


def propose(uow: Any, holder: dict[str, Any], principal: Any, identifier: str) -> Any:
    """Open a proposal for a chain with its three parties (turash.proposals.service.open_chain)."""
    from turash.proposals import service as proposals

    chain = by_id(uow.session, holder, identifier)
    supply_id, service_id, demand_id = parts_of(identifier)  # type: ignore[misc]  # by_id checked the id
    supply, demand = uow.session.get(ResourceFlow, supply_id), uow.session.get(ResourceFlow, demand_id)
    offering = uow.session.get(ServiceOffering, service_id)
    if supply is None or demand is None or offering is None:
        raise NotFound(f"chain '{identifier}' refers to a flow or service that no longer exists")
    return proposals.open_chain(
        uow, principal, proposal_key(identifier), chain, (supply, demand), offering.organization_id, offering.id
    )


def find_all(
    session: Session, holder: dict[str, Any], *, top: int, radius_km: float, organization_id: str | None = None
) -> dict[str, Any]:
    """Every supply's chains (best first), or only those an organisation takes part in (any of the three roles)."""
    ctx = context(session, holder)
    params = params_for(radius_km, top)
    chains = all_chains(ctx, params, top)
    rows = np.arange(chains.n)
    if organization_id is not None:
        keys = ctx.index.table.key
        mine = [
            j
            for j in range(chains.n)
            if organization_id
            in (
                ctx.info[int(keys[chains.supply_row[j]])].organization_id,
                ctx.info[int(keys[chains.demand_row[j]])].organization_id,
                ctx.offerings[int(chains.service[j])].organization_id,
            )
        ]
        rows = np.asarray(mine, np.int64)
    return {"chains": shape(ctx, chains, rows, params), "dropped_for_direct": chains.dropped_direct}
