"""The network analyses on a Kalundborg-shaped register (sources and what is illustrative: tests/network/
kalundborg.py): the power station is the anchor tenant, the symbiosis is found as one candidate park, and
removing the power station lists the exchanges that depend on it."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.network import kalundborg
from turash.kit.geo import BBox
from turash.network import service
from turash.network.graph import EdgeKind, Network
from turash.network.service import EVERYTHING


def _net(session: Session) -> tuple[kalundborg.Kalundborg, Network]:
    k = kalundborg.build(session)
    return k, service.network(session, {})


def test_the_power_station_is_the_top_anchor_by_both_measures(session: Session) -> None:
    k, net = _net(session)
    for by in ("strength", "betweenness"):
        ranked = service.anchors(net, EVERYTHING, top=5, by=by)["anchors"]
        assert ranked[0]["organization"]["id"] == k.orgs["asnaes"], by
        assert ranked[0]["organization"]["name"] == "Asnæs Power Station"
    top = service.anchors(net, EVERYTHING, top=20)["anchors"]
    asnaes = top[0]
    assert asnaes["partners"] == 6 and asnaes["exchanges"] == 7  # 6 partners; the refinery both ways
    assert k.orgs["bakery"] not in {a["organization"]["id"] for a in top}  # no links: no anchor


def test_the_symbiosis_is_one_candidate_park(session: Session) -> None:
    k, net = _net(session)
    found = service.clusters(net, EVERYTHING, max_km=25, min_size=3)["clusters"]
    assert len(found) == 1
    park = found[0]
    members = {m["id"] for m in park["members"]}
    local = {"asnaes", "refinery", "novo", "gyproc", "heating", "fish", "farm_a", "farm_b", "soilrem"}
    assert members == {k.orgs[o] for o in local}  # Aalborg Portland and Avedøre are far; the bakery unlinked
    assert park["members"][0]["id"] == k.orgs["asnaes"]
    assert park["exchanges"] == 10 and park["links"] == 9  # 11 exchanges, one with Aalborg Portland (far)
    assert park["exchanged"]["t/yr"] == 200000 and park["exchanged"]["m3/yr"] == 700000  # gypsum, cooling water
    assert 55.6 < park["centroid"]["lat"] < 55.7 and 11.0 < park["centroid"]["lon"] < 11.2
    assert park["radius_km"] < 10
    # inside a box around Kalundborg, and not outside it
    assert service.clusters(net, EVERYTHING, box=BBox(12, 55, 13, 56))["count"] == 0


def test_removing_the_power_station_lists_the_exchanges_that_depend_on_it(session: Session) -> None:
    k, net = _net(session)
    report = service.resilience(net, EVERYTHING, k.orgs["asnaes"])
    s = report["summary"]
    assert s["exchanges_lost"] == 7 and s["matches_lost"] == 7
    assert s["exchanged"]["t/yr"] == 200000 and s["exchanged"]["m3/yr"] == 700000
    by_flow = {d["id"]: d for d in report["dependents"]}
    needs = {
        ("refinery", "process steam"): "no_alternative",
        ("novo", "process steam"): "no_alternative",
        ("heating", "district heating supply"): "no_alternative",
        ("fish", "warm water for fish ponds"): "no_alternative",
        ("cement", "fly ash"): "no_alternative",
        ("gyproc", "gypsum"): "best_lost",  # the Avedøre match remains, weaker than the exchange
    }
    for key, status in needs.items():
        dep = by_flow[k.demands[key]]
        assert dep["status"] == status and dep["loses"] == "supply", key
        assert any(link["kind"] == "exchange" and link["status"] == "implemented" for link in dep["lost"])
    gypsum = by_flow[k.demands[("gyproc", "gypsum")]]
    assert [a["with"]["organization"]["id"] for a in gypsum["alternatives"]] == [k.orgs["avedore"]]
    # the refinery's cooling water loses its outlet
    cooling = by_flow[k.supplies[("refinery", "cooling water")]]
    assert cooling["loses"] == "outlet" and cooling["status"] == "no_alternative"
    assert len(by_flow) == 7 and s["organizations_affected"] == 6
    # Gyproc keeps its refinery gas: it is not a dependent on that flow
    assert k.demands[("gyproc", "fuel gas")] not in by_flow


def test_removing_one_flow_or_an_isolated_organisation(session: Session) -> None:
    k, net = _net(session)
    steam = service.resilience(net, EVERYTHING, k.supplies[("asnaes", "steam")])
    assert {d["id"] for d in steam["dependents"]} == {
        k.demands[("refinery", "process steam")],
        k.demands[("novo", "process steam")],
    }
    assert steam["summary"]["exchanges_lost"] == 2 and steam["removed_flows"] == 1
    for target in (k.orgs["bakery"], k.bakery_flow):
        alone = service.resilience(net, EVERYTHING, target)
        assert alone["dependents"] == [] and alone["summary"]["exchanges_lost"] == 0


def test_the_map_of_kalundborg_excludes_what_is_outside_the_box(session: Session) -> None:
    k, net = _net(session)
    box = service.parse_bbox(kalundborg.KALUNDBORG_BBOX, required=True)
    assert box is not None
    data = service.view(net, EVERYTHING, box)
    ids = {n["id"] for n in data["nodes"]}
    assert k.orgs["asnaes"] in ids and k.sites["gyproc"] in ids and k.demands[("gyproc", "gypsum")] in ids
    for far in ("cement", "avedore", "bakery"):
        assert k.orgs[far] not in ids and k.sites[far] not in ids
    assert all(e["source"] in ids and e["target"] in ids for e in data["edges"])
    kinds = {e["kind"] for e in data["edges"]}
    assert kinds == {"owns", "located_at", "match", "exchange"}
    asnaes = next(n for n in data["nodes"] if n["id"] == k.orgs["asnaes"])
    assert asnaes["metrics"]["partners"] == 6 and asnaes["lat"] == 55.6606
    # only exchanges: just the flows they join
    only = service.view(net, EVERYTHING, box, kinds={EdgeKind.EXCHANGE})
    assert {e["kind"] for e in only["edges"]} == {"exchange"} and len(only["edges"]) == 10
    assert {n["kind"] for n in only["nodes"]} == {"flow"}
    # a category and a score threshold
    heat = service.view(net, EVERYTHING, box, category="heat", kinds={EdgeKind.MATCH})
    assert len(heat["edges"]) == 2
    strict = service.view(net, EVERYTHING, box, min_score=0.85, kinds={EdgeKind.MATCH})
    # scores 0.9 down to 0.86 in the box; the 0.85 one goes to Aalborg
    assert all(e["weight"] >= 0.85 for e in strict["edges"]) and len(strict["edges"]) == 5


def test_the_graph_is_rebuilt_when_the_register_changes(session: Session) -> None:
    k = kalundborg.build(session)
    holder: dict[str, object] = {}
    first = service.network(session, holder)
    assert service.network(session, holder) is first
    from turash.models import Proposal

    proposal = session.get(Proposal, k.exchanges[0])
    assert proposal is not None
    proposal.status = "agreed"  # still an exchange, but a change
    session.flush()
    second = service.network(session, holder)
    assert second is not first and "agreed" in second.edge_status
    stats = service.stats(second)
    assert stats["edges"]["exchange"] == 11 and stats["nodes"]["organization"] == 12
