import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from turash.kit.units import QuantityKind, UnitError, normalise, unit_info

SECONDS_PER_YEAR = 365.25 * 86400  # pint's year is the Julian year


@pytest.mark.parametrize(
    ("unit", "kind", "si_unit", "factor"),
    [
        ("t/yr", QuantityKind.MASS_RATE, "kg/s", 1000 / SECONDS_PER_YEAR),
        ("tpa", QuantityKind.MASS_RATE, "kg/s", 1000 / SECONDS_PER_YEAR),
        ("tonnes per year", QuantityKind.MASS_RATE, "kg/s", 1000 / SECONDS_PER_YEAR),
        ("t/day", QuantityKind.MASS_RATE, "kg/s", 1000 / 86400),
        ("t/h", QuantityKind.MASS_RATE, "kg/s", 1000 / 3600),
        ("kg/h", QuantityKind.MASS_RATE, "kg/s", 1 / 3600),
        ("MW", QuantityKind.POWER, "W", 1e6),
        ("mw", QuantityKind.POWER, "W", 1e6),  # not milliwatt: nobody lists a milliwatt of waste heat
        ("MWth", QuantityKind.POWER, "W", 1e6),
        ("GWh/yr", QuantityKind.POWER, "W", 3.6e12 / SECONDS_PER_YEAR),
        ("MWh/a", QuantityKind.POWER, "W", 3.6e9 / SECONDS_PER_YEAR),
        ("m3/h", QuantityKind.VOLUME_RATE, "m3/s", 1 / 3600),
        ("m³/h", QuantityKind.VOLUME_RATE, "m3/s", 1 / 3600),
        ("Nm3/h", QuantityKind.VOLUME_RATE, "m3/s", 1 / 3600),
        ("l/s", QuantityKind.VOLUME_RATE, "m3/s", 1e-3),
        ("t", QuantityKind.MASS, "kg", 1000),
        ("m3", QuantityKind.VOLUME, "m3", 1),
        ("GJ", QuantityKind.ENERGY, "J", 1e9),
        ("kWh", QuantityKind.ENERGY, "J", 3.6e6),
    ],
)
def test_units_normalise_to_si(unit: str, kind: QuantityKind, si_unit: str, factor: float) -> None:
    info = unit_info(unit)
    assert info.kind == kind
    assert info.si_unit == si_unit
    assert info.factor == pytest.approx(factor, rel=1e-9)


def test_fly_ash_example_in_si() -> None:
    q = normalise(40000, "t/yr")
    assert q.si_value == pytest.approx(40000 * 1000 / SECONDS_PER_YEAR)  # 1.2675 kg/s
    assert q.si_value == pytest.approx(1.2675, rel=1e-3)
    assert normalise(120, "GWh/yr").si_value == pytest.approx(13.69e6, rel=1e-3)  # 120 GWh/yr ≈ 13.7 MW


@pytest.mark.parametrize("unit", ["xyz", "", "   ", "°C", "bar", "%", "1/s", "m", "t/yr/yr/", "DROP TABLE"])
def test_units_that_are_not_amounts_are_rejected_with_the_unit_named(unit: str) -> None:
    with pytest.raises(UnitError) as excinfo:
        unit_info(unit)
    if unit.strip():
        assert repr(unit) in str(excinfo.value)


@given(st.text(max_size=30))
def test_unit_parser_never_raises_anything_but_unit_error(text: str) -> None:
    try:
        info = unit_info(text)
    except UnitError:
        return
    assert math.isfinite(info.factor) and info.factor > 0


@given(st.floats(min_value=0, max_value=1e12, allow_nan=False), st.sampled_from(["t/yr", "MW", "m3/h", "GWh/yr"]))
def test_normalisation_is_linear(value: float, unit: str) -> None:
    assert normalise(value, unit).si_value == pytest.approx(value * unit_info(unit).factor)
