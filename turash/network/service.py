"""The network use cases: the graph for the map, anchor tenants, candidate eco-industrial parks, resilience.

The graph is built from the register (turash.network.repository) once per data version and kept in the
process (`holder`, the runtime's extras); the analyses of a version are computed once too.

What a caller sees follows the rest of the API (turash.proposals.disclosure, turash.potential): its own
organisations, public-register ones and partners named in a proposal under NDA appear in full. Every other
organisation is "private organisation" with its sector: one node at its position rounded to 0.1° (about 11 km,
so neither a bounding box nor a centroid places it more finely), under an opaque id that is stable but is not its
id; its sites, flows and services fold into that node, and edges between the same two nodes merge. Analyses run
on the whole network (a park or an anchor is what it is whoever asks), shown through the same lens.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.kit.errors import Forbidden, NotFound, ValidationFailed
from turash.kit.geo import BBox
from turash.models import Membership
from turash.network import graph, repository
from turash.network.graph import AMOUNT_UNITS, EDGE_KINDS, NODE_KINDS, EdgeKind, Network, NodeKind

ANONYMOUS = "private organisation"
COARSE_DEGREES = 0.1
_lock = threading.Lock()


# --- the graph of a data version ------------------------------------------------------------------------------


def network(session: Session, holder: dict[str, Any]) -> Network:
    """The network of the register as it is now (rebuilt when anything it reads has changed)."""
    current = repository.version(session)
    with _lock:
        cached = holder.get("network")
        if cached is not None and cached[0] == current:
            return cached[1]  # type: ignore[no-any-return]
    start = time.perf_counter()
    net = graph.build(repository.load(session))
    net.memo["built_seconds"] = time.perf_counter() - start
    net.memo["version"] = current
    with _lock:
        holder["network"] = (current, net)
    return net


def _memo(net: Network, key: str, compute: Any) -> Any:
    with _lock:
        if key in net.memo:
            return net.memo[key]
    value = compute()
    with _lock:
        net.memo.setdefault(key, value)
    return net.memo[key]


def centrality(net: Network) -> graph.Centrality:
    return _memo(net, "centrality", lambda: graph.centrality(net))  # type: ignore[no-any-return]


def _metrics_of(net: Network) -> dict[int, dict[str, Any]]:
    c = centrality(net)
    return {
        int(o): {
            "weighted_degree": round(float(s), 4),
            "partners": int(p),
            "matches": int(m),
            "exchanges": int(x),
            "betweenness": _num(float(b), 6),
        }
        for o, s, p, m, x, b in zip(
            c.org.tolist(),
            c.strength.tolist(),
            c.partners.tolist(),
            c.matches.tolist(),
            c.exchanges.tolist(),
            c.betweenness.tolist(),
            strict=True,
        )
    }


# --- who sees what --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """`shown`: organisation ids seen in full besides the public-register ones (None: everything, for the CLI
    and platform administrators)."""

    shown: frozenset[str] | None
    key: bytes = b""

    def alias(self, org_id: str) -> str:
        """An opaque, stable id for an organisation the viewer does not see (HMAC of its id under the secret)."""
        return "private-" + hmac.new(self.key, org_id.encode(), hashlib.sha256).hexdigest()[:16]


EVERYTHING = Viewer(None)


def viewer_for(session: Session, principal: Principal, secret: str) -> Viewer:
    from turash.proposals.disclosure import visible_organizations

    if principal.is_admin and principal.api_key_organization_id is None:
        return Viewer(None, secret.encode())
    if principal.api_key_organization_id is not None:
        mine = {principal.api_key_organization_id}
    else:
        mine = set(
            session.scalars(sa.select(Membership.organization_id).where(Membership.user_id == principal.user.id))
        )
    # public-register organisations are seen by everyone: the network knows them (Network.public)
    return Viewer(frozenset(visible_organizations(session, mine)), secret.encode())


@dataclass
class Lens:
    """The network as one viewer sees it: which nodes are hidden, where nodes are shown."""

    net: Network
    viewer: Viewer
    hidden: np.ndarray[Any, Any]  # per node
    lat: np.ndarray[Any, Any]
    lon: np.ndarray[Any, Any]

    def org_of(self, node: int) -> int:
        return int(self.net.node_org[node])

    def shown_node(self, node: int) -> int:
        """The node standing for `node`: itself, or its organisation's when that is hidden."""
        return self.org_of(node) if self.hidden[node] else node

    def node_id(self, node: int) -> str:
        net = self.net
        if self.hidden[node]:
            return self.viewer.alias(net.node_id[self.org_of(node)])
        return net.node_id[node]

    def organization(self, node: int) -> dict[str, Any]:
        org = self.org_of(node)
        if org < 0:
            return {"id": None, "name": None, "sector": None}
        if self.hidden[node]:
            return {"id": self.viewer.alias(self.net.node_id[org]), "name": ANONYMOUS, "sector": self.net.nace[org]}
        return {"id": self.net.node_id[org], "name": self.net.label[org], "sector": self.net.nace[org]}

    def position(self, node: int) -> tuple[float | None, float | None]:
        la, lo = float(self.lat[node]), float(self.lon[node])
        if math.isnan(la) or math.isnan(lo):
            return None, None
        return round(la, 6), round(lo, 6)


