"""Shared exchanges for the economics tests."""

from __future__ import annotations

import pytest

from turash.economics import ExchangeCase

MWH = 3.6e9


@pytest.fixture
def heat_case() -> ExchangeCase:
    """30 GWh/yr of 85 °C surplus heat into a district-heating network 2.4 km away (Denmark)."""
    return ExchangeCase(
        category="heat",
        annual_quantity=30e3 * MWH,
        quantity_kind="energy",
        distance_km=2.4,
        supply_class="heat_70_100c",
        demand_class="district_heating_heat",
        country="DK",
        supply_precision="estimated",
        demand_precision="measured",
    )


@pytest.fixture
def ash_case() -> ExchangeCase:
    """50 kt/yr of coal fly ash to a cement plant 30 km away by road (Germany)."""
    return ExchangeCase(
        category="material",
        annual_quantity=50e6,
        quantity_kind="mass",
        distance_km=30.0,
        supply_class="coal_fly_ash",
        demand_class="supplementary_cementitious_material",
        country="DE",
    )
