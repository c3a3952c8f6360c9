"""The symbiosis network as arrays, and its analyses: pure computation (numpy, scipy, rustworkx, networkx), no
database, no HTTP.

Nodes are organisations, sites, resource flows and service offerings; edges are
- `owns`: organisation → site,
- `located_at`: flow → site,
- `match`: supply flow → demand flow, a stored match result (weight: its score, 0..1),
- `exchange`: supply flow → demand flow of a proposal agreed or implemented (weight 1: a realised link; between
  the two organisations when a flow has since been deleted),
- `service`: organisation → a service offering it runs.

The analyses work on the organisation-level graph: match and exchange edges between two different
organisations, merged per pair (weight = sum of the links' weights, so an organisation with many good links
ranks high). Centrality is weighted degree (strength) and shortest-path betweenness over the links of a region
(Freeman 1977, computed by rustworkx); candidate eco-industrial parks are the connected groups of organisations
linked within a distance, divided by Louvain modularity communities (Blondel et al. 2008, networkx) when a group
is too large to be one park; resilience removes an organisation or a flow and lists the counterparts that lose a
link, with the remaining alternatives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from turash.kit.geo import EARTH_RADIUS_KM, BBox

Floats = NDArray[np.float64]
Ints = NDArray[np.int64]


class NodeKind(IntEnum):
    ORGANIZATION = 0
    SITE = 1
    FLOW = 2
    SERVICE = 3


class EdgeKind(IntEnum):
    OWNS = 0
    LOCATED_AT = 1
    MATCH = 2
    EXCHANGE = 3
    SERVICE = 4


NODE_KINDS = ("organization", "site", "flow", "service")
EDGE_KINDS = ("owns", "located_at", "match", "exchange", "service")
# Yearly amounts are kept in the unit people read per kind of quantity.
AMOUNT_KINDS = ("mass", "energy", "volume")
AMOUNT_UNITS = ("t/yr", "GWh/yr", "m3/yr")
LINK_KINDS = (EdgeKind.MATCH, EdgeKind.EXCHANGE)


def haversine_km(lat1: Floats, lon1: Floats, lat2: Floats, lon2: Floats) -> Floats:
    """Great-circle distances in km, element-wise (the formula of turash.kit.geo.haversine_km)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    return np.asarray(2 * EARTH_RADIUS_KM * np.arcsin(np.minimum(1.0, np.sqrt(a))), dtype=np.float64)


# --- input tables ---------------------------------------------------------------------------------------------


@dataclass
class Tables:
    """The register as columns, as the repository reads it (or a benchmark generates it). Flow amounts are
    yearly, in AMOUNT_UNITS of their `flow_amount_kind` (None: unknown)."""

    org_id: list[str]
    org_name: list[str]
    org_nace: list[str | None]
    org_public: list[bool]
    site_id: list[str]
    site_org: list[str]
    site_name: list[str]
    site_lat: list[float]
    site_lon: list[float]
    site_nace: list[str | None]
    flow_id: list[str]
    flow_org: list[str]
    flow_site: list[str]
    flow_direction: list[str]
    flow_resource: list[str]
    flow_class: list[str | None]
    flow_category: list[str | None]
    flow_amount: list[float | None]
    flow_amount_kind: list[str | None]
    service_id: list[str] = field(default_factory=list)
    service_org: list[str] = field(default_factory=list)
    service_name: list[str] = field(default_factory=list)
    service_kind: list[str] = field(default_factory=list)
    service_lat: list[float | None] = field(default_factory=list)
    service_lon: list[float | None] = field(default_factory=list)
    match_id: list[str] = field(default_factory=list)
    match_supply: list[str] = field(default_factory=list)
    match_demand: list[str] = field(default_factory=list)
    match_score: list[float] = field(default_factory=list)
    match_distance_km: list[float] = field(default_factory=list)
    match_co2: list[float | None] = field(default_factory=list)
    exchange_id: list[str] = field(default_factory=list)
    exchange_supply: list[str | None] = field(default_factory=list)  # flow ids, None when the flow was deleted
    exchange_demand: list[str | None] = field(default_factory=list)
    exchange_supply_org: list[str | None] = field(default_factory=list)
    exchange_demand_org: list[str | None] = field(default_factory=list)
    exchange_status: list[str] = field(default_factory=list)
    exchange_co2: list[float | None] = field(default_factory=list)


