"""The pure network computations (turash.network.graph) on small hand-made and generated networks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from turash.kit.geo import BBox, haversine_km
from turash.network import graph
from turash.network.graph import EdgeKind, NodeKind, Tables


def tables(
    orgs: Sequence[tuple[str, float, float]],
    flows: Sequence[tuple[str, str, str, float | None, str | None]],
    matches: Sequence[tuple[str, str, float]] = (),
    exchanges: Sequence[tuple[str, str]] = (),
    co2: float | None = None,
) -> Tables:
    """orgs: (id, lat, lon), one site each ("s" + id); flows: (id, org, direction, amount, kind)."""
    where = {o: (lat, lon) for o, lat, lon in orgs}
    org_of = {f: o for f, o, *_ in flows}

    def km(s: str, d: str) -> float:
        (la1, lo1), (la2, lo2) = where[org_of[s]], where[org_of[d]]
        return haversine_km(la1, lo1, la2, lo2)

    return Tables(
        org_id=[o for o, _, _ in orgs],
        org_name=[f"Org {o}" for o, _, _ in orgs],
        org_nace=[None] * len(orgs),
        org_public=[True] * len(orgs),
        site_id=[f"s{o}" for o, _, _ in orgs],
        site_org=[o for o, _, _ in orgs],
        site_name=[f"Site {o}" for o, _, _ in orgs],
        site_lat=[lat for _, lat, _ in orgs],
        site_lon=[lon for _, _, lon in orgs],
        site_nace=[None] * len(orgs),
        flow_id=[f for f, *_ in flows],
        flow_org=[o for _, o, *_ in flows],
        flow_site=[f"s{o}" for _, o, *_ in flows],
        flow_direction=[d for _, _, d, _, _ in flows],
        flow_resource=[f"resource {f}" for f, *_ in flows],
        flow_class=[None] * len(flows),
        flow_category=["material"] * len(flows),
        flow_amount=[a for *_, a, _ in flows],
        flow_amount_kind=[k for *_, k in flows],
        match_id=[f"m{s}{d}" for s, d, _ in matches],
        match_supply=[s for s, _, _ in matches],
        match_demand=[d for _, d, _ in matches],
        match_score=[score for _, _, score in matches],
        match_distance_km=[km(s, d) for s, d, _ in matches],
        match_co2=[co2] * len(matches),
        exchange_id=[f"p{s}{d}" for s, d in exchanges],
        exchange_supply=[s for s, _ in exchanges],
        exchange_demand=[d for _, d in exchanges],
        exchange_supply_org=[None] * len(exchanges),
        exchange_demand_org=[None] * len(exchanges),
        exchange_status=["implemented"] * len(exchanges),
        exchange_co2=[co2] * len(exchanges),
    )


def hub() -> graph.Network:
    """H supplies three receivers (A, B, C); B has a second, weaker supplier S; D stands alone."""
    orgs = [
        ("H", 55.0, 11.0),
        ("A", 55.01, 11.0),
        ("B", 55.02, 11.0),
        ("C", 55.0, 11.02),
        ("S", 55.1, 11.1),
        ("D", 56.0, 12.0),
    ]
    flows = [
        ("h1", "H", "supply", 1000.0, "mass"),
        ("h2", "H", "supply", 50.0, "energy"),
        ("a1", "A", "demand", 400.0, "mass"),
        ("b1", "B", "demand", 2000.0, "mass"),
        ("c1", "C", "demand", None, None),
        ("s1", "S", "supply", 300.0, "mass"),
        ("d1", "D", "supply", 10.0, "mass"),
    ]
    matches = [("h1", "a1", 0.9), ("h1", "b1", 0.8), ("h2", "c1", 0.7), ("s1", "b1", 0.6)]
    return graph.build(tables(orgs, flows, matches, exchanges=[("h1", "a1")], co2=10.0))


def test_build_makes_structural_and_link_edges_with_the_smaller_amount() -> None:
    net = hub()
    counts = {graph.EDGE_KINDS[k]: int((net.edge_kind == k).sum()) for k in EdgeKind}
    assert counts == {"owns": 6, "located_at": 7, "match": 4, "exchange": 1, "service": 0}
    match = np.flatnonzero(net.edge_kind == EdgeKind.MATCH)
    amounts = {net.edge_ref[e]: (float(net.edge_amount[e]), int(net.edge_amount_kind[e])) for e in match}
    assert amounts["mh1a1"] == (400.0, 0)  # the receiver needs less than the supplier has
    assert amounts["mh1b1"] == (1000.0, 0)  # the supplier has less than the receiver needs
    assert amounts["mh2c1"] == (50.0, 1)  # the receiver's need is unknown: the supply's amount
    assert net.lat[net.index["H"]] == 55.0 and net.lat[net.index["h1"]] == 55.0  # organisations at their sites


def test_centrality_ranks_the_hub_first_and_strength_sums_link_weights() -> None:
    net = hub()
    c = graph.centrality(net)
    order = graph.rank(c)
    assert net.node_id[c.org[order[0]]] == "H"
    h = int(np.flatnonzero(c.org == net.index["H"])[0])
    assert c.strength[h] == 0.9 + 0.8 + 0.7 + 1.0 and c.partners[h] == 3 and c.exchanges[h] == 1
    assert c.betweenness[h] == max(c.betweenness) > 0
    assert np.isclose(c.strength.sum(), 2 * net.links.weight.sum())
    d = int(np.flatnonzero(c.org == net.index["D"])[0])
    assert c.strength[d] == 0 and c.partners[d] == 0


def test_clusters_keep_close_links_and_leave_far_partners_out() -> None:
    net = hub()
    found = graph.clusters(net, max_km=5, min_size=3)
    assert len(found) == 1
    members = {net.node_id[m] for m in found[0].members.tolist()}
    assert members == {"H", "A", "B", "C"}  # S is 12 km away, D has no links
    assert net.node_id[int(found[0].members[0])] == "H"
    assert found[0].amounts[0, 0] == 400 + 1000 and found[0].amounts[1, 0] == 400  # matched, exchanged t/yr
    assert graph.clusters(net, max_km=50, min_size=3)[0].members.size == 5
    assert graph.clusters(net, max_km=5, min_size=5) == []


def test_a_large_group_is_divided_into_louvain_communities() -> None:
    """Two dense groups of six joined by one link: one connected group of 12 that Louvain divides in two."""
    orgs = [(f"o{i}", 55.0 + 0.001 * i, 11.0) for i in range(12)]
    flows = [(f"s{i}", f"o{i}", "supply", None, None) for i in range(12)]
    flows += [(f"d{i}", f"o{i}", "demand", None, None) for i in range(12)]
    matches = [(f"s{i}", f"d{j}", 0.9) for g in (0, 6) for i in range(g, g + 6) for j in range(g, g + 6) if i != j]
    matches.append(("s5", "d6", 0.1))
    net = graph.build(tables(orgs, flows, matches))
    assert [c.members.size for c in graph.clusters(net, max_km=10, min_size=3, max_members=20)] == [12]
    split = graph.clusters(net, max_km=10, min_size=3, max_members=8)
    assert sorted(c.members.size for c in split) == [6, 6]
    assert {net.node_id[m] for m in split[0].members.tolist()} in (
        {f"o{i}" for i in range(6)},
        {f"o{i}" for i in range(6, 12)},
    )


def test_resilience_of_the_hub() -> None:
    net = hub()
    r = graph.resilience(net, net.index["H"])
    by_flow = {net.node_id[d.node]: d for d in r.dependents}
    assert set(by_flow) == {"a1", "b1", "c1"}
    assert by_flow["a1"].status == "no_alternative" and by_flow["c1"].status == "no_alternative"
    assert by_flow["b1"].status == "best_lost"  # S (0.6) remains, weaker than H (0.8)
    assert [net.edge_ref[e] for e in by_flow["b1"].alternatives.tolist()] == ["ms1b1"]
    assert r.lost(net, EdgeKind.EXCHANGE).size == 1 and r.lost(net, EdgeKind.MATCH).size == 3
    # one flow only: the match h2 → c1 is the only loss
    one = graph.resilience(net, net.index["h2"])
    assert [net.node_id[d.node] for d in one.dependents] == ["c1"]
    # the weaker supplier stopping leaves B its better supply
    s = graph.resilience(net, net.index["S"])
    assert [(net.node_id[d.node], d.status) for d in s.dependents] == [("b1", "alternative_exists")]
    # a receiver stopping: the supplier loses an outlet
    a = graph.resilience(net, net.index["A"])
    assert [(net.node_id[d.node], d.side) for d in a.dependents] == [("h1", "supply")]
    assert a.dependents[0].status == "best_lost"  # its exchange with A was its best outlet; B (a match) remains
    assert [net.edge_ref[e] for e in a.dependents[0].alternatives.tolist()] == ["mh1b1"]


def test_stats_count_and_total() -> None:
    s = graph.stats(hub())
    assert s["nodes"] == {"organization": 6, "site": 6, "flow": 7, "service": 0}
    assert s["organizations_linked"] == 5 and s["connected_groups"] == 1 and s["largest_group"] == 5
    assert s["totals"]["exchange"]["t/yr"] == 400 and s["totals"]["match"]["co2_t_per_year"] == 40


# --- properties on generated networks ---------------------------------------------------------------------------


@st.composite
def networks(draw: st.DrawFn) -> tuple[graph.Network, str]:
    """Up to 10 organisations in a 1° square with up to 3 flows each, random matches and exchanges, and one
    organisation with a site and a flow but no links."""
    n = draw(st.integers(1, 10))
    coord = st.floats(0, 1, allow_nan=False)
    orgs = [(f"o{i}", 55 + draw(coord), 11 + draw(coord)) for i in range(n)]
    flows = []
    for i in range(n):
        for j in range(draw(st.integers(0, 3))):
            flows.append((f"f{i}_{j}", f"o{i}", draw(st.sampled_from(["supply", "demand"])), 10.0, "mass"))
    supplies = [f for f in flows if f[2] == "supply"]
    demands = [f for f in flows if f[2] == "demand"]
    pairs = [(s[0], d[0]) for s in supplies for d in demands if s[1] != d[1]]
    chosen = draw(st.lists(st.sampled_from(pairs), unique=True, max_size=15)) if pairs else []
    matches = [(s, d, draw(st.floats(0.05, 1))) for s, d in chosen]
    exchanges = [p for p in chosen if draw(st.booleans())]
    orgs.append(("lonely", 55.5, 11.5))
    flows.append(("lonely_flow", "lonely", "supply", 5.0, "mass"))
    return graph.build(tables(orgs, flows, matches, exchanges)), "lonely"


@settings(max_examples=60, deadline=None)
@given(networks())
def test_removing_an_isolated_organisation_breaks_nothing(case: tuple[graph.Network, str]) -> None:
    net, lonely = case
    for target in (net.index[lonely], net.index["lonely_flow"]):
        r = graph.resilience(net, target)
        assert r.dependents == [] and r.lost_edges.size == 0


@settings(max_examples=60, deadline=None)
@given(networks(), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1))
def test_a_bbox_keeps_only_inside_nodes_and_edges_between_them(
    case: tuple[graph.Network, str], a: float, b: float, c: float, d: float
) -> None:
    net, _ = case
    box = BBox(11 + min(a, b), 55 + min(c, d), 11 + max(a, b), 55 + max(c, d))
    nodes, edges = graph.select(net, box)
    inside = graph.in_box(net.lat, net.lon, box)
    assert set(nodes.tolist()) == set(np.flatnonzero(inside).tolist())
    kept = set(nodes.tolist())
    assert all(int(net.src[e]) in kept and int(net.dst[e]) in kept for e in edges.tolist())
    between = np.flatnonzero(inside[net.src] & inside[net.dst])
    assert set(edges.tolist()) == set(between.tolist())


@settings(max_examples=60, deadline=None)
@given(networks())
def test_resilience_loses_exactly_the_links_of_the_removed_organisation(case: tuple[graph.Network, str]) -> None:
    net, _ = case
    for org in net.organizations.tolist():
        r = graph.resilience(net, org)
        links = np.flatnonzero(np.isin(net.edge_kind, graph.LINK_KINDS))
        touching = links[(net.node_org[net.src[links]] == org) ^ (net.node_org[net.dst[links]] == org)]
        assert set(r.lost_edges.tolist()) == set(touching.tolist())
        for dep in r.dependents:
            assert net.node_org[dep.node] != org and net.node_kind[dep.node] == NodeKind.FLOW
            assert (dep.status == "no_alternative") == (dep.alternatives.size == 0)
            for e in dep.alternatives.tolist():
                assert org not in (net.node_org[net.src[e]], net.node_org[net.dst[e]])


def test_betweenness_is_regional_and_left_out_for_a_too_large_region() -> None:
    net = hub()
    h = net.index["H"]
    pos = {int(o): i for i, o in enumerate(graph.centrality(net).org.tolist())}
    # S is 12 km from B: within 50 km it is part of H's region (B bridges S), within 5 km it is not
    wide, narrow = graph.centrality(net), graph.centrality(net, within_km=5)
    b = pos[net.index["B"]]
    assert wide.betweenness[b] > 0 and narrow.betweenness[b] == 0
    assert narrow.betweenness[pos[h]] == 1.0  # the centre of a star of four: on every other pair's path
    capped = graph.centrality(net, exact_limit=3)
    assert np.isnan(capped.betweenness[pos[h]])
    order = graph.rank(capped, "betweenness").tolist()
    computed = [i for i in order if not np.isnan(capped.betweenness[i])]
    assert order[: len(computed)] == computed  # not computed: ranked after every computed value
    assert capped.strength[pos[h]] == wide.strength[pos[h]]
