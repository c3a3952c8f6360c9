"""Re-matching split by geographic cell gives exactly the matches of one whole-register run, pairs across cell
edges included; each pair is computed in one cell only."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from turash.ingestion.service import import_flows
from turash.matching import cells, service
from turash.matching.service import MatchRequest

HEADER = "organization,site,lat,lon,country,nace,direction,resource,quantity,unit,temperature_c,precision\n"
# Supplies and demands of three documented kinds of exchange (as in the contract's example), with the words and
# sectors plant managers use; sites are scattered over four cells around the corner 56N 11E.
KINDS = [
    ("35.11", "supply", "fly ash", 20000, "t/yr", ""),
    ("23.51", "demand", "pozzolanic additive for blended cement", 15000, "t/yr", ""),
    ("35.11", "supply", "surplus heat from flue gas condensation", 60, "GWh/yr", "85"),
    ("35.30", "demand", "heat for district heating network", 50, "GWh/yr", "75"),
    ("11.05", "supply", "spent grain", 6000, "t/yr", ""),
    ("01.41", "demand", "cattle feed", 4000, "t/yr", ""),
]


def _register(tmp_path: Path, n: int = 90) -> Path:
    rng = random.Random(7)
    rows = []
    for i in range(n):
        nace, direction, resource, qty, unit, temp = KINDS[i % len(KINDS)]
        lat, lon = 56.0 + rng.uniform(-0.35, 0.35), 11.0 + rng.uniform(-0.6, 0.6)
        rows.append(
            f"Org {i},Site {i},{lat:.4f},{lon:.4f},DK,{nace},{direction},{resource},{qty},{unit},{temp},estimated"
        )
    path = tmp_path / "register.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n")
    return path


def test_cell_names_and_boxes() -> None:
    assert cells.cell_of(55.99, 10.2) == "55,10" and cells.cell_of(-0.5, -0.5) == "-1,-1"
    box = cells.cell_box("55,10")
    assert (box.min_lat, box.max_lat, box.min_lon, box.max_lon) == (55.0, 56.0, 10.0, 11.0)
    grown = cells.with_margin(box, 111.2)
    assert grown.min_lat == pytest.approx(54.0, abs=0.01) and grown.max_lat == pytest.approx(57.0, abs=0.01)
    assert grown.max_lon - box.max_lon > 1.0  # longitude degrees are shorter up north
    for bad in ("55", "a,b", "95,10"):
        with pytest.raises(ValueError, match="cell"):
            cells.cell_box(bad)


@pytest.mark.parametrize("radius_km", [50.0, 20.0])
def test_cells_together_give_the_whole_run(session, tmp_path: Path, radius_km: float) -> None:  # type: ignore[no-untyped-def]
    report = import_flows(session, _register(tmp_path))
    assert report.imported == 90
    session.flush()
    request = MatchRequest(top_k=3, radius_km=radius_km)
    whole, _ = service.find_matches(session, {}, request)
    populated = cells.populated_cells(session)
    assert {c for c, _ in populated} == {"55,10", "55,11", "56,10", "56,11"}
    assert sum(n for _, n in populated) == 45  # every supply in exactly one cell
    split = []
    for cell, _ in populated:
        matches, summary = cells.match_cell(session, cell, request)
        assert summary["cell"] == cell and summary["matches"] == len(matches)
        split += matches
    assert len(split) == len({m["id"] for m in split})  # no pair computed twice
    crossing = [
        m
        for m in whole
        if cells.cell_of(*_site(session, m["supply"]["flow_id"]))
        != cells.cell_of(*_site(session, m["demand"]["flow_id"]))
    ]
    assert crossing, "the data must hold pairs across cell edges for this test to mean something"
    assert {m["id"]: m["score"] for m in split} == {m["id"]: m["score"] for m in whole}
    assert len(whole) > 30


def _site(session, flow_id: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    from turash.models import ResourceFlow, Site

    flow = session.get(ResourceFlow, flow_id)
    site = session.get(Site, flow.site_id)
    return site.lat, site.lon