def lens(net: Network, viewer: Viewer) -> Lens:
    if viewer.shown is None:
        return Lens(net, viewer, np.zeros(len(net), dtype=bool), net.lat, net.lon)
    orgs = net.node_org
    org_hidden = np.array([ident not in viewer.shown for ident in net.node_id], dtype=bool) & ~net.public
    hidden = np.where(orgs >= 0, org_hidden[np.maximum(orgs, 0)], False)
    lat, lon = net.lat.copy(), net.lon.copy()
    owner = np.maximum(orgs[hidden], 0)
    lat[hidden] = np.round(net.lat[owner] / COARSE_DEGREES) * COARSE_DEGREES
    lon[hidden] = np.round(net.lon[owner] / COARSE_DEGREES) * COARSE_DEGREES
    return Lens(net, viewer, hidden, lat, lon)


# --- the map --------------------------------------------------------------------------------------------------


def parse_kinds(text: str | None) -> set[EdgeKind] | None:
    if not text:
        return None
    kinds = set()
    for part in text.split(","):
        name = part.strip().lower()
        if name not in EDGE_KINDS:
            raise ValidationFailed(
                f"unknown edge kind {name!r}: use a comma-separated list of {', '.join(EDGE_KINDS)}",
                details=[{"field": "kinds", "message": f"unknown kind {name!r}"}],
            )
        kinds.add(EdgeKind(EDGE_KINDS.index(name)))
    return kinds


def parse_bbox(text: str | None, *, required: bool) -> BBox | None:
    if not text:
        if required:
            raise ValidationFailed(
                "bbox is required: min_lon,min_lat,max_lon,max_lat (WGS84 degrees)",
                details=[{"field": "bbox", "message": "missing"}],
            )
        return None
    try:
        return BBox.parse(text)
    except ValueError as exc:
        raise ValidationFailed(f"bbox: {exc}", details=[{"field": "bbox", "message": str(exc)}]) from None


def _amount(net: Network, edge: int) -> tuple[float | None, str | None]:
    k = int(net.edge_amount_kind[edge])
    v = float(net.edge_amount[edge])
    if k < 0 or math.isnan(v):
        return None, None
    return round(v, 3), AMOUNT_UNITS[k]


def _num(value: float, digits: int = 3) -> float | None:
    return None if math.isnan(value) else round(float(value), digits)


