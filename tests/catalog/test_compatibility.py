"""Supply class → demand class compatibility, with conditions and sources, and the sparse matrix for the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest

from turash.catalog import Catalog


def test_same_class_is_fully_compatible(cat: Catalog) -> None:
    comp = cat.compatibility("steam", "steam")
    assert comp is not None
    assert comp.via == "same"
    assert comp.score == 1.0


def test_ancestor_demand_is_compatible(cat: Catalog) -> None:
    comp = cat.compatibility("fgd_gypsum", "gypsum")
    assert comp is not None and comp.via == "ancestor"
    deeper = cat.compatibility("granulated_blast_furnace_slag", "slag")
    assert deeper is not None and deeper.via == "ancestor" and deeper.score < comp.score
    # The other way round is not implied: a generic supply is not known to be the specific thing.
    assert cat.compatibility("gypsum", "fgd_gypsum") is None


def test_fly_ash_serves_the_pozzolanic_demand(cat: Catalog) -> None:
    supply = cat.resolve("fly ash", ewc_code="10 01 02").best
    demand = cat.resolve("pozzolanic additive for blended cement", direction="demand").best
    assert supply == "coal_fly_ash" and demand == "supplementary_cementitious_material"
    comp = cat.compatibility(supply, demand)
    assert comp is not None
    assert comp.via == "use"
    assert comp.score >= 0.8
    assert "en_450_1" in comp.sources
    assert all(sid in cat.sources for sid in comp.sources)


def test_fgd_gypsum_serves_plasterboard(cat: Catalog) -> None:
    for text in ("FGD gypsum", "REA-Gips", "desulphurisation gypsum"):
        supply = cat.resolve(text).best
        assert supply is not None
        comp = cat.compatibility(supply, "plasterboard_raw_material")
        assert comp is not None and comp.score >= 0.9
    assert cat.compatibility("fgd_gypsum", "cement_set_retarder") is not None


def test_spent_grain_serves_feed_and_biogas(cat: Catalog) -> None:
    for text in ("spent grain", "brewers grains", "mask", "Treber"):
        supply = cat.resolve(text, direction="supply").best
        assert supply == "brewers_spent_grain"
        feed = cat.compatibility(supply, "animal_feed")
        biogas = cat.compatibility(supply, "biogas_feedstock")
        assert feed is not None and biogas is not None
        assert feed.score > biogas.score
    demand = cat.resolve("cattle feed", direction="demand").best
    assert demand == "animal_feed"


def test_flue_gas_condensation_heat_to_district_heating_has_a_temperature_gate(cat: Catalog) -> None:
    supply = cat.resolve("surplus heat from flue gas condensation", direction="supply").best
    demand = cat.resolve("heat for district heating network", direction="demand").best
    assert supply is not None and demand == "district_heating_heat"
    comp = cat.compatibility(supply, demand)
    assert comp is not None
    assert "min_temperature_c" in comp.conditions
    assert comp.sources


def test_heat_bands_gate_district_heating(cat: Catalog) -> None:
    direct = cat.compatibility("heat_70_100c", "district_heating_heat")
    assert direct is not None and direct.conditions.get("min_temperature_c") == 70
    low = cat.compatibility("heat_below_40c", "district_heating_heat")
    assert low is not None and low.conditions.get("needs_treatment") is True
    assert low.score < direct.score
    generic = cat.compatibility("waste_heat", "district_heating_heat")
    assert generic is not None and generic.conditions.get("min_temperature_c") == 70
    # Heat that is too cold for drying inherits the parent's gate instead of a use of its own.
    cold_drying = cat.compatibility("heat_below_40c", "drying_heat")
    assert cold_drying is not None and cold_drying.conditions.get("min_temperature_c") == 70
    assert cold_drying.use_of == "waste_heat"


def test_low_grade_heat_serves_fish_farming_and_heat_pumps(cat: Catalog) -> None:
    assert cat.compatibility("heat_below_40c", "aquaculture_heat") is not None
    assert cat.compatibility("cooling_water_heat", "aquaculture_heat") is not None
    assert cat.compatibility("data_centre_heat", "heat_pump_source") is not None


def test_treated_wastewater_serves_process_and_cooling_water(cat: Catalog) -> None:
    supply = cat.resolve("treated wastewater").best
    assert supply == "treated_wastewater"
    assert cat.compatibility(supply, "process_water") is not None
    assert cat.compatibility(supply, "cooling_water") is not None
    demand = cat.resolve("process water", direction="demand").best
    assert demand == "process_water"
    assert cat.compatibility(supply, demand) is not None
    # Raw effluent is not water fit for use.
    assert cat.compatibility("industrial_wastewater", "water") is None


def test_co2_serves_greenhouses(cat: Catalog) -> None:
    comp = cat.compatibility(cat.resolve("CO2").best or "", "greenhouse_co2")
    assert comp is not None and comp.via == "use"
    assert cat.compatibility("fermentation_co2", "greenhouse_co2") is not None  # its own, better use
    food = cat.compatibility("co2", "food_grade_co2")
    assert food is not None and food.conditions["min_purity_pct"] == 99.9


def test_steam_pressure_cascade(cat: Catalog) -> None:
    assert cat.compatibility("hp_steam", "mp_steam") is not None
    assert cat.compatibility("mp_steam", "lp_steam") is not None
    assert cat.compatibility("lp_steam", "hp_steam") is None
    generic = cat.compatibility("steam", "mp_steam")
    assert generic is not None and generic.conditions["min_pressure_bar"] == 7


def test_use_of_an_ancestor_is_inherited(cat: Catalog) -> None:
    comp = cat.compatibility("container_glass_cullet", "glass_batch_raw_material")
    assert comp is not None and comp.via == "use" and comp.use_of == "glass_cullet"


def test_unrelated_classes_are_incompatible(cat: Catalog) -> None:
    assert cat.compatibility("coal_fly_ash", "animal_feed") is None
    assert cat.compatibility("apc_residues", "supplementary_cementitious_material") is None
    assert cat.compatibility("spent_solvent", "animal_feed") is None


def test_unknown_class_raises(cat: Catalog) -> None:
    with pytest.raises(KeyError):
        cat.compatibility("nope", "animal_feed")


def test_compatible_lists_are_sorted(cat: Catalog) -> None:
    demands = cat.compatible_demands("brewers_spent_grain")
    assert demands[0].demand == "brewers_spent_grain"
    scores = [c.score for c in demands]
    assert scores == sorted(scores, reverse=True)
    assert "brewers_spent_grain" in {c.supply for c in cat.compatible_supplies("animal_feed")}


def test_candidate_compatibility(cat: Catalog) -> None:
    supply = cat.resolve("ash").candidates
    demand = cat.resolve("pozzolanic additive", direction="demand").candidates
    comp = cat.candidate_compatibility(supply, demand)
    assert comp is not None and comp.demand == "supplementary_cementitious_material"


def test_matrix_matches_pairwise_compatibility(cat: Catalog) -> None:
    m = cat.compatibility_matrix()
    assert m is cat.compatibility_matrix()  # cached
    n = len(cat.classes)
    assert m.matrix.shape == (n, n)
    assert m.matrix.dtype == np.float32
    assert m.class_ids == tuple(rc.id for rc in cat.classes)
    for arr in (m.min_temperature_c, m.max_temperature_c, m.min_purity_pct, m.min_pressure_bar):
        assert arr.dtype == np.float32 and arr.shape == (m.nnz,)
    assert m.needs_treatment.dtype == np.bool_ and m.needs_treatment.shape == (m.nnz,)
    csr = m.matrix
    for i in range(n):
        for k in range(csr.indptr[i], csr.indptr[i + 1]):
            j = int(csr.indices[k])
            comp = cat.compatibility(cat.classes[i].id, cat.classes[j].id)
            assert comp is not None
            assert math.isclose(float(csr.data[k]), comp.score, rel_tol=1e-6)
            expected_t = comp.conditions.get("min_temperature_c")
            if expected_t is None:
                assert np.isnan(m.min_temperature_c[k])
            else:
                assert m.min_temperature_c[k] == pytest.approx(expected_t)
            assert bool(m.needs_treatment[k]) == bool(comp.conditions.get("needs_treatment", False))
    # Every class is compatible with itself: the diagonal is full.
    assert np.all(csr.diagonal() == 1.0)
    assert m.nnz > 2 * n


def test_matrix_row_lookup_for_the_engine(cat: Catalog) -> None:
    m = cat.compatibility_matrix()
    i, j = cat.index_of("flue_gas_condensation_heat"), cat.index_of("district_heating_heat")
    row = slice(m.matrix.indptr[i], m.matrix.indptr[i + 1])
    cols = m.matrix.indices[row]
    k = m.matrix.indptr[i] + int(np.nonzero(cols == j)[0][0])
    assert m.min_temperature_c[k] == pytest.approx(45)
    assert m.via[k] == 2
