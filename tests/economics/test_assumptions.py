from __future__ import annotations

import pytest

from turash.economics import Assumptions, UnknownAssumption, get_data, load_data
from turash.economics.assumptions import OVERRIDE


def test_data_loads_and_every_value_cites_a_known_source() -> None:
    data = load_data()
    assert data.params, "parameters.yaml is empty"
    for p in data.params.values():
        assert data.source(p.source) is not None, p.name
    for values in data.countries.values():
        for p in values.values():
            assert data.source(p.source) is not None, p.name
    for entry in data.materials.values():
        assert data.source(entry.price_eur_per_t.source) is not None


def test_engineering_assumptions_are_marked_as_such() -> None:
    data = get_data()
    engineering = data.source("engineering")
    assert engineering is not None and "assumption" in engineering.title.lower()


def test_country_values_replace_the_eu_defaults() -> None:
    eu = Assumptions.for_country("EU")
    de = Assumptions.for_country("de")
    assert de["landfill_tax_eur_per_t"] == 0.0  # CEWEP 2021: no landfill tax in Germany
    assert de.param("landfill_tax_eur_per_t").source == "cewep_landfill_2021"
    assert de["gas_price_eur_per_mwh"] == eu["gas_price_eur_per_mwh"]
    assert Assumptions.for_country("ZZ")["discount_rate"] == eu["discount_rate"]  # unknown country: EU defaults


def test_overrides_are_applied_and_marked() -> None:
    a = Assumptions.for_country("DK").with_overrides(discount_rate=0.06)
    assert a["discount_rate"] == 0.06
    assert a.param("discount_rate").source == OVERRIDE
    assert a.overridden == ("discount_rate",)
    assert Assumptions.for_country("DK")["discount_rate"] == 0.04  # the defaults are untouched


@pytest.mark.parametrize("kwargs", [{"no_such_thing": 1.0}, {"discount_rate": float("nan")}])
def test_bad_overrides_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(UnknownAssumption):
        Assumptions.for_country("DK").with_overrides(**kwargs)