def view(
    net: Network,
    viewer: Viewer,
    box: BBox,
    *,
    kinds: set[EdgeKind] | None = None,
    min_score: float = 0.0,
    category: str | None = None,
    max_nodes: int = 5000,
    max_edges: int = 20000,
) -> dict[str, Any]:
    """Nodes inside the box and the edges between them, as the viewer may see them."""
    ln = lens(net, viewer)
    nodes, edges = graph.select(net, box, lat=ln.lat, lon=ln.lon, kinds=kinds, min_score=min_score, category=category)
    shown_nodes = np.unique(np.where(ln.hidden[nodes], net.node_org[nodes], nodes))
    if shown_nodes.size > max_nodes or edges.size > max_edges:
        raise ValidationFailed(
            f"the box holds {shown_nodes.size:,} nodes and {edges.size:,} edges; at most {max_nodes:,} nodes and "
            f"{max_edges:,} edges are returned at once. Narrow it: a smaller bbox, `kinds=match,exchange`, "
            "a higher `min_score` or one `category`",
            code="result_too_large",
            details={
                "nodes": int(shown_nodes.size),
                "edges": int(edges.size),
                "max_nodes": max_nodes,
                "max_edges": max_edges,
            },
        )
    metrics = _memo(net, "metrics", lambda: _metrics_of(net))
    out_nodes = []
    for node in shown_nodes.tolist():
        kind = int(net.node_kind[node])
        la, lo = ln.position(node)
        item: dict[str, Any] = {
            "id": ln.node_id(node),
            "kind": NODE_KINDS[kind],
            "label": ANONYMOUS if ln.hidden[node] else net.label[node],
            "lat": la,
            "lon": lo,
            "organization": ln.organization(node),
            "metrics": metrics.get(node, {}) if kind == NodeKind.ORGANIZATION else {},
        }
        if kind == NodeKind.FLOW:
            item.update(
                direction="supply" if net.direction[node] == 0 else "demand",
                resource_class=net.resource_class[node],
                category=net.category[node],
            )
        elif kind == NodeKind.SERVICE:
            item["service_kind"] = net.service_kind[node]
        out_nodes.append(item)
    merged: dict[tuple[int, int, int], dict[str, Any]] = {}
    for e in edges.tolist():
        a, b = ln.shown_node(int(net.src[e])), ln.shown_node(int(net.dst[e]))
        if a == b:  # inside one hidden organisation
            continue
        kind = int(net.edge_kind[e])
        key = (a, b, kind)
        amount, unit = _amount(net, e)
        open_edge = not (ln.hidden[a] or ln.hidden[b])
        if key in merged:
            m = merged[key]
            m["count"] += 1
            m["weight"] = max(m["weight"], round(float(net.weight[e]), 4))
            m["id"] = None
            if amount is not None and m["unit"] in (None, unit):
                m["amount"] = round((m["amount"] or 0.0) + amount, 3)
                m["unit"] = unit
            if not math.isnan(net.co2[e]):
                m["co2_t_per_year"] = round((m["co2_t_per_year"] or 0.0) + float(net.co2[e]), 1)
            continue
        merged[key] = {
            "id": (net.edge_ref[e] or None) if open_edge else None,
            "source": ln.node_id(a),
            "target": ln.node_id(b),
            "kind": EDGE_KINDS[kind],
            "weight": round(float(net.weight[e]), 4),
            "count": 1,
            "amount": amount,
            "unit": unit,
            "co2_t_per_year": _num(float(net.co2[e]), 1),
            "distance_km": _distance(net.distance_km[e], open_edge),
            "status": net.edge_status[e],
        }
    return {
        "bbox": [box.min_lon, box.min_lat, box.max_lon, box.max_lat],
        "nodes": out_nodes,
        "edges": list(merged.values()),
        "counts": {"nodes": len(out_nodes), "edges": len(merged)},
    }


def _distance(km: float, exact: bool) -> float | None:
    if math.isnan(km) or math.isinf(km):
        return None
    return round(float(km), 2) if exact else float(round(float(km)))  # whole km with a hidden party (as matching)


# --- analyses -------------------------------------------------------------------------------------------------


def _org_entry(ln: Lens, org: int) -> dict[str, Any]:
    la, lo = ln.position(org)
    entry = ln.organization(org)
    return {"id": entry["id"], "name": entry["name"], "sector": entry["sector"], "lat": la, "lon": lo}


