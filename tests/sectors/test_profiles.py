"""Sector profiles: coverage, validity against the catalogue, fallbacks, inheritance, receivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from turash.catalog import get_catalog
from turash.sectors import SectorDataError, get_profiles, load_sector_profiles, profile_for, receiver_sectors
from turash.sectors.loader import DATA_DIR

SECTIONS_A_TO_E_DIVISIONS = ["01", "02", "03", *[f"{d:02d}" for d in range(5, 10)], *map(str, range(10, 34))]
SECTIONS_A_TO_E_DIVISIONS += ["35", "36", "37", "38", "39"]


def test_every_division_of_sections_a_to_e_has_a_profile() -> None:
    profiles = get_profiles()
    for division in SECTIONS_A_TO_E_DIVISIONS:
        assert division in profiles, division
    for section in "ABCDEFGHIJKLMNOPQRSTU":
        assert section in profiles, section


@pytest.mark.parametrize(
    ("division", "minimum"),
    [("10", 10), ("11", 5), ("17", 3), ("20", 8), ("23", 12), ("24", 10), ("35", 4), ("38", 5)],
)
def test_key_divisions_are_profiled_in_depth(division: str, minimum: int) -> None:
    finer = [c for c in get_profiles().profiles if c.startswith(division) and len(c) > 2]
    assert len(finer) >= minimum, finer


def test_every_class_and_source_exists() -> None:
    profiles = get_profiles()
    cat = get_catalog()
    for profile in profiles.profiles.values():
        assert profile.supplies or profile.demands, profile.code
        for flow in profile.flows():
            assert flow.class_id in cat
            assert 0 < flow.likelihood <= 1
            for sid in (*flow.sources, *profile.sources):
                assert sid in profiles.sources, (profile.code, sid)
            for spec in flow.quantities.values():
                assert 0 <= spec.low <= spec.typical <= spec.high


def test_flows_with_quantities_carry_a_source_or_say_they_are_assumptions() -> None:
    for profile in get_profiles().profiles.values():
        for flow in profile.own():
            for spec in flow.quantities.values():
                assert spec.assumption or flow.sources or profile.sources, (profile.code, flow.class_id)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("23.51", "23.51"),
        ("C23.5.1", "23.51"),
        ("2351", "23.51"),
        ("23.69", "23.6"),  # class → group
        ("13.99", "13"),  # class → division
        ("64.19", "K"),  # → section (Rev. 2 letters)
        ("99.00", "U"),
        ("10.51", "10.51"),
    ],
)
def test_profile_for_falls_back(code: str, expected: str) -> None:
    match = profile_for(code)
    assert match is not None and match.code == expected
    assert match.exact == (match.rev2 == expected)


def test_unknown_codes_have_no_profile() -> None:
    assert profile_for("zz") is None
    assert profile_for("00") is None


def test_classes_inherit_from_their_group_and_division() -> None:
    dairy = get_profiles().get("10.51")
    assert "whey" in dairy.class_ids("supply")
    inherited = {f.class_id: f.declared_in for f in dairy.flows()}
    assert inherited["food_waste"] == "10"  # declared once for the division
    assert {f.class_id for f in dairy.own()} >= {"whey", "industrial_wastewater", "process_heat"}
    # `exclude` keeps a parent's flow off a child: a glasshouse makes no straw.
    assert "straw" not in get_profiles().get("01.13").class_ids("supply")
    # A per-tonne coefficient of another product is not inherited.
    converting = get_profiles().get("17.2")
    assert converting.production == "t converted products"
    for flow in converting.flows():
        if flow.declared_in != "17.2":
            assert "per_t_production" not in flow.quantities


@pytest.mark.parametrize(
    ("nace", "supply_class"),
    [
        ("23.51", "coal_fly_ash"),
        ("23.51", "granulated_blast_furnace_slag"),
        ("23.51", "fgd_gypsum"),
        ("23.51", "rdf_srf"),
        ("23.62", "fgd_gypsum"),
        ("35.30", "heat_70_100c"),
        ("35.30", "incineration_heat"),
        ("01.13", "co2"),
        ("01.13", "heat_40_70c"),
        ("10.91", "brewers_spent_grain"),
        ("01.46", "whey"),
        ("01.41", "sugar_beet_pulp"),
        ("17.12", "steam"),
        ("17.12", "paper_cardboard"),
        ("35.21", "food_waste"),
        ("38.21", "food_waste"),
        ("35.21", "manure"),
    ],
)
def test_receivers_demand_what_the_brief_says(nace: str, supply_class: str) -> None:
    match = get_profiles().profile_for(nace)
    assert match is not None
    cat = get_catalog()
    assert any(cat.compatibility(supply_class, d) for d in match.profile.class_ids("demand")), (nace, supply_class)


def test_receiver_sectors_rank_the_documented_receiver_first() -> None:
    assert receiver_sectors("fgd_gypsum")[0].nace == "23.62"
    assert receiver_sectors("coal_fly_ash")[0].nace == "23.51"
    assert receiver_sectors("glass_cullet")[0].nace == "23.13"
    heat = receiver_sectors("heat_70_100c")
    assert heat[0].nace == "35.30" and heat[0].matched_class == "district_heating_heat"
    assert [s.score for s in heat] == sorted((s.score for s in heat), reverse=True)
    suppliers = get_profiles().supplier_sectors("fgd_gypsum")
    assert suppliers[0].nace == "35.11"


def test_coverage_report() -> None:
    coverage = get_profiles().coverage()
    assert coverage["profiles"] >= 150
    assert coverage["flows"] >= 500


def _write(tmp_path: Path, text: str) -> Path:
    (tmp_path / "sources.yaml").write_text("my_source:\n  title: A study\n  authors: Someone\n  year: 2020\n")
    (tmp_path / "profiles_test.yaml").write_text(text)
    return tmp_path


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ('"23.51":\n  supplies:\n    - {class: fly_ashh}\n', "class 'fly_ashh' is not in the catalogue"),
        ('"23.51":\n  supplies:\n    - {class: animal_feed}\n', "is a need (side: demand) and cannot be supplied"),
        (
            '"23.51":\n  production: t\n  supplies:\n    - {class: coal_fly_ash, per_t_production: [1, 2, 3, t/yr]}\n',
            "needs 0 <= low <= typical <= high",
        ),
        (
            '"23.51":\n  supplies:\n    - {class: coal_fly_ash, per_employee: [1, 0, 3, GWh/yr]}\n',
            "unit GWh/yr measures energy",
        ),
        ('"23.51":\n  supplies:\n    - {class: coal_fly_ash, per_employee: [1, 0, 3, tonnes]}\n', "unit 'tonnes'"),
        ('"23.51":\n  supplies:\n    - {class: coal_fly_ash, sources: [nobody_2020]}\n', "source 'nobody_2020'"),
        ('"77.77":\n  supplies:\n    - {class: coal_fly_ash}\n', "not a NACE Rev. 2 section"),
        ('"23.51":\n  supplies:\n    - {class: coal_fly_ash, per_t_production: [1, 0, 3, t/yr]}\n', "production"),
        ('"23.51":\n  supplies:\n    - {class: coal_fly_ash, likelihood: 2}\n', "likelihood"),
        ('"23.51":\n  supplies:\n    - {class: coal_fly_ash, when_co2_t: [5, 1]}\n', "when_co2_t must be [low, high]"),
        ('"23.51":\n  supplies:\n    - {class: coal_fly_ash, when_co2_t: 1000}\n', "when_co2_t must be [low, high]"),
    ],
)
def test_bad_data_is_reported_clearly(tmp_path: Path, yaml_text: str, message: str) -> None:
    with pytest.raises(SectorDataError) as err:
        load_sector_profiles(_write(tmp_path, yaml_text))
    assert message in str(err.value)


def test_a_minimal_data_directory_loads(tmp_path: Path) -> None:
    text = '"23.51":\n  sources: [my_source, bref_clm_2013]\n  supplies:\n    - {class: kiln_dust, likelihood: 0.5}\n'
    profiles = load_sector_profiles(_write(tmp_path, text))
    assert list(profiles.profiles) == ["23.51"]
    assert DATA_DIR.is_dir()
