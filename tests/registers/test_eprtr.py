"""E-PRTR CO2 (2014) and CO (2001-2014) extracts: parsing the real files and mapping activity titles to NACE."""

from __future__ import annotations

import collections

import pytest

from tests.conftest import SHARED_DATA
from turash.registers.eprtr import (
    ACTIVITY_NACE,
    activity_to_nace,
    latest_per_facility,
    read_co2_emitters,
    read_co_emitters,
)
from turash.sectors import profile_for

CO2 = SHARED_DATA / "eprtr2014_co2_emitters_carbonnext.csv"
CO = SHARED_DATA / "eprtr_co_emitters_carbonnext.csv"


def test_the_files_are_semicolon_separated_with_crlf() -> None:
    head = CO2.read_bytes()[:300]
    assert b";" in head and b"\r\n" in head


def test_co2_file() -> None:
    facilities = read_co2_emitters(CO2)
    assert len(facilities) == 2127
    assert {f.year for f in facilities} == {2014}
    assert all(f.lat is not None and f.lon is not None for f in facilities)
    cressier = facilities[0]
    assert (cressier.name, cressier.country, cressier.nace) == (
        "Varo Refining Cressier SA / Raffinerie de Cressier",
        "CH",
        "19.20",
    )
    assert cressier.tonnes == pytest.approx(349_000)  # MTonnes 0.349
    assert cressier.source_ref == "eprtr_co2:1113729"
    assert sum(f.tonnes or 0 for f in facilities) == pytest.approx(1.8e9, rel=0.01)
    assert all(f.country for f in facilities)  # "Czech Republic", "United Kingdom" are mapped
    assert collections.Counter(f.nace for f in facilities)["35.11"] == 597
    eclepens = next(f for f in facilities if f.report_id == "1113773")
    assert eclepens.city == "Eclépens"  # UTF-8 kept
    figures = cressier.figures()
    assert figures is not None and figures.co2_t == pytest.approx(349_000)


def test_co_file_quirks() -> None:
    records = read_co_emitters(CO)
    assert len(records) == 2536
    assert collections.Counter(r.year for r in records)[2007] == 576
    placed_at_zero = [r for r in records if r.lat is None]
    assert len(placed_at_zero) == 3  # 0,0 is "withheld", not the Gulf of Guinea
    assert all("location 0,0" in r.problems[0] for r in placed_at_zero)
    assert sum(1 for r in records if r.confidential) == 1
    assert sum(1 for r in records if r.extra) == 9  # the unlabelled trailing column
    assert sum(1 for r in records if r.city is None) == 210
    ilva = next(r for r in records if r.report_id == "1406113")
    assert ilva.total_quantity_kg == 104_000_000 and ilva.tonnes == pytest.approx(104_000)
    assert ilva.figures() is None  # CO is not a flow the profiles size on
    lost = [r for r in records if any("lost upstream" in p for p in r.problems)]
    assert lost and all("?" in r.name for r in lost)


def test_co_reports_collapse_to_one_per_facility() -> None:
    records = read_co_emitters(CO)
    latest = latest_per_facility(records)
    assert len(latest) < len(records)
    solvay = [r for r in latest if r.name == "Solvay Chemicals GmbH"]
    assert len(solvay) < 7  # seven yearly reports of fewer sites
    assert all(r.lat is not None or r.confidential or r.problems for r in latest)


def test_every_activity_title_in_both_files_maps_to_a_profiled_code() -> None:
    titles = {r.activity for r in read_co2_emitters(CO2) + read_co_emitters(CO)}
    for title in titles:
        match = activity_to_nace(title)
        assert match.code is not None, title
        assert profile_for(match.code) is not None, title


@pytest.mark.parametrize(
    ("title", "code", "method"),
    [
        ("Manufacture of cement", "23.51", "exact"),
        ("Production of electricity", "35.11", "exact"),
        ("Steam and air conditioning supply", "35.30", "exact"),
        ("Treatment and disposal of non-hazardous waste", "38.21", "exact"),
        ("Manufacture of basic iron and steel and of ferro-alloys (ECSC)*", "24.10", "exact"),
        ("Manufacture of other non-metallic mineral products n.e.c", "23.99", "exact"),
        ("Manufacture of bricks, tiles and& construction products, in baked clay", "23.32", "fuzzy"),
        ("Manufacture of pesticides and other agro-chemical products", "20.20", "fuzzy"),
        ("Production and distribution of electricity", "35.11", "table"),  # NACE Rev. 1.1
        ("Steam and hot water supply", "35.30", "table"),
        ("Recycling of metal waste and scrap", "38.32", "table"),
        ("Manufacture of lime", "23.52", "table"),
        ("Raising of swine/pigs", "01.46", "exact"),
        ("Transport via pipelines", "49.50", "fuzzy"),
        ("General public administration activities", "84.11", "exact"),
    ],
)
def test_activity_mapping(title: str, code: str, method: str) -> None:
    match = activity_to_nace(title)
    assert (match.code, match.method) == (code, method)


def test_unknown_titles_are_not_guessed() -> None:
    assert activity_to_nace("Breeding of unicorns").code is None
    assert activity_to_nace(None).method == "none"
    assert all(code[:2].isdigit() for code in ACTIVITY_NACE.values())
