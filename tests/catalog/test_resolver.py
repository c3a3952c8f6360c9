"""Free text → weighted classes: the words plant managers use, in several languages, with hints and numbers."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from turash.catalog import Catalog
from turash.catalog.text import extract_quantities


def best(cat: Catalog, text: str, **hints: str) -> str | None:
    return cat.resolve(text, **hints).best


def ids(cat: Catalog, text: str, **hints: str) -> list[str]:
    return [c.class_id for c in cat.resolve(text, **hints).candidates]


def test_fly_ash_with_its_ewc_code_is_coal_fly_ash(cat: Catalog) -> None:
    res = cat.resolve("fly ash", ewc_code="10 01 02")
    assert res.best == "coal_fly_ash"
    assert not res.ambiguous
    assert best(cat, "fly ash", ewc_code="100102") == "coal_fly_ash"
    assert best(cat, "PFA") == "coal_fly_ash"
    assert best(cat, "fly ash from the coal-fired power station") == "coal_fly_ash"


def test_ewc_code_written_in_the_text_is_used(cat: Catalog) -> None:
    res = cat.resolve("fly ash EWC 10 01 02")
    assert res.best == "coal_fly_ash"
    assert res.ewc_code == "10 01 02"


def test_ewc_code_alone_gives_the_coded_classes(cat: Catalog) -> None:
    assert best(cat, "", ewc_code="10 01 05") == "fgd_gypsum"
    assert best(cat, "qwerty", ewc_code="16 01 03") == "end_of_life_tyres"


def test_pozzolanic_demand_is_scm(cat: Catalog) -> None:
    assert best(cat, "pozzolanic additive for blended cement", direction="demand") == (
        "supplementary_cementitious_material"
    )
    assert best(cat, "GGBS") == "granulated_blast_furnace_slag"


@pytest.mark.parametrize(
    "text", ["FGD gypsum", "REA-Gips", "desulphurisation gypsum", "gypse de désulfuration", "afsvovlingsgips"]
)
def test_fgd_gypsum_in_several_languages(cat: Catalog, text: str) -> None:
    assert best(cat, text) == "fgd_gypsum"


@pytest.mark.parametrize(
    "text",
    [
        "spent grain",
        "brewers grains",
        "BSG",
        "mask",
        "Treber",
        "Biertreber",
        "drêches de brasserie",
        "bagazo de cerveza",
    ],
)
def test_brewers_spent_grain(cat: Catalog, text: str) -> None:
    assert best(cat, text, direction="supply") == "brewers_spent_grain"


def test_demand_words_resolve_to_need_classes(cat: Catalog) -> None:
    assert best(cat, "cattle feed", direction="demand") == "animal_feed"
    assert best(cat, "Viehfutter", direction="demand") == "animal_feed"
    assert best(cat, "heat for district heating network", direction="demand") == "district_heating_heat"
    assert best(cat, "greenhouse heating", direction="demand") == "greenhouse_heating"
    assert best(cat, "raw material for plasterboard", direction="demand") == "plasterboard_raw_material"
    assert best(cat, "fuel for cement kiln", direction="demand") == "kiln_alternative_fuel"
    assert best(cat, "biogas plant feedstock", direction="demand") == "biogas_feedstock"
    assert best(cat, "CO2 voor de tuinbouw", direction="demand") == "greenhouse_co2"


def test_direction_prefers_the_matching_side(cat: Catalog) -> None:
    # "fertiliser" is a need; a supply of digestate described with the same word is still digestate.
    assert best(cat, "digestate sold as organic fertiliser", direction="supply") == "digestate"
    res = cat.resolve("spent solvents for distillation", direction="demand")
    assert {"solvent_recovery_service", "spent_solvent"} <= set(ids(cat, res.text, direction="demand"))


def test_surplus_heat_from_flue_gas_condensation(cat: Catalog) -> None:
    res = cat.resolve("surplus heat from flue gas condensation", nace="35.11", direction="supply")
    assert res.best == "flue_gas_condensation_heat"
    assert best(cat, "Rauchgaskondensation") == "flue_gas_condensation_heat"
    assert best(cat, "røggaskondensering") == "flue_gas_condensation_heat"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("waste heat 85 °C", "heat_70_100c"),
        ("waste heat 85°C", "heat_70_100c"),
        ("surplus heat at 35 C", "heat_below_40c"),
        ("Abwärme 60 °C", "heat_40_70c"),
        ("excess heat 150 degrees C", "heat_100_200c"),
        ("waste heat 185 °F", "heat_70_100c"),
        ("hot water 90°C", "heat_70_100c"),
        ("waste heat below 40 °C", "heat_below_40c"),
        ("chaleur fatale 300 °C", "heat_200_500c"),
    ],
)
def test_heat_is_banded_by_temperature(cat: Catalog, text: str, expected: str) -> None:
    assert best(cat, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("steam 12 bar", "mp_steam"),
        ("steam 3 barg", "lp_steam"),
        ("Dampf 40 bar", "hp_steam"),
        ("process steam 1.2 MPa", "mp_steam"),
        ("vapeur 5 bar(g)", "lp_steam"),
        ("LP steam", "lp_steam"),
        ("steam", "steam"),
    ],
)
def test_steam_is_banded_by_pressure(cat: Catalog, text: str, expected: str) -> None:
    assert best(cat, text) == expected


def test_source_specific_heat_keeps_its_source(cat: Catalog) -> None:
    assert best(cat, "data centre waste heat 30 °C") == "data_centre_heat"
    assert best(cat, "warm cooling water") == "cooling_water_heat"
    assert best(cat, "overskudsvarme fra datacenter") == "data_centre_heat"


def test_water_gases_energy_services(cat: Catalog) -> None:
    assert best(cat, "treated wastewater") == "treated_wastewater"
    assert best(cat, "TWW") == "treated_wastewater"
    assert best(cat, "renset spildevand") == "treated_wastewater"
    assert best(cat, "CO2") == "co2"
    assert best(cat, "Kohlendioxid") == "co2"
    assert best(cat, "CO2 from fermentation") == "fermentation_co2"
    assert best(cat, "refinery fuel gas") == "refinery_fuel_gas"
    assert best(cat, "surplus electricity") == "surplus_electricity"
    assert best(cat, "tanker transport") == "tanker_transport"
    assert best(cat, "RDF") == "rdf_srf"
    assert best(cat, "yeast slurry") in {"spent_yeast", "fermentation_biomass"}


def test_german_and_danish_letters(cat: Catalog) -> None:
    assert best(cat, "Abwärme") == "waste_heat"
    assert best(cat, "Abwaerme") == "waste_heat"
    assert best(cat, "Abwarme") == "waste_heat"
    assert best(cat, "Müllverbrennungsschlacke") == "incinerator_bottom_ash"
    assert best(cat, "røggasvarme") == "flue_gas_heat"
    assert best(cat, "roeggasvarme") == "flue_gas_heat"
    assert best(cat, "Gießereialtsand") == "foundry_sand"


def test_typos_compounds_and_plurals(cat: Catalog) -> None:
    res = cat.resolve("gyspum")
    assert res.best == "gypsum"
    assert "corrected" in res.candidates[0].reason
    assert best(cat, "flyash") == "fly_ash"
    assert best(cat, "used tyres") == "end_of_life_tyres"
    assert best(cat, "scrap tires") == "end_of_life_tyres"
    assert best(cat, "Prozessabwärme") == "waste_heat"


@pytest.mark.parametrize("text", ["qwerty zzz", "", "   ", "the plant", "banana", "meeting room", "12345", "!!!"])
def test_nonsense_gives_no_candidates(cat: Catalog, text: str) -> None:
    res = cat.resolve(text)
    assert res.candidates == ()
    assert res.best is None
    assert not res.ambiguous


def test_nace_alone_never_guesses(cat: Catalog) -> None:
    assert cat.resolve("xyzzy", nace="11.05", direction="supply").candidates == ()


def test_ambiguous_text_gives_several_weighted_candidates(cat: Catalog) -> None:
    res = cat.resolve("ash")
    assert res.ambiguous
    assert len(res.candidates) >= 3
    assert {"fly_ash", "bottom_ash", "biomass_ash"} <= {c.class_id for c in res.candidates}
    assert math.isclose(sum(c.weight for c in res.candidates), 1.0, abs_tol=1e-9)
    assert cat.resolve("sludge").ambiguous


def test_nace_hint_breaks_a_tie(cat: Catalog) -> None:
    res = cat.resolve("ash", nace="35.11", direction="supply")
    assert res.best in {"fly_ash", "bottom_ash", "biomass_ash"}
    assert cat.resolve("ash", nace="16.10", direction="supply").best == "biomass_ash"


def test_category_hint_demotes_other_categories(cat: Catalog) -> None:
    assert best(cat, "cooling", category="energy") == "cooling_energy"
    res = cat.resolve("gas", category="material")
    assert res.best == "fuel_gas"  # still the only reading, just weaker
    mixed = cat.resolve("heat and CO2 from the CHP", category="gas")
    assert mixed.best in {"co2", "flue_gas_co2"}


def test_every_class_is_reachable_by_its_own_name(cat: Catalog) -> None:
    for rc in cat.classes:
        assert cat.resolve(rc.name).best == rc.id, rc.id


def test_reasons_explain_the_candidate(cat: Catalog) -> None:
    res = cat.resolve("steam 12 bar")
    assert "band" in res.candidates[0].reason
    assert res.pressure_bar == 12


def test_results_are_cached(cat: Catalog) -> None:
    cat.clear_resolve_cache()
    first = cat.resolve("Fly  Ash ")
    second = cat.resolve("fly ash")
    assert first is second
    assert cat.resolve_cache_info().hits >= 1


def test_bad_direction_is_rejected(cat: Catalog) -> None:
    with pytest.raises(ValueError, match="direction"):
        cat.resolve("fly ash", direction="sideways")


def test_infer_category(cat: Catalog) -> None:
    assert cat.infer_category("waste heat 85 °C") == "heat"
    assert cat.infer_category("steam 12 bar") == "steam"
    assert cat.infer_category("FGD gypsum") == "material"
    assert cat.infer_category("treated wastewater") == "water"
    assert cat.infer_category("CO2") == "gas"
    assert cat.infer_category("surplus electricity") == "energy"
    assert cat.infer_category("road haulage") == "service"
    assert cat.infer_category("qwerty zzz") is None
    assert cat.infer_category("qwerty zzz", ewc_code="99 99 99") == "material"


@pytest.mark.parametrize(
    ("text", "temperature", "pressure", "purity"),
    [
        ("steam 12 bar", None, 12.0, None),
        ("waste heat 85 °C", 85.0, None, None),
        ("hot water 70-90 °C", 80.0, None, None),
        ("flue gas 302 °F", 150.0, None, None),
        ("steam 2,5 bar(g)", None, 2.5, None),
        ("steam 0.8 MPa", None, 8.0, None),
        ("CO2 purity 99.5 %", None, None, 99.5),
        ("digestate 8% dry matter", None, None, None),
        ("CO2 capture plant", None, None, None),
    ],
)
def test_numbers_are_read(text: str, temperature: float | None, pressure: float | None, purity: float | None) -> None:
    q = extract_quantities(text.lower())
    assert q.temperature_c == (pytest.approx(temperature) if temperature is not None else None)
    assert q.pressure_bar == (pytest.approx(pressure) if pressure is not None else None)
    assert q.purity_pct == (pytest.approx(purity) if purity is not None else None)


# --- properties ------------------------------------------------------------------------------------------------

_words = st.sampled_from(
    [
        "fly",
        "ash",
        "heat",
        "waste",
        "steam",
        "bar",
        "°C",
        "12",
        "85",
        "CO2",
        "gypsum",
        "from",
        "the",
        "Abwärme",
        "røggas",
        "mask",
        "qwerty",
        "10 01 02",
        "-",
        "&",
        "é",
        "ß",
        "%",
        "surplus",
        "for",
        "district",
        "heating",
    ]
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60))
def test_resolve_never_raises_and_weights_sum_to_one(cat: Catalog, text: str) -> None:
    res = cat.resolve(text)
    assert res.candidates == () or math.isclose(sum(c.weight for c in res.candidates), 1.0, abs_tol=1e-9)
    assert all(0 < c.weight <= 1 for c in res.candidates)
    assert len({c.class_id for c in res.candidates}) == len(res.candidates)
    weights = [c.weight for c in res.candidates]
    assert weights == sorted(weights, reverse=True) or math.isclose(weights[0], weights[1])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    words=st.lists(_words, max_size=8),
    ewc=st.one_of(st.none(), st.sampled_from(["10 01 02", "100105", "bogus", "16 01 03*"])),
    nace=st.one_of(st.none(), st.sampled_from(["35.11", "C11.0.5", "x", "01"])),
    category=st.one_of(st.none(), st.sampled_from(["heat", "material", "gas", "service"])),
    direction=st.one_of(st.none(), st.sampled_from(["supply", "demand"])),
)
def test_resolve_with_hints_never_raises(
    cat: Catalog, words: list[str], ewc: str | None, nace: str | None, category: str | None, direction: str | None
) -> None:
    res = cat.resolve(" ".join(words), ewc_code=ewc, nace=nace, category=category, direction=direction)
    assert res.candidates == () or math.isclose(sum(c.weight for c in res.candidates), 1.0, abs_tol=1e-9)
    for cand in res.candidates:
        assert cand.class_id in cat
        assert cand.reason
