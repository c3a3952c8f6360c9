"""Matching use cases: every flow's best counterparts, an organisation's or a flow's matches, ad-hoc queries.

The service loads the register into the engine's arrays once per data version (kept in the process; rebuilt when
a flow is added, changed or removed), runs the engine, then applies the constraint checker and the hybrid router
(turash.matching.routing) and shapes each match as the contract says (contract/cli.md, `turash match`).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.catalog import get_catalog
from turash.kit import tracing
from turash.kit.bus import DomainEvent
from turash.kit.db import write_count
from turash.kit.errors import NotFound, ValidationFailed
from turash.kit.geo import BBox
from turash.kit.metrics import MATCH_RUN_SECONDS, MATCHES_FOUND
from turash.matching import outcomes, output, repository, sectors
from turash.matching.engine import (
    SCORE_NAMES,
    Compatibility,
    FlowArrays,
    MatchIndex,
    MatchParams,
    MatchResult,
    MatchStats,
    ScoreWeights,
    match_all,
)
from turash.matching.outcomes import OutcomeTable
from turash.matching.repository import FlowInfo, LoadedFlows
from turash.models import MatchRecord, MatchRun, Organization
from turash.models.base import new_id, utcnow
from turash.models.flow import CATEGORIES

DEFAULT_TOP_K = 5
DEFAULT_RADIUS_KM = 50.0
SECTOR_WEIGHT = sectors.DEFAULT_WEIGHT


@dataclass(frozen=True)
class MatchRequest:
    top_k: int = DEFAULT_TOP_K
    radius_km: float = DEFAULT_RADIUS_KM
    organization_id: str | None = None
    flow_id: str | None = None
    include_inferred: bool = False
    weights: tuple[tuple[str, float], ...] | None = None
    category: str | None = None
    min_score: float = 0.0

    @property
    def sector_weight(self) -> float:
        return dict(self.weights or ()).get("sector", SECTOR_WEIGHT)

    def params(self) -> MatchParams:
        engine = {k: v for k, v in (self.weights or ()) if k != "sector"}
        weights = ScoreWeights(**engine) if engine else ScoreWeights()
        # Each list is kept twice as long as asked, so the sector re-ranking can reorder within it.
        return MatchParams(
            top_k=2 * self.top_k, max_radius_km=self.radius_km, weights=weights, include_inferred=self.include_inferred
        )

    def params_key(self) -> str:
        engine = (self.top_k, self.radius_km, self.include_inferred, self.weights)
        return hashlib.sha256(json.dumps(engine, default=str).encode()).hexdigest()[:16]


def parse_weights(text: str | None) -> tuple[tuple[str, float], ...] | None:
    """`quality=0.4,distance=0.3` → weights for the scorers named (the others keep their defaults, then all are
    normalised by the engine). Unknown names or negative values are a clear error."""
    if not text:
        return None
    defaults = {**asdict(ScoreWeights()), "sector": SECTOR_WEIGHT}
    out = dict(defaults)
    for part in text.split(","):
        name, _, value = part.partition("=")
        name = name.strip()
        if name not in defaults:
            raise ValidationFailed(f"unknown scorer weight {name!r}; use {', '.join((*SCORE_NAMES, 'sector'))}")
        try:
            number = float(value)
        except ValueError:
            raise ValidationFailed(f"weight {name} must be a number, got {value!r}") from None
        if not number >= 0:
            raise ValidationFailed(f"weight {name} must be >= 0")
        out[name] = number
    if sum(v for k, v in out.items() if k != "sector") <= 0:
        raise ValidationFailed("at least one of the engine's weights must be positive")
    if out["sector"] > 1:
        raise ValidationFailed("the sector weight is a share of the score: at most 1")
    return tuple(sorted(out.items()))


@dataclass
class CatalogView:
    class_index: dict[str, int]
    class_ids: tuple[str, ...]
    compat: Compatibility
    version: str


_catalog_lock = threading.Lock()
_catalog_view: CatalogView | None = None


def catalog_view() -> CatalogView:
    """The catalogue's compatibility matrix as the engine reads it (built once per process)."""
    global _catalog_view
    with _catalog_lock:
        if _catalog_view is None:
            catalog = get_catalog()
            matrix = catalog.compatibility_matrix()
            compat = Compatibility.from_csr(
                matrix.matrix,
                min_temperature_c=matrix.min_temperature_c,
                max_temperature_c=matrix.max_temperature_c,
                min_purity_pct=matrix.min_purity_pct,
                min_pressure_bar=matrix.min_pressure_bar,
                needs_treatment=matrix.needs_treatment,
            )
            digest = hashlib.sha256("|".join(matrix.class_ids).encode() + matrix.matrix.data.tobytes()).hexdigest()
            _catalog_view = CatalogView(
                {c: i for i, c in enumerate(matrix.class_ids)}, tuple(matrix.class_ids), compat, digest[:16]
            )
        return _catalog_view