def anchors(
    net: Network, viewer: Viewer, *, top: int = 20, by: str = "strength", box: BBox | None = None
) -> dict[str, Any]:
    """Anchor tenants: organisations ranked by weighted degree (or betweenness) over match and exchange links."""
    c = centrality(net)
    ln = lens(net, viewer)
    order = graph.rank(c, by)
    out: list[dict[str, Any]] = []
    for i in order.tolist():
        org = int(c.org[i])
        if c.partners[i] == 0:
            continue  # not linked: no anchor
        if box is not None and not graph.in_box(ln.lat[org : org + 1], ln.lon[org : org + 1], box)[0]:
            continue
        out.append(
            {
                "rank": len(out) + 1,
                "organization": _org_entry(ln, org),
                "weighted_degree": round(float(c.strength[i]), 4),
                "betweenness": _num(float(c.betweenness[i]), 6),
                "partners": int(c.partners[i]),
                "matches": int(c.matches[i]),
                "exchanges": int(c.exchanges[i]),
            }
        )
        if len(out) >= top:
            break
    return {"by": by, "anchors": out}


def _amounts(values: np.ndarray[Any, Any]) -> dict[str, float]:
    return {unit: round(float(v), 3) for unit, v in zip(AMOUNT_UNITS, values.tolist(), strict=True)}


def clusters(
    net: Network,
    viewer: Viewer,
    *,
    max_km: float = 25.0,
    min_size: int = 3,
    max_members: int = 40,
    box: BBox | None = None,
    limit: int = 50,
) -> dict[str, Any]:
    """Candidate eco-industrial parks (turash.network.graph.clusters), with members, centroid and totals."""
    key = f"clusters:{max_km}:{min_size}:{max_members}"
    found: list[graph.Cluster] = _memo(
        net, key, lambda: graph.clusters(net, max_km=max_km, min_size=min_size, max_members=max_members)
    )
    c = centrality(net)
    strength = dict(zip(c.org.tolist(), c.strength.tolist(), strict=True))
    ln = lens(net, viewer)
    out: list[dict[str, Any]] = []
    for cluster in found:
        m = cluster.members
        clat, clon, radius = graph.centroid(ln.lat[m], ln.lon[m])
        if box is not None and not (box.min_lat <= clat <= box.max_lat and box.min_lon <= clon <= box.max_lon):
            continue
        out.append(
            {
                "rank": len(out) + 1,
                "size": int(m.size),
                "centroid": {"lat": _num(clat, 5), "lon": _num(clon, 5)},
                "radius_km": _num(radius, 2),
                "links": cluster.links,
                "matches": cluster.matches,
                "exchanges": cluster.exchanges,
                "weight": round(cluster.weight, 4),
                "matched": _amounts(cluster.amounts[0]),
                "exchanged": _amounts(cluster.amounts[1]),
                "co2_t_per_year": {
                    "matched": round(float(cluster.co2[0]), 1),
                    "exchanged": round(float(cluster.co2[1]), 1),
                },
                "members": [
                    {**_org_entry(ln, int(o)), "weighted_degree": round(strength.get(int(o), 0.0), 4)}
                    for o in m.tolist()
                ],
            }
        )
        if len(out) >= limit:
            break
    return {"max_km": max_km, "min_size": min_size, "count": len(out), "clusters": out}


def _flow_entry(ln: Lens, node: int) -> dict[str, Any]:
    net = ln.net
    kind = int(net.node_kind[node])
    entry: dict[str, Any] = {
        "id": None if ln.hidden[node] else net.node_id[node],
        "kind": NODE_KINDS[kind],
        "organization": ln.organization(node),
    }
    if kind == NodeKind.FLOW:
        entry.update(
            direction="supply" if net.direction[node] == 0 else "demand",
            resource=net.resource[node],
            resource_class=net.resource_class[node],
            category=net.category[node],
        )
    return entry