# --- the network ----------------------------------------------------------------------------------------------


@dataclass
class Network:
    """Nodes and edges as parallel arrays. `node_org[i]` is the organisation node owning node i (itself for an
    organisation); positions are NaN when unknown (an organisation without sites)."""

    node_id: list[str]
    node_kind: NDArray[np.int8]
    node_org: Ints
    lat: Floats
    lon: Floats
    label: list[str]
    nace: list[str | None]
    public: NDArray[np.bool_]  # per node: its organisation comes from a public register
    # flows (elsewhere: direction -1, category None, amount NaN, amount_kind -1)
    direction: NDArray[np.int8]  # 0 supply, 1 demand
    resource: list[str | None]
    resource_class: list[str | None]
    category: list[str | None]
    amount: Floats
    amount_kind: NDArray[np.int8]
    service_kind: list[str | None]
    src: Ints
    dst: Ints
    edge_kind: NDArray[np.int8]
    weight: Floats
    edge_amount: Floats  # yearly amount exchanged or matched (the smaller side), in AMOUNT_UNITS[edge_amount_kind]
    edge_amount_kind: NDArray[np.int8]
    co2: Floats  # t CO2 avoided per year (economics of the match or the proposal); NaN unknown
    distance_km: Floats
    edge_ref: list[str]  # match id, proposal id, or ""
    edge_status: list[str | None]  # proposal status of an exchange
    index: dict[str, int]
    memo: dict[str, Any] = field(default_factory=dict, repr=False)  # analyses of this network, computed once

    def __len__(self) -> int:
        return len(self.node_id)

    @property
    def edge_count(self) -> int:
        return int(self.src.size)

    @cached_property
    def organizations(self) -> Ints:
        return np.flatnonzero(self.node_kind == NodeKind.ORGANIZATION)

    @cached_property
    def links(self) -> OrgLinks:
        """Match and exchange edges merged per pair of organisations (cached: used by every analysis)."""
        return org_links(self)

    @cached_property
    def _by_endpoint(self) -> tuple[Ints, Ints, Ints, Ints]:
        """Match/exchange edges sorted by source and by target node, for incident-edge lookups."""
        links = np.flatnonzero(np.isin(self.edge_kind, LINK_KINDS))
        by_src = links[np.argsort(self.src[links], kind="stable")]
        by_dst = links[np.argsort(self.dst[links], kind="stable")]
        return by_src, self.src[by_src], by_dst, self.dst[by_dst]

    def incident(self, nodes: Ints) -> Ints:
        """Match and exchange edges with an end in `nodes`."""
        by_src, src_sorted, by_dst, dst_sorted = self._by_endpoint
        out = [np.zeros(0, dtype=np.int64)]
        for order, keys in ((by_src, src_sorted), (by_dst, dst_sorted)):
            lo = np.searchsorted(keys, nodes, side="left")
            hi = np.searchsorted(keys, nodes, side="right")
            for a, b in zip(lo.tolist(), hi.tolist(), strict=True):
                if b > a:
                    out.append(order[a:b])
        return np.unique(np.concatenate(out))


def _amount_kind_code(name: str | None) -> int:
    return AMOUNT_KINDS.index(name) if name in AMOUNT_KINDS else -1


def _opt(values: list[float | None]) -> Floats:
    return np.array([np.nan if v is None else v for v in values], dtype=np.float64)