@dataclass
class MatchingState:
    """The register as the engine sees it, for one data version."""

    flows: LoadedFlows
    index: MatchIndex
    catalog: CatalogView
    org_attributes: dict[str, dict[str, Any]]
    public_orgs: frozenset[str] = frozenset()  # organisations from public registers (public data)
    outcomes: OutcomeTable = field(default_factory=OutcomeTable)  # learned from earlier exchanges
    results: dict[str, Ranked] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    built_seconds: float = 0.0


def build_state(session: Session, within: Sequence[BBox] | None = None) -> MatchingState:
    """The engine's state over every flow, or over the flows of the sites inside the boxes `within`."""
    start = time.perf_counter()
    view = catalog_view()
    flows = repository.load_flows(session, view.class_index, within=within)
    index = MatchIndex.build(flows.arrays, view.compat)
    attributes: dict[str, dict[str, Any]] = {}
    public: set[str] = set()
    for org_id, attrs, source in session.execute(
        sa.select(Organization.id, Organization.attributes, Organization.source)
    ):
        attributes[org_id] = attrs
        if source == "register":
            public.add(org_id)
    return MatchingState(
        flows=flows,
        index=index,
        catalog=view,
        org_attributes=attributes,
        public_orgs=frozenset(public),
        outcomes=outcomes.load(session),
        built_seconds=time.perf_counter() - start,
    )


# How long the state is trusted without asking the database, while this process has written nothing: other
# processes' changes (another API replica, an import from the CLI) show up within this time.
RECHECK_SECONDS = 1.0


def state(session: Session, holder: dict[str, Any]) -> MatchingState:
    """The cached state if the data has not changed since it was built, else a fresh one.

    Asking the database (`repository.data_version`: counts and newest change times) costs tens of milliseconds at
    100k flows, more than a query; so it is asked only when this process has written something since the last
    check, or when the last check is older than RECHECK_SECONDS."""
    current: MatchingState | None = holder.get("matching_state")
    writes, now = write_count(), time.monotonic()  # both before the check: a later write makes the next call ask
    checked = holder.get("matching_checked")
    if (
        current is not None
        and current.catalog is catalog_view()
        and checked is not None
        and checked[0] == writes
        and now - checked[1] < RECHECK_SECONDS
    ):
        return current
    version = repository.data_version(session)
    if current is None or current.flows.version != version or current.catalog is not catalog_view():
        current = build_state(session)
        holder["matching_state"] = current
    elif current.outcomes.version != outcomes.version(session):  # a new outcome re-ranks, the index stays
        with current.lock:
            current.outcomes = outcomes.load(session)
            current.results.clear()
    holder["matching_checked"] = (writes, now)
    return current


@dataclass(frozen=True)
class Ranked:
    """The engine's result (raw engine scores) in final order, with the final scores (sector fit included)."""

    result: MatchResult
    sector: np.ndarray[Any, Any]
    score: np.ndarray[Any, Any]
    stats: MatchStats