def _link_entry(ln: Lens, edge: int, far: int) -> dict[str, Any]:
    net = ln.net
    amount, unit = _amount(net, edge)
    exact = not (ln.hidden[far] or ln.hidden[int(net.src[edge])] or ln.hidden[int(net.dst[edge])])
    return {
        "kind": EDGE_KINDS[int(net.edge_kind[edge])],
        "id": (net.edge_ref[edge] or None) if exact else None,
        "status": net.edge_status[edge],
        "score": round(float(net.weight[edge]), 4),
        "with": _flow_entry(ln, far),
        "amount": amount,
        "unit": unit,
        "co2_t_per_year": _num(float(net.co2[edge]), 1),
        "distance_km": _distance(float(net.distance_km[edge]), exact),
    }


def find_node(net: Network, ident: str) -> int:
    node = net.index.get(ident)
    if node is None or net.node_kind[node] not in (NodeKind.ORGANIZATION, NodeKind.FLOW):
        raise NotFound(
            f"no organisation or flow with id {ident!r}", details={"kind": "organization or flow", "id": ident}
        )
    return node


def resilience(net: Network, viewer: Viewer, ident: str, *, limit: int = 100, alternatives: int = 3) -> dict[str, Any]:
    """What breaks if the organisation or flow `ident` stops."""
    target = find_node(net, ident)
    ln = lens(net, viewer)
    if ln.hidden[target]:
        raise Forbidden(
            "resilience is shown for your organisations, public-register ones and partners named in a proposal"
        )
    r = graph.resilience(net, target, alternatives=alternatives)
    sums: dict[str, np.ndarray[Any, Any]] = {}
    co2: dict[str, float] = {}
    for link in (EdgeKind.MATCH, EdgeKind.EXCHANGE):
        lost = r.lost(net, link)
        totals = np.zeros(3)
        for k in range(3):
            sel = lost[(net.edge_amount_kind[lost] == k)]
            totals[k] = float(np.nansum(net.edge_amount[sel]))
        sums[EDGE_KINDS[link]] = totals
        co2[EDGE_KINDS[link]] = float(np.nansum(net.co2[lost]))
    statuses = [d.status for d in r.dependents]
    affected_orgs = {int(net.node_org[d.node]) for d in r.dependents}
    removed = set(r.removed.tolist())
    dependents: list[dict[str, Any]] = []
    for d in r.dependents[:limit]:
        lost_links = []
        for e in d.lost.tolist():
            far = int(net.src[e]) if int(net.src[e]) in removed else int(net.dst[e])
            lost_links.append(_link_entry(ln, e, far))
        alts = []
        for e in d.alternatives.tolist():
            far = int(net.src[e]) if int(net.dst[e]) == d.node else int(net.dst[e])
            alts.append(_link_entry(ln, e, far))
        dependents.append(
            {
                **_flow_entry(ln, d.node),
                "loses": "supply" if d.side == "demand" else "outlet",
                "status": d.status,
                "lost": lost_links,
                "alternatives": alts,
            }
        )
    kind = int(net.node_kind[target])
    return {
        "target": {
            "id": net.node_id[target],
            "kind": NODE_KINDS[kind],
            "label": net.label[target],
            "organization": ln.organization(target),
        },
        "removed_flows": int((net.node_kind[r.removed] == NodeKind.FLOW).sum()),
        "summary": {
            "exchanges_lost": int(r.lost(net, EdgeKind.EXCHANGE).size),
            "matches_lost": int(r.lost(net, EdgeKind.MATCH).size),
            "dependents": len(r.dependents),
            "no_alternative": statuses.count("no_alternative"),
            "best_lost": statuses.count("best_lost"),
            "alternative_exists": statuses.count("alternative_exists"),
            "organizations_affected": len(affected_orgs),
            "exchanged": _amounts(sums["exchange"]),
            "matched": _amounts(sums["match"]),
            "co2_t_per_year_exchanges": round(co2["exchange"], 1),
            "co2_t_per_year_matches": round(co2["match"], 1),
        },
        "dependents": dependents,
        "truncated": len(r.dependents) > limit,
    }


def stats(net: Network) -> dict[str, Any]:
    out = graph.stats(net)
    out["version"] = net.memo.get("version")
    out["built_seconds"] = round(float(net.memo.get("built_seconds", 0.0)), 3)
    return out