def build(t: Tables) -> Network:
    """The network of the tables. Rows referring to an unknown organisation, site or flow are left out (a match
    whose flow was deleted since is no link)."""
    n_org, n_site, n_flow, n_svc = len(t.org_id), len(t.site_id), len(t.flow_id), len(t.service_id)
    ids = [*t.org_id, *t.site_id, *t.flow_id, *t.service_id]
    index = {ident: i for i, ident in enumerate(ids)}
    org_of = {ident: i for i, ident in enumerate(t.org_id)}
    kind = np.concatenate([np.full(n, k, dtype=np.int8) for n, k in ((n_org, 0), (n_site, 1), (n_flow, 2), (n_svc, 3))])
    site_org = np.array([org_of.get(o, -1) for o in t.site_org], dtype=np.int64)
    flow_org = np.array([org_of.get(o, -1) for o in t.flow_org], dtype=np.int64)
    svc_org = np.array([org_of.get(o, -1) for o in t.service_org], dtype=np.int64)
    node_org = np.concatenate([np.arange(n_org, dtype=np.int64), site_org, flow_org, svc_org])
    site_lat = np.asarray(t.site_lat, dtype=np.float64)
    site_lon = np.asarray(t.site_lon, dtype=np.float64)
    # an organisation sits at the mean position of its sites (one site: there)
    known = site_org >= 0
    counts = np.bincount(site_org[known], minlength=n_org).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        org_lat = np.bincount(site_org[known], weights=site_lat[known], minlength=n_org) / counts
        org_lon = np.bincount(site_org[known], weights=site_lon[known], minlength=n_org) / counts
    site_row = {ident: i for i, ident in enumerate(t.site_id)}
    flow_site = np.array([site_row.get(s, -1) for s in t.flow_site], dtype=np.int64)
    flow_lat = np.where(flow_site >= 0, site_lat[np.maximum(flow_site, 0)] if n_site else np.nan, np.nan)
    flow_lon = np.where(flow_site >= 0, site_lon[np.maximum(flow_site, 0)] if n_site else np.nan, np.nan)
    svc_lat, svc_lon = _opt(t.service_lat), _opt(t.service_lon)
    if n_svc:  # a service without a centre of its own is shown at its organisation
        fallback = np.maximum(svc_org, 0)
        svc_lat = np.where(np.isnan(svc_lat) & (svc_org >= 0), org_lat[fallback] if n_org else np.nan, svc_lat)
        svc_lon = np.where(np.isnan(svc_lon) & (svc_org >= 0), org_lon[fallback] if n_org else np.nan, svc_lon)
    lat = np.concatenate([org_lat, site_lat, flow_lat, svc_lat]).astype(np.float64)
    lon = np.concatenate([org_lon, site_lon, flow_lon, svc_lon]).astype(np.float64)
    public_org = np.asarray(t.org_public, dtype=bool)
    public = public_org[np.maximum(node_org, 0)] & (node_org >= 0) if n_org else np.zeros(len(ids), dtype=bool)
    none_s: list[str | None] = [None] * (n_org + n_site)
    direction = np.concatenate(
        [
            np.full(n_org + n_site, -1, dtype=np.int8),
            np.array([0 if d == "supply" else 1 for d in t.flow_direction], dtype=np.int8),
            np.full(n_svc, -1, dtype=np.int8),
        ]
    )
    amount = np.concatenate([np.full(n_org + n_site, np.nan), _opt(t.flow_amount), np.full(n_svc, np.nan)])
    amount_kind = np.concatenate(
        [
            np.full(n_org + n_site, -1, dtype=np.int8),
            np.array([_amount_kind_code(k) for k in t.flow_amount_kind], dtype=np.int8),
            np.full(n_svc, -1, dtype=np.int8),
        ]
    )
    site_nace = [t.site_nace[i] or (t.org_nace[o] if o >= 0 else None) for i, o in enumerate(site_org.tolist())]
    flow_nace = [
        site_nace[s] if s >= 0 else (t.org_nace[o] if o >= 0 else None)
        for s, o in zip(flow_site.tolist(), flow_org.tolist(), strict=True)
    ]
    svc_nace = [t.org_nace[o] if o >= 0 else None for o in svc_org.tolist()]

    off_site, off_flow, off_svc = n_org, n_org + n_site, n_org + n_site + n_flow
    own = np.flatnonzero(site_org >= 0)
    loc = np.flatnonzero(flow_site >= 0)
    run = np.flatnonzero(svc_org >= 0)
    flow_row = {ident: i for i, ident in enumerate(t.flow_id)}
    ms = np.array([flow_row.get(f, -1) for f in t.match_supply], dtype=np.int64)
    md = np.array([flow_row.get(f, -1) for f in t.match_demand], dtype=np.int64)
    matched = np.flatnonzero((ms >= 0) & (md >= 0))  # a match whose flow was deleted since is no link
    xs: list[int] = []
    xd: list[int] = []
    xrows: list[int] = []
    for i, (s, d, so, do) in enumerate(
        zip(t.exchange_supply, t.exchange_demand, t.exchange_supply_org, t.exchange_demand_org, strict=True)
    ):
        a = index.get(s) if s else None
        b = index.get(d) if d else None
        a = a if a is not None else (org_of.get(so) if so else None)
        b = b if b is not None else (org_of.get(do) if do else None)
        if a is not None and b is not None:
            xs.append(a)
            xd.append(b)
            xrows.append(i)
    n_struct = own.size + loc.size + run.size
    src = np.concatenate([site_org[own], off_flow + loc, svc_org[run], off_flow + ms[matched], np.array(xs, np.int64)])
    dst = np.concatenate(
        [off_site + own, off_site + flow_site[loc], off_svc + run, off_flow + md[matched], np.array(xd, np.int64)]
    )
    edge_kind = np.concatenate(
        [
            np.full(n, int(k), dtype=np.int8)
            for n, k in (
                (own.size, EdgeKind.OWNS),
                (loc.size, EdgeKind.LOCATED_AT),
                (run.size, EdgeKind.SERVICE),
                (matched.size, EdgeKind.MATCH),
                (len(xs), EdgeKind.EXCHANGE),
            )
        ]
    )
    weight = np.concatenate([np.ones(n_struct), np.asarray(t.match_score, dtype=np.float64)[matched], np.ones(len(xs))])
    co2 = np.concatenate([np.full(n_struct, np.nan), _opt(t.match_co2)[matched], _opt(t.exchange_co2)[xrows]])
    distance = np.concatenate(
        [
            np.full(n_struct, np.nan),
            np.asarray(t.match_distance_km, dtype=np.float64)[matched],
            np.full(len(xs), np.nan),
        ]
    )
    edge_ref = [*([""] * n_struct), *(t.match_id[i] for i in matched.tolist()), *(t.exchange_id[i] for i in xrows)]
    edge_status: list[str | None] = [*([None] * (n_struct + matched.size)), *(t.exchange_status[i] for i in xrows)]
    missing = np.isnan(distance) & (edge_kind == EdgeKind.EXCHANGE)
    if missing.any():
        distance[missing] = haversine_km(lat[src[missing]], lon[src[missing]], lat[dst[missing]], lon[dst[missing]])
    # the amount of a link: the smaller of both sides' yearly amounts in the supply's kind (else the demand's)
    ks, kd = amount_kind[src], amount_kind[dst]
    a_s, a_d = amount[src], amount[dst]
    has_s = (ks >= 0) & ~np.isnan(a_s)
    has_d = (kd >= 0) & ~np.isnan(a_d)
    e_kind = np.where(has_s, ks, np.where(has_d, kd, -1)).astype(np.int8)
    e_amount = np.fmin(np.where(has_s, a_s, np.nan), np.where(has_d & (kd == e_kind), a_d, np.nan))
    is_link = np.isin(edge_kind, LINK_KINDS)
    e_amount = np.where(is_link, e_amount, np.nan)
    e_kind = np.where(is_link, e_kind, -1).astype(np.int8)
    return Network(
        node_id=ids,
        node_kind=kind,
        node_org=node_org,
        lat=lat,
        lon=lon,
        label=[*t.org_name, *t.site_name, *t.flow_resource, *t.service_name],
        nace=[*t.org_nace, *site_nace, *flow_nace, *svc_nace],
        public=public,
        direction=direction,
        resource=[*none_s, *t.flow_resource, *([None] * n_svc)],
        resource_class=[*none_s, *t.flow_class, *([None] * n_svc)],
        category=[*none_s, *t.flow_category, *([None] * n_svc)],
        amount=amount,
        amount_kind=amount_kind,
        service_kind=[*none_s, *([None] * n_flow), *t.service_kind],
        src=src,
        dst=dst,
        edge_kind=edge_kind,
        weight=weight,
        edge_amount=e_amount,
        edge_amount_kind=e_kind,
        co2=co2,
        distance_km=distance,
        edge_ref=edge_ref,
        edge_status=edge_status,
        index=index,
    )