def run_engine(st: MatchingState, request: MatchRequest) -> Ranked:
    """Every flow's best counterparts: the engine's lists (twice as long as asked) re-ranked with the sector fit,
    then each flow's top K, best first. Cached per parameters for the life of the state."""
    key = f"{request.params_key()}:{request.sector_weight}"
    with st.lock:
        cached = st.results.get(key)
        if cached is None:
            stats = MatchStats()
            raw = match_all(st.index, request.params(), stats)
            sector = sector_scores(st, raw)
            score = ranked_score(st, raw, raw.score, sector, request.sector_weight)
            keep = np.flatnonzero(sectors.top_k_union(raw.supply_key, raw.demand_key, score, request.top_k))
            order = keep[np.lexsort((raw.demand_key[keep], raw.supply_key[keep], -score[keep].astype(np.float64)))]
            cached = Ranked(raw.take(order), sector[order], score[order], stats)
            st.results[key] = cached
    return cached


def final_score(engine: np.ndarray[Any, Any], sector: np.ndarray[Any, Any], weight: float) -> np.ndarray[Any, Any]:
    return ((1.0 - weight) * engine + weight * sector).astype(np.float32)


def ranked_score(
    st: MatchingState,
    result: MatchResult,
    engine: np.ndarray[Any, Any],
    sector: np.ndarray[Any, Any],
    weight: float,
) -> np.ndarray[Any, Any]:
    """The final score of `result`'s rows: the engine's and the sector fit's blend, times what earlier outcomes of
    the same kind of exchange teach (turash.matching.outcomes), at most 1."""
    blended = final_score(engine, sector, weight)
    if not st.outcomes.by_pair:
        return blended
    info = st.flows.info
    factors = st.outcomes.factors(
        [info[k].resource_class or "" for k in result.supply_key.tolist()],
        [info[k].resource_class or "" for k in result.demand_key.tolist()],
    )
    out: np.ndarray[Any, Any] = np.minimum(blended * factors, 1.0).astype(np.float32)
    return out