# --- organisation-level links ---------------------------------------------------------------------------------


@dataclass
class OrgLinks:
    """One row per pair of organisations (a < b, node indices) linked by matches and/or exchanges."""

    a: Ints
    b: Ints
    weight: Floats  # sum of match scores + 1 per exchange
    matches: Ints
    exchanges: Ints
    amounts: Floats  # shape (pairs, 2, 3): [matches, exchanges] × [t/yr, GWh/yr, m3/yr]
    co2: Floats  # shape (pairs, 2): t/yr avoided by [matches, exchanges], where known
    distance_km: Floats  # the shortest link between the two

    def __len__(self) -> int:
        return int(self.a.size)


def org_links(net: Network, min_score: float = 0.0, edges: Ints | None = None) -> OrgLinks:
    """Match (score ≥ min_score) and exchange edges between two different organisations, merged per pair."""
    e = np.flatnonzero(np.isin(net.edge_kind, LINK_KINDS)) if edges is None else edges
    kind = net.edge_kind[e]
    e = e[(kind == EdgeKind.EXCHANGE) | (net.weight[e] >= min_score)]
    oa, ob = net.node_org[net.src[e]], net.node_org[net.dst[e]]
    keep = (oa != ob) & (oa >= 0) & (ob >= 0)
    e, oa, ob = e[keep], oa[keep], ob[keep]
    lo, hi = np.minimum(oa, ob), np.maximum(oa, ob)
    n = max(len(net), 1)
    pairs, inverse = np.unique(lo * n + hi, return_inverse=True)
    m = pairs.size
    kind = net.edge_kind[e]
    is_x = kind == EdgeKind.EXCHANGE
    # [match, exchange] × [t/yr, GWh/yr, m3/yr]: an exchange and the match it came from are counted apart
    amounts = np.zeros((m, 2, 3), dtype=np.float64)
    co2 = np.zeros((m, 2), dtype=np.float64)
    ak, av, c = net.edge_amount_kind[e], net.edge_amount[e], net.co2[e]
    for j, part in enumerate((~is_x, is_x)):
        for k in range(3):
            sel = part & (ak == k) & ~np.isnan(av)
            amounts[:, j, k] = np.bincount(inverse[sel], weights=av[sel], minlength=m)
        sel = part & ~np.isnan(c)
        co2[:, j] = np.bincount(inverse[sel], weights=c[sel], minlength=m)
    distance = np.full(m, np.inf)
    np.minimum.at(distance, inverse, np.nan_to_num(net.distance_km[e], nan=np.inf))
    return OrgLinks(
        a=(pairs // n).astype(np.int64),
        b=(pairs % n).astype(np.int64),
        weight=np.bincount(inverse, weights=net.weight[e], minlength=m).astype(np.float64),
        matches=np.bincount(inverse[~is_x], minlength=m).astype(np.int64),
        exchanges=np.bincount(inverse[is_x], minlength=m).astype(np.int64),
        amounts=amounts,
        co2=co2,
        distance_km=distance,
    )


# --- centrality -----------------------------------------------------------------------------------------------


@dataclass
class Centrality:
    """Per organisation node (indexed like `net.organizations`)."""

    org: Ints
    strength: Floats  # weighted degree
    partners: Ints  # distinct linked organisations
    exchanges: Ints
    matches: Ints
    betweenness: Floats  # normalised within the organisation's component, 0..1; NaN if not computed


# Betweenness is measured over the links within this distance (the brokers of a region's exchanges: long links
# would join every region into one component, where exact betweenness costs O(V·E): 52 s at 9k organisations),
# exactly in each connected component up to BETWEENNESS_EXACT_LIMIT organisations; larger components get NaN.
BETWEENNESS_KM = 50.0
BETWEENNESS_EXACT_LIMIT = 3000


def centrality(
    net: Network,
    links: OrgLinks | None = None,
    betweenness: bool = True,
    *,
    within_km: float = BETWEENNESS_KM,
    exact_limit: int = BETWEENNESS_EXACT_LIMIT,
) -> Centrality:
    """Weighted degree and partners over every match and exchange link; betweenness over the links up to
    `within_km` long, normalised within each connected component (Freeman's (n-1)(n-2)/2 pairs of that
    component), computed by rustworkx over unweighted shortest paths."""
    lk = net.links if links is None else links
    n = len(net)
    ends = np.concatenate([lk.a, lk.b])
    strength = np.bincount(ends, weights=np.concatenate([lk.weight, lk.weight]), minlength=n).astype(np.float64)
    partners = np.bincount(ends, minlength=n)
    exchanges = np.bincount(ends, weights=np.concatenate([lk.exchanges, lk.exchanges]), minlength=n)
    matches = np.bincount(ends, weights=np.concatenate([lk.matches, lk.matches]), minlength=n)
    between = np.zeros(n)
    if betweenness and len(lk):
        between = _local_betweenness(lk, n, within_km, exact_limit)
    orgs = net.organizations
    return Centrality(
        org=orgs,
        strength=strength[orgs],
        partners=partners[orgs].astype(np.int64),
        exchanges=exchanges[orgs].astype(np.int64),
        matches=matches[orgs].astype(np.int64),
        betweenness=between[orgs],
    )


def _local_betweenness(lk: OrgLinks, n: int, within_km: float, exact_limit: int) -> Floats:
    import rustworkx as rx
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    between = np.zeros(n)
    near = lk.distance_km <= within_km
    a, b = lk.a[near], lk.b[near]
    if a.size == 0:
        return between
    _, label = connected_components(coo_matrix((np.ones(a.size), (a, b)), shape=(n, n)), directed=False)
    linked = np.unique(np.concatenate([a, b]))
    size = np.bincount(label[linked], minlength=n)
    too_large = size[label[linked]] > exact_limit
    between[linked[too_large]] = np.nan
    keep = size[label[a]] <= exact_limit
    a, b = a[keep], b[keep]
    nodes = linked[~too_large]
    local = np.full(n, -1, dtype=np.int64)
    local[nodes] = np.arange(nodes.size)
    g: Any = rx.PyGraph(multigraph=False)
    g.add_nodes_from(range(nodes.size))
    g.add_edges_from_no_data(list(zip(local[a].tolist(), local[b].tolist(), strict=True)))
    # one call over every component (paths never cross components), then each normalised by its own size
    raw = rx.graph_betweenness_centrality(g, normalized=False)
    values = np.array([raw[i] for i in range(nodes.size)], dtype=np.float64)
    m = size[label[nodes]].astype(np.float64)
    pairs = (m - 1) * (m - 2) / 2
    between[nodes] = np.divide(values, pairs, out=np.zeros_like(values), where=pairs > 0)
    return between


def rank(c: Centrality, by: str = "strength") -> Ints:
    """Positions in `c` from the most central down (ties: the other measure, then more exchanges)."""
    between = np.nan_to_num(c.betweenness, nan=-1.0)  # not computed: after every computed value
    first, second = (c.strength, between) if by == "strength" else (between, c.strength)
    return np.lexsort((-c.exchanges, -second, -first)).astype(np.int64)


# --- clusters -------------------------------------------------------------------------------------------------


@dataclass
class Cluster:
    members: Ints  # organisation node indices, most linked first
    links: int  # pairs of member organisations linked
    matches: int
    exchanges: int
    amounts: Floats  # [matched, exchanged] × [t/yr, GWh/yr, m3/yr] over the links inside
    co2: Floats  # [matched, exchanged] t/yr
    weight: float


def clusters(
    net: Network,
    *,
    max_km: float = 25.0,
    min_size: int = 3,
    max_members: int = 40,
    seed: int = 42,
    links: OrgLinks | None = None,
) -> list[Cluster]:
    """Candidate eco-industrial parks: organisations linked by matches or exchanges no farther than `max_km`
    apart, in connected groups of at least `min_size`; a group larger than `max_members` is divided into its
    Louvain modularity communities (seeded, so runs agree). Largest link weight first."""
    import networkx as nx
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    lk = net.links if links is None else links
    near = np.flatnonzero(lk.distance_km <= max_km)
    if near.size == 0:
        return []
    a, b = lk.a[near], lk.b[near]
    n = len(net)
    graph = coo_matrix((np.ones(near.size), (a, b)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    linked = np.unique(np.concatenate([a, b]))
    groups: dict[int, list[int]] = {}
    for node in linked.tolist():
        groups.setdefault(int(label[node]), []).append(node)
    parts: list[list[int]] = []
    for members in groups.values():
        if len(members) < min_size:
            continue
        if len(members) <= max_members:
            parts.append(members)
            continue
        inside = np.isin(a, members)
        g: Any = nx.Graph()
        weights = lk.weight[near][inside].tolist()
        g.add_weighted_edges_from(zip(a[inside].tolist(), b[inside].tolist(), weights, strict=True))
        for community in nx.community.louvain_communities(g, weight="weight", seed=seed):
            if len(community) >= min_size:
                parts.append(sorted(community))
    community_of = np.full(n, -1, dtype=np.int64)
    for i, members in enumerate(parts):
        community_of[members] = i
    ca, cb = community_of[a], community_of[b]
    inner = (ca >= 0) & (ca == cb)
    rows, which = near[inner], ca[inner]
    k = len(parts)
    strength = np.bincount(np.concatenate([a, b]), weights=np.concatenate([lk.weight[near]] * 2), minlength=n)
    weight = np.bincount(which, weights=lk.weight[rows], minlength=k)
    out = []
    for i, members in enumerate(parts):
        sel = rows[which == i]
        m = np.asarray(members, dtype=np.int64)
        out.append(
            Cluster(
                members=m[np.argsort(-strength[m], kind="stable")],
                links=int(sel.size),
                matches=int(lk.matches[sel].sum()),
                exchanges=int(lk.exchanges[sel].sum()),
                amounts=lk.amounts[sel].sum(axis=0),
                co2=lk.co2[sel].sum(axis=0),
                weight=float(weight[i]),
            )
        )
    out.sort(key=lambda c: (-c.weight, -c.members.size))
    return out


def centroid(lat: Floats, lon: Floats) -> tuple[float, float, float]:
    """Mean position of points (a park spans a few km: the plain mean is accurate there) and the largest
    distance from it to a point, km. NaN positions are ignored."""
    ok = ~(np.isnan(lat) | np.isnan(lon))
    if not ok.any():
        return float("nan"), float("nan"), float("nan")
    clat, clon = float(lat[ok].mean()), float(lon[ok].mean())
    radius = haversine_km(np.full(ok.sum(), clat), np.full(ok.sum(), clon), lat[ok], lon[ok])
    return clat, clon, float(radius.max())


# --- resilience -----------------------------------------------------------------------------------------------


@dataclass
class Dependent:
    """A counterpart flow (or organisation, for an exchange whose flow was deleted) that loses links."""

    node: int
    side: str  # "demand": it loses a supply; "supply": it loses an outlet
    lost: Ints  # edge indices lost
    alternatives: Ints  # remaining match/exchange edges of the same side, best first
    status: str  # no_alternative | best_lost | alternative_exists


@dataclass
class Resilience:
    removed: Ints  # node indices taken out (an organisation and its flows, or one flow)
    lost_edges: Ints
    dependents: list[Dependent]

    def lost(self, net: Network, kind: EdgeKind) -> Ints:
        return np.asarray(self.lost_edges[net.edge_kind[self.lost_edges] == kind], dtype=np.int64)


def resilience(net: Network, target: int, alternatives: int = 3) -> Resilience:
    """What breaks if organisation or flow `target` stops: every match and exchange it is a party to is lost;
    each counterpart keeps the links it has with other organisations, and loses its only (no_alternative) or its
    best link (best_lost: a lost exchange counts as better than any match), or keeps a better one."""
    if net.node_kind[target] == NodeKind.ORGANIZATION:
        removed = np.flatnonzero(net.node_org == target)
        removed = removed[np.isin(net.node_kind[removed], (NodeKind.ORGANIZATION, NodeKind.FLOW))]
        removed_orgs = np.array([target])
    elif net.node_kind[target] == NodeKind.FLOW:
        removed = np.array([target], dtype=np.int64)
        removed_orgs = np.zeros(0, dtype=np.int64)
    else:
        raise ValueError("resilience is asked of an organisation or a flow")
    lost = net.incident(removed)
    gone = np.zeros(len(net), dtype=bool)
    gone[removed] = True
    # the counterpart is the end that is not removed (an edge inside the organisation is lost to nobody)
    other = np.where(gone[net.src[lost]], net.dst[lost], net.src[lost])
    outside = ~gone[other] & ~np.isin(net.node_org[other], removed_orgs)
    if removed_orgs.size == 0:  # one flow: the same organisation's other flows are counterparts like any
        outside = ~gone[other]
    lost, other = lost[outside], other[outside]
    dependents = []
    for node in np.unique(other).tolist():
        mine = lost[other == node]
        side = "demand" if net.dst[mine[0]] == node else "supply"
        incident = net.incident(np.array([node]))
        far = np.where(net.src[incident] == node, net.dst[incident], net.src[incident])
        # an alternative: a link on the same side, with an organisation that stays (and not to itself)
        same_side = (net.dst[incident] == node) if side == "demand" else (net.src[incident] == node)
        keep = same_side & ~gone[far] & ~np.isin(net.node_org[far], removed_orgs) & (far != node)
        alt = incident[keep]
        alt = alt[np.lexsort((-net.weight[alt], -(net.edge_kind[alt] == EdgeKind.EXCHANGE).astype(np.int8)))]
        best_lost = float(net.weight[mine].max())
        if alt.size == 0:
            status = "no_alternative"
        elif best_lost > float(net.weight[alt].max()):
            status = "best_lost"
        else:
            status = "alternative_exists"
        dependents.append(Dependent(int(node), side, mine, alt[:alternatives], status))
    order = {"no_alternative": 0, "best_lost": 1, "alternative_exists": 2}
    dependents.sort(
        key=lambda d: (
            order[d.status],
            -int((net.edge_kind[d.lost] == EdgeKind.EXCHANGE).any()),
            -float(net.weight[d.lost].max()),
        )
    )
    return Resilience(removed=removed, lost_edges=lost, dependents=dependents)


# --- views ----------------------------------------------------------------------------------------------------


def in_box(lat: Floats, lon: Floats, box: BBox) -> NDArray[np.bool_]:
    return (lat >= box.min_lat) & (lat <= box.max_lat) & (lon >= box.min_lon) & (lon <= box.max_lon)


def select(
    net: Network,
    box: BBox,
    *,
    lat: Floats | None = None,
    lon: Floats | None = None,
    kinds: set[EdgeKind] | None = None,
    min_score: float = 0.0,
    category: str | None = None,
) -> tuple[Ints, Ints]:
    """Nodes inside `box` (at the positions given, by default the true ones) and the edges between two of them,
    of `kinds` (all by default; given kinds keep only the nodes those edges touch), matches scoring at least
    `min_score`; with `category`, flows of other categories and their edges are left out."""
    la = net.lat if lat is None else lat
    lo = net.lon if lon is None else lon
    keep = in_box(la, lo, box)
    if category is not None:
        is_flow = net.node_kind == NodeKind.FLOW
        other = np.array([c != category for c in net.category], dtype=bool) & is_flow
        keep &= ~other
    edge_ok = keep[net.src] & keep[net.dst]
    if kinds is not None:
        edge_ok &= np.isin(net.edge_kind, [int(k) for k in kinds])
    edge_ok &= (net.edge_kind != EdgeKind.MATCH) | (net.weight >= min_score)
    edges = np.flatnonzero(edge_ok)
    if kinds is not None:
        touched = np.zeros(len(net), dtype=bool)
        touched[net.src[edges]] = True
        touched[net.dst[edges]] = True
        keep &= touched
    return np.flatnonzero(keep), edges


def stats(net: Network) -> dict[str, Any]:
    """Counts of nodes and edges by kind, the linked organisations and their connected groups, and the totals
    matched and exchanged."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    lk = net.links
    n = len(net)
    linked = np.unique(np.concatenate([lk.a, lk.b])) if len(lk) else np.zeros(0, dtype=np.int64)
    components = largest = 0
    if len(lk):
        graph = coo_matrix((np.ones(len(lk)), (lk.a, lk.b)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        sizes = np.bincount(label[linked])
        sizes = sizes[sizes > 0]
        components, largest = int(sizes.size), int(sizes.max())
    totals: dict[str, dict[str, float]] = {}
    for kind in LINK_KINDS:
        sel = net.edge_kind == kind
        name = EDGE_KINDS[kind]
        totals[name] = {}
        for k, unit in enumerate(AMOUNT_UNITS):
            part = sel & (net.edge_amount_kind == k)
            totals[name][unit] = float(np.nansum(net.edge_amount[part]))
        totals[name]["co2_t_per_year"] = float(np.nansum(net.co2[sel]))
    orgs = int(net.organizations.size)
    return {
        "nodes": {name: int((net.node_kind == k).sum()) for k, name in enumerate(NODE_KINDS)},
        "edges": {name: int((net.edge_kind == k).sum()) for k, name in enumerate(EDGE_KINDS)},
        "organizations_linked": int(linked.size),
        "organization_links": len(lk),
        "connected_groups": components,
        "largest_group": largest,
        "density": 0.0 if orgs < 2 else 2 * len(lk) / (orgs * (orgs - 1)),
        "totals": totals,
    }