def _with_outcomes(st: MatchingState, matches: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each match with the earlier outcomes of its kind, when there are any (`outcomes` and the explanation)."""
    if not st.outcomes.by_pair:
        return matches
    for m in matches:
        o = st.outcomes.by_pair.get((m["supply"].get("resource_class"), m["demand"].get("resource_class")))
        if o is not None:
            m["outcomes"] = o.as_dict()
            m["explanation"] += (
                f" Earlier exchanges of this kind: {o.agreed} agreed, {o.failed} failed (score ×{o.factor:.2f})."
            )
    return matches


def sector_scores(st: MatchingState, result: MatchResult) -> np.ndarray[Any, Any]:
    """Sector fit of every row (see turash.matching.sectors), from its class pair and both sites' NACE codes."""
    compat, ids, info = st.index.compat, st.catalog.class_ids, st.flows.info
    supply_class = compat.row_of_entry[result.class_pair]
    demand_class = compat.indices[result.class_pair]
    out = np.empty(result.n, dtype=np.float32)
    for i, (cs, cd, sk, dk) in enumerate(
        zip(
            supply_class.tolist(),
            demand_class.tolist(),
            result.supply_key.tolist(),
            result.demand_key.tolist(),
            strict=True,
        )
    ):
        out[i] = sectors.sector_fit(ids[cs], ids[cd], info[sk].nace, info[dk].nace)
    return out


def shape(
    st: MatchingState,
    result: MatchResult,
    rows: np.ndarray[Any, Any],
    params: MatchParams,
    sector_weight: float,
    sector: np.ndarray[Any, Any] | None = None,
) -> list[dict[str, Any]]:
    """Contract-shaped matches for the given result rows, in order (pairs a rule forbids are dropped).
    `sector`, when given, is aligned with `rows`."""
    if sector is None:
        sector = sector_scores(st, result.take(rows))
    final = ranked_score(st, result.take(rows), result.score[rows], sector, sector_weight)
    matches = output.build(
        st.index, result, rows, st.flows, st.org_attributes, params, sector, final, st.catalog.class_ids
    )
    return _with_outcomes(st, matches)


def find_matches(
    session: Session, holder: dict[str, Any], request: MatchRequest
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Matches for the request, best first, with run statistics."""
    started = time.perf_counter()
    span = tracing.begin("match.find", organization_id=request.organization_id, flow_id=request.flow_id)
    st = state(session, holder)
    ranked = run_engine(st, request)
    result, stats = ranked.result, ranked.stats
    # The requested radius is a hard limit (contract: "the largest distance considered"); the engine's fallback may
    # widen a category's radius, but never past it.
    keep = result.distance_km <= request.radius_km
    info = st.flows.info
    if request.organization_id is not None:
        orgs = np.array([f.organization_id == request.organization_id for f in info], dtype=bool)
        keep &= orgs[result.supply_key] | orgs[result.demand_key] if len(info) else keep
    if request.flow_id is not None:
        row = st.flows.row_of_flow.get(request.flow_id)
        if row is None:
            keep[:] = False
        else:
            keep &= (result.supply_key == row) | (result.demand_key == row)
    if request.category is not None:
        code = CATEGORIES.index(request.category)
        keep &= st.index.flows.category[result.supply_row] == code
    if request.min_score > 0:
        keep &= ranked.score >= request.min_score
    rows = np.flatnonzero(keep)
    matches = shape(st, result, rows, request.params(), request.sector_weight, ranked.sector[rows])
    summary = {
        "flows": len(st.flows),
        "flows_unclassified": st.flows.skipped_unclassified,
        "pairs_considered": stats.pairs_passed,
        "matches": len(matches),
        "facilitated": sum(m["route"] == "facilitated" for m in matches),
        "seconds": {**{k: round(v, 4) for k, v in stats.seconds.items()}, "build": round(st.built_seconds, 4)},
        "catalog_version": st.catalog.version,
        "data_version": st.flows.version,
    }
    _observe("find", started, matches)
    tracing.end(span, flows=len(st.flows), matches=len(matches))
    return matches, summary


def _observe(kind: str, started: float, matches: list[dict[str, Any]]) -> None:
    MATCH_RUN_SECONDS.labels(kind).observe(time.perf_counter() - started)
    facilitated = sum(m.get("route") == "facilitated" for m in matches)
    if facilitated:
        MATCHES_FOUND.labels("facilitated").inc(facilitated)
    if len(matches) - facilitated:
        MATCHES_FOUND.labels("automated").inc(len(matches) - facilitated)


def match_for_pair(
    session: Session, holder: dict[str, Any], identifier: str, request: MatchRequest | None = None
) -> dict[str, Any]:
    """One match by id, recomputed from its two flows, so any id `turash match` printed can be looked up later
    (whatever its rank). The search radius does not apply: the pair is already chosen."""
    pair = repository.flows_of_match(identifier)
    if pair is None:
        raise NotFound.of("match", identifier)
    stored = repository.get_match(session, identifier)
    if stored is not None and stored.inputs_version == repository.data_version(session):
        return stored_match(stored)  # as served, with the parameters of its run (nothing changed since)
    st = state(session, holder)
    keys = [st.flows.row_of_flow.get(pair[0]), st.flows.row_of_flow.get(pair[1])]
    if keys[0] is None or keys[1] is None:
        raise NotFound(
            f"match '{identifier}' refers to a flow that no longer exists or cannot be matched",
            details={"id": identifier},
        )
    request = request or MatchRequest()
    params = request.params()
    srow, drow = (int(r) for r in st.index.rows_of(np.array(keys, dtype=np.int64)))
    result = score_pair(st, srow, drow, params)
    if result is None:
        raise NotFound(f"the flows of match '{identifier}' do not fit together", details={"id": identifier})
    matches = shape(st, result, np.array([0]), params, request.sector_weight)
    if not matches:
        raise NotFound(f"match '{identifier}' breaks a business rule or regulation", details={"id": identifier})
    return matches[0]


def stored_match(record: Any) -> dict[str, Any]:
    details = dict(record.details or {})
    return {
        "id": record.id,
        "supply": details.pop("supply"),
        "demand": details.pop("demand"),
        "score": record.score,
        "scores": record.scores,
        "distance_km": record.distance_km,
        "economics": record.economics,
        "explanation": record.explanation,
        "route": record.route,
        "computed_at": record.computed_at.isoformat(),
        "run_id": record.run_id,
        **details,
    }


def score_pair(st: MatchingState, srow: int, drow: int, params: MatchParams) -> MatchResult | None:
    """The best-scoring class pair of one (supply, demand) pair of index rows: strict rules first, then with the
    fallback relaxations. None when no class of the supply serves a class of the demand."""
    from turash.matching.engine import score_pairs

    fl, compat = st.index.flows, st.index.compat
    if not fl.is_supply[srow] or fl.is_supply[drow]:
        return None
    s_classes = fl.class_index[fl.class_indptr[srow] : fl.class_indptr[srow + 1]]
    d_classes = fl.class_index[fl.class_indptr[drow] : fl.class_indptr[drow + 1]]
    entries = [e for cs in s_classes for cd in d_classes if (e := compat.entry(int(cs), int(cd))) >= 0]
    if not entries:
        return None
    n = len(entries)
    s = np.full(n, srow, np.int32)
    d = np.full(n, drow, np.int32)
    k = np.array(entries, np.int32)
    for allowed in (0, 0xFF):
        sc = score_pairs(st.index, s, d, k, params, allowed)
        if sc.passes.any():
            best = int(np.argmax(np.where(sc.passes, sc.score, -np.inf)))
            keys = st.index.table.key
            pick = slice(best, best + 1)
            return MatchResult(
                supply_row=s[pick],
                demand_row=d[pick],
                supply_key=keys[s[pick]],
                demand_key=keys[d[pick]],
                score=sc.score[pick],
                sub_scores=sc.sub_scores[pick],
                distance_km=sc.distance_km[pick],
                relaxation=sc.relaxation[pick],
                reasons=sc.reasons[pick],
                class_pair=k[pick],
                fit=sc.fit[pick],
                coverage=np.power(np.float32(10.0), sc.log_coverage[pick]).astype(np.float32),
                temperature_margin_k=sc.temperature_margin_k[pick],
                selected_by=np.zeros(1, np.uint8),
            )
    return None


def record_run(
    session: Session,
    request: MatchRequest,
    matches: list[dict[str, Any]],
    summary: dict[str, Any],
    *,
    trigger: str,
    user_id: str | None = None,
    collect: Callable[[DomainEvent], None] | None = None,
) -> MatchRun:
    """Store a run and its matches: the audit trail of why each match was proposed, computed when and how. Members
    whose threshold a match never stored before reaches are notified (event `match.found`, given to `collect`)."""
    now = utcnow()
    ids = [m["id"] for m in matches]
    known: set[str] = set()
    for start in range(0, len(ids), 900):
        known |= set(session.scalars(sa.select(MatchRecord.id).where(MatchRecord.id.in_(ids[start : start + 900]))))
    run = MatchRun(
        id=new_id(),
        trigger=trigger,
        params={
            "top_k": request.top_k,
            "radius_km": request.radius_km,
            "include_inferred": request.include_inferred,
            "weights": dict(request.weights or ()) or asdict(ScoreWeights()),
            "organization_id": request.organization_id,
            "flow_id": request.flow_id,
            "min_score": request.min_score,
        },
        catalog_version=summary["catalog_version"],
        data_version=summary["data_version"],
        flows_count=summary["flows"],
        matches_count=len(matches),
        stats=summary,
        finished_at=now,
        created_by=user_id,
    )
    session.add(run)
    session.flush()
    repository.store_matches(
        session,
        [
            {
                "id": m["id"],
                "run_id": run.id,
                "supply_flow_id": m["supply"]["flow_id"],
                "demand_flow_id": m["demand"]["flow_id"],
                "score": m["score"],
                "scores": m["scores"],
                "distance_km": m["distance_km"],
                "economics": m["economics"],
                "explanation": m["explanation"],
                "route": m["route"],
                "details": {
                    k: m[k]
                    for k in ("route_reasons", "constraints", "relaxations", "reasons", "supply", "demand", "category")
                },
                "inputs_version": summary["data_version"],
                "computed_at": now,
            }
            for m in matches
        ],
    )
    fresh = [m for m in matches if m["id"] not in known]
    if fresh and collect is not None:
        event = announce(session, fresh)
        if event is not None:
            collect(event)
    return run


def announce(session: Session, fresh: list[dict[str, Any]]) -> DomainEvent | None:
    """In-app notifications of new matches to the members of their organisations whose `match_threshold` they reach
    (one per user: how many, and the best). The texts name only the user's own side and the other's resource."""
    from turash.models import Membership, Notification, NotificationPreference, ResourceFlow
    from turash.models.notification import DEFAULT_MATCH_THRESHOLD

    flow_ids = {m[side]["flow_id"] for m in fresh for side in ("supply", "demand")}
    org_of: dict[str, str] = {
        flow_id: org_id
        for flow_id, org_id in session.execute(
            sa.select(ResourceFlow.id, ResourceFlow.organization_id).where(ResourceFlow.id.in_(flow_ids))
        )
    }
    by_org: dict[str, list[tuple[dict[str, Any], str]]] = defaultdict(list)
    for m in fresh:
        for side, other in (("supply", "demand"), ("demand", "supply")):
            org = org_of.get(m[side]["flow_id"])
            if org:
                by_org[org].append((m, other))
    members = session.execute(
        sa.select(Membership.user_id, Membership.organization_id, Organization.name)
        .join(Organization, Organization.id == Membership.organization_id)
        .where(Membership.organization_id.in_(by_org))
    ).all()
    if not members:
        return None
    prefs = {
        p.user_id: p
        for p in session.scalars(
            sa.select(NotificationPreference).where(NotificationPreference.user_id.in_({u for u, _, _ in members}))
        )
    }
    event = DomainEvent(
        "match.found",
        {
            "organization_ids": sorted(by_org),
            "match_ids_by_organization": {org: sorted({m["id"] for m, _ in pairs}) for org, pairs in by_org.items()},
        },
    )
    told: set[str] = set()
    for user_id, org_id, org_name in members:
        pref = prefs.get(user_id)
        threshold = pref.match_threshold if pref is not None else DEFAULT_MATCH_THRESHOLD
        if user_id in told or (pref is not None and "match" in (pref.muted_kinds or [])):
            continue
        good = sorted((x for x in by_org[org_id] if x[0]["score"] >= threshold), key=lambda x: -x[0]["score"])
        if not good:
            continue
        best, other = good[0]
        mine = "supply" if other == "demand" else "demand"
        told.add(user_id)
        session.add(
            Notification(
                id=new_id(),
                user_id=user_id,
                kind="match",
                title=f"{len(good)} new match{'es' if len(good) > 1 else ''} for {org_name}",
                body=f"Best: your {best[mine]['resource']} with {best[other]['resource']}, score {best['score']:.2f} "
                f"(your threshold {threshold:.2f}).",
                data={"match_id": best["id"], "organization_id": org_id, "count": len(good)},
                event_id=event.id,
            )
        )
    return event if told else None


QUERY_FLOW_ID = "query"


def prepared_query(body: dict[str, Any], nace: str | None) -> dict[str, Any]:
    """An ad-hoc flow's fields, normalised as a saved flow's are; ValidationFailed naming each bad field."""
    from turash.flows.service import prepare

    values = dict(body)
    problems = prepare(values, nace=nace)
    if problems:
        raise ValidationFailed("the query is not valid", details=[{"field": c, "message": m} for c, m in problems])
    return values


def ad_hoc_flow(
    st: MatchingState, values: dict[str, Any], *, lat: float, lon: float, direction: str, org: int | None = None
) -> FlowArrays:
    """An unsaved flow as the engine's arrays, with key `len(st.flows.info)` (one past the register) and, unless
    given, an organisation of its own (so no counterpart is excluded as its own). ValidationFailed when the
    catalogue cannot tell what it is."""
    columns = repository.FlowColumns()
    added = columns.add(
        st.catalog.class_index,
        best=values.get("resource_class"),
        candidates=values.get("resource_classes"),
        lat=lat,
        lon=lon,
        direction=direction,
        category=values.get("category"),
        kind=values.get("quantity_kind"),
        quantity_si=values.get("quantity_si"),
        temperature=values.get("temperature_c"),
        pressure=values.get("pressure_bar"),
        purity=values.get("purity_pct"),
        hazardous=values.get("hazardous"),
        permits={},
        available_from=values.get("available_from"),
        available_to=values.get("available_to"),
        schedule=values.get("schedule"),
        price=values.get("price_eur_per_unit"),
        precision=values.get("precision"),
        inferred=False,
        org=int(st.index.flows.org.max(initial=-1)) + 1 if org is None else org,
    )
    if not added:
        raise ValidationFailed(
            f"the catalogue cannot tell what {values['resource']!r} is; describe the resource "
            "in other words or add an EWC code",
            code="resource_not_understood",
        )
    return columns.arrays(np.array([len(st.flows.info)], dtype=np.int64))


def query(
    session: Session,
    holder: dict[str, Any],
    body: dict[str, Any],
    *,
    lat: float,
    lon: float,
    nace: str | None,
    request: MatchRequest,
) -> list[dict[str, Any]]:
    """Match an ad-hoc flow against the register without saving it."""
    started = time.perf_counter()
    span = tracing.begin("match.query", lat=lat, lon=lon)
    from turash.matching.engine import match_one

    values = prepared_query(body, nace)
    st = state(session, holder)
    flow = ad_hoc_flow(st, values, lat=lat, lon=lon, direction=values["direction"])
    params = request.params()
    result = match_one(st.index, flow, 0, params)
    # the explanation and the economics read both sides by row: a small index of the query and its counterparts
    counterparts = result.demand_key if bool(flow.is_supply[0]) else result.supply_key
    index = st.index.excerpt(counterparts, added=flow)
    result = replace(
        result,
        supply_row=index.rows_of(result.supply_key).astype(np.int32),
        demand_row=index.rows_of(result.demand_key).astype(np.int32),
    )
    catalog = get_catalog()
    best = values.get("resource_class")
    me = FlowInfo(
        QUERY_FLOW_ID,
        "",
        "(your query)",
        "(your query)",
        values["resource"],
        best,
        False,
        None,
        values["direction"],
        values.get("category") or "",
        "",
        values.get("ewc_code"),
        catalog.get(best).name if best else None,
        nace,
    )
    view = replace(st, flows=st.flows.plus(me), index=index, results={})
    sector = sector_scores(view, result)
    order = np.argsort(-ranked_score(view, result, result.score, sector, request.sector_weight), kind="stable")[
        : request.top_k
    ]
    matches = shape(view, result.take(order), np.arange(order.size), params, request.sector_weight, sector[order])
    _observe("query", started, matches)
    tracing.end(span, matches=len(matches))
    return matches


def warm_up() -> float:
    """Run the engine once on two tiny flows, so numba compiles (or loads from its cache) every kernel before the
    first real request. Returns the seconds it took. Safe to call from a background thread."""
    start = time.perf_counter()
    view = catalog_view()
    columns = repository.FlowColumns()
    for direction, (lat, lon), org in (("supply", (55.0, 11.0), 0), ("demand", (55.01, 11.01), 1)):
        columns.add(
            view.class_index,
            best="coal_fly_ash" if direction == "supply" else "supplementary_cementitious_material",
            candidates=None,
            lat=lat,
            lon=lon,
            direction=direction,
            category="material",
            kind="mass_rate",
            quantity_si=1.0,
            temperature=None,
            pressure=None,
            purity=None,
            hazardous=False,
            permits={},
            available_from=None,
            available_to=None,
            schedule=None,
            price=None,
            precision="estimated",
            inferred=False,
            org=org,
        )
    flows = columns.arrays(np.arange(2, dtype=np.int64))
    index = MatchIndex.build(flows, view.compat)
    params = MatchRequest().params()
    match_all(index, params)
    from turash.matching.engine import match_one

    match_one(index, flows, 0, params)
    score_pair(
        MatchingState(flows=LoadedFlows(flows, [], {}, 0, ""), index=index, catalog=view, org_attributes={}),
        0,
        1,
        params,
    )
    return time.perf_counter() - start
