"""Flows a site probably has, inferred from its sector profile and whatever size or register figures are known.

    infer_flows("23.51", employees=120)
    infer_flows("24.10", register_figures=figures_from_hotmaps(site))

Each profile flow is scaled by the best size driver known (per tonne of production, per GWh of fuel, per tonne of
CO2, per employee, in that order), else by the profile's typical site (an assumption, said so in the basis), else
it is listed without quantity. Register figures that are flows in themselves (Hotmaps excess heat by temperature
band, E-PRTR CO2) replace the profile's guess for that resource with precision `estimated`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .model import (
    CANONICAL_UNITS,
    DRIVER_UNITS,
    DRIVERS,
    Driver,
    InferredFlow,
    ProfileFlow,
    ProfileMatch,
    QuantitySpec,
    RegisterFigures,
)
from .nace import Revision
from .service import SectorProfiles, get_profiles

# Hotmaps excess-heat bands (turash.registers.hotmaps.HEAT_BANDS labels) → catalogue classes.
HOTMAPS_BANDS: Mapping[str, str] = {
    "100-200 °C": "heat_100_200c",
    "200-500 °C": "heat_200_500c",
    "above 500 °C": "heat_above_500c",
}
# Classes a register CO2 figure stands for: it replaces the profile's guesses of these.
_CO2_FAMILY = ("co2", "flue_gas_co2")
DEFAULT_MIN_LIKELIHOOD = 0.25


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}"


def _source_text(sources: tuple[str, ...]) -> str:
    return f" ({', '.join(sources)})" if sources else ""


def _output_unit(spec_kind: str, typical: float) -> tuple[str, float]:
    """Unit shown for an inferred quantity (canonical per kind; MWh/yr for small energy flows)."""
    unit = CANONICAL_UNITS[spec_kind]  # type: ignore[index]
    if spec_kind == "energy" and typical < 1.0:
        return "MWh/yr", 1e3
    return unit, 1.0


def figures_from_hotmaps(site: Any) -> RegisterFigures:
    """Register figures of a `turash.registers.hotmaps.HotmapsSite` (duck-typed: `figures`, `excess_heat`)."""
    figures: Mapping[str, float | None] = site.figures
    heat: dict[str, float] = {}
    for band, gwh, _low in site.excess_heat:
        class_id = HOTMAPS_BANDS.get(band)
        if class_id is not None and gwh > 0:
            heat[class_id] = heat.get(class_id, 0.0) + gwh
    co2 = figures.get("emissions_ets_2014_t_co2") or figures.get("emissions_eprtr_2014_t_co2")
    return RegisterFigures(
        source="Hotmaps Industrial Database",
        source_ids=("hotmaps",),
        production_t=figures.get("production_t") or None,
        fuel_gwh=figures.get("fuel_demand_gwh") or None,
        co2_t=co2 or None,
        excess_heat_gwh=heat,
    )


def _register_flows(
    figures: RegisterFigures, match: ProfileMatch | None, profiles: SectorProfiles
) -> tuple[list[InferredFlow], set[str]]:
    """Flows that are register figures themselves, and the profile classes they replace."""
    out: list[InferredFlow] = []
    replaced: set[str] = set()
    cat = profiles.catalog
    sources = figures.source_ids
    for class_id, gwh in figures.excess_heat_gwh.items():
        rc = cat.get(class_id)
        low_t = rc.band.temperature_c[0] if rc.band and rc.band.temperature_c else None
        out.append(
            InferredFlow(
                direction="supply",
                class_id=class_id,
                resource=rc.name,
                category=rc.category,
                quantity=gwh,
                unit="GWh/yr",
                low=None,
                high=None,
                precision="estimated",
                inferred=False,
                basis=f"{figures.source}: excess heat {_fmt(gwh)} GWh/yr ({rc.name})",
                sources=sources,
                likelihood=1.0,
                profile=match.code if match else None,
                driver="register",
                temperature_c=low_t,
                schedule="24/7",
            )
        )
    if figures.excess_heat_gwh:
        # The register's banded estimate replaces every waste-heat guess of the profile.
        replaced.update(c for c in cat.class_ids if c == "waste_heat" or "waste_heat" in cat.ancestors(c))
    if figures.co2_t:
        class_id = "flue_gas_co2"
        if match is not None:
            declared = [f.class_id for f in match.profile.supplies if f.class_id in _CO2_FAMILY]
            class_id = declared[0] if declared else class_id
        rc = cat.get(class_id)
        out.append(
            InferredFlow(
                direction="supply",
                class_id=class_id,
                resource=rc.name,
                category=rc.category,
                quantity=figures.co2_t,
                unit="t/yr",
                low=None,
                high=None,
                precision="estimated",
                inferred=False,
                basis=f"{figures.source}: {_fmt(figures.co2_t)} t CO2/yr emitted",
                sources=sources,
                likelihood=1.0,
                profile=match.code if match else None,
                driver="register",
            )
        )
        replaced.update(_CO2_FAMILY)
    return out, replaced


def _scale(
    flow: ProfileFlow, match: ProfileMatch, sizes: Mapping[Driver, tuple[float, str]], use_typical_site: bool
) -> tuple[QuantitySpec, float, str, str] | None:
    """The spec, size, driver name and size text to use for one profile flow, or None (presence only)."""
    production = match.profile.production
    for driver in DRIVERS:
        spec = flow.quantities.get(driver)
        if spec is not None and driver in sizes:
            size, origin = sizes[driver]
            return spec, size, driver, f"{_size_text(driver, size, production)}{origin}"
    site = match.profile.typical_site
    if not use_typical_site or site is None:
        return None
    typical: tuple[tuple[Driver, float | None], ...] = (
        ("per_t_production", site.production_t),
        ("per_employee", site.employees),
    )
    for driver, value in typical:
        spec = flow.quantities.get(driver)
        if spec is not None and value:
            what = _size_text(driver, value, production)
            return spec, value, "typical_site", f"a typical site of {what} (assumption)"
    return None


def _size_text(driver: Driver, size: float, production: str | None) -> str:
    if driver == "per_t_production":
        return f"{_fmt(size)} {production or 't of production'}/yr"
    if driver == "per_employee":
        return f"{_fmt(size)} employee{'s' if size != 1 else ''}"
    return f"{_fmt(size)} {DRIVER_UNITS[driver]}/yr"


def infer_flows(
    nace: str | None,
    *,
    employees: float | None = None,
    production_t: float | None = None,
    co2_t: float | None = None,
    fuel_gwh: float | None = None,
    register_figures: RegisterFigures | None = None,
    revision: Revision = "2",
    min_likelihood: float = DEFAULT_MIN_LIKELIHOOD,
    use_typical_site: bool = True,
    profiles: SectorProfiles | None = None,
) -> list[InferredFlow]:
    """Likely supply and demand flows of a site of sector `nace` (Rev. 2 unless `revision` says otherwise).

    Sizes given as arguments win over the same size in `register_figures`. Flows whose likelihood is below
    `min_likelihood` are left out. An unknown code gives no flows (and no error): the site simply has none."""
    profiles = profiles or get_profiles()
    match = profiles.profile_for(nace, revision) if nace else None
    out: list[InferredFlow] = []
    replaced: set[str] = set()
    sizes: dict[Driver, tuple[float, str]] = {}
    register_origin = ""
    if register_figures is not None:
        register_flows, replaced = _register_flows(register_figures, match, profiles)
        out.extend(register_flows)
        register_origin = f" ({register_figures.source})"
        for driver, value in (
            ("per_t_production", register_figures.production_t),
            ("per_gwh_fuel", register_figures.fuel_gwh),
            ("per_t_co2", register_figures.co2_t),
        ):
            if value:
                sizes[driver] = (value, register_origin)  # type: ignore[index]
    for driver, value in (
        ("per_t_production", production_t),
        ("per_gwh_fuel", fuel_gwh),
        ("per_t_co2", co2_t),
        ("per_employee", employees),
    ):
        if value is not None and value > 0:
            sizes[driver] = (float(value), "")  # type: ignore[index]
    if match is None:
        return out
    profile = match.profile
    label = f"NACE {profile.code} profile"
    if profile.code != match.rev2:
        label += f" (for {match.rev2})"
    co2_known = sizes["per_t_co2"][0] if "per_t_co2" in sizes else None
    for flow in profile.flows():
        if flow.likelihood < min_likelihood:
            continue
        if flow.direction == "supply" and flow.class_id in replaced:
            continue
        if not flow.fits_co2(co2_known):
            continue  # another production route than the site's emissions show
        route = (
            f"; the site's {_fmt(co2_known)} t CO2/yr fit this production route"
            if flow.co2_t_range is not None and co2_known is not None
            else ""
        )
        rc = profiles.catalog.get(flow.class_id)
        sources = flow.sources
        scaled = _scale(flow, match, sizes, use_typical_site)
        temperature = rc.band.temperature_c[0] if rc.band and rc.band.temperature_c else None
        if scaled is None:
            out.append(
                InferredFlow(
                    direction=flow.direction,
                    class_id=flow.class_id,
                    resource=rc.name,
                    category=rc.category,
                    quantity=None,
                    unit=None,
                    low=None,
                    high=None,
                    precision="rough",
                    inferred=True,
                    basis=f"{label}: likely {flow.direction} (quantity unknown){_source_text(sources)}{route}",
                    sources=sources,
                    likelihood=flow.likelihood,
                    profile=profile.code,
                    driver=None,
                    temperature_c=temperature,
                    schedule=flow.schedule,
                    note=flow.note,
                )
            )
            continue
        spec, size, driver, size_text = scaled
        typical, low, high = spec.scaled(size)
        unit, factor = _output_unit(spec.kind, typical)
        basis = f"{label} × {size_text}{_source_text(sources)}{route}"
        if spec.assumption:
            basis += "; coefficient is an engineering assumption"
        out.append(
            InferredFlow(
                direction=flow.direction,
                class_id=flow.class_id,
                resource=rc.name,
                category=rc.category,
                quantity=round(typical * factor, 6),
                unit=unit,
                low=round(low * factor, 6),
                high=round(high * factor, 6),
                precision="rough",
                inferred=True,
                basis=basis,
                sources=sources,
                likelihood=flow.likelihood,
                profile=profile.code,
                driver=driver,
                temperature_c=temperature,
                schedule=flow.schedule,
                note=flow.note,
            )
        )
    return out


def superseded(
    flows: Iterable[InferredFlow], declared: Iterable[tuple[str, str]], profiles: SectorProfiles | None = None
) -> list[InferredFlow]:
    """The inferred flows a site's own declaration replaces, given its declared (direction, class id) pairs.

    Once a company declares anything, every profile guess (`rough`, `inferred`) of its site goes: what it declared
    is its picture of the site. A register figure (`estimated`) goes only when a declared flow of the same
    direction covers the same resource (the class, an ancestor or a descendant of it)."""
    declared = list(declared)
    if not declared:
        return []
    cat = (profiles or get_profiles()).catalog
    out: list[InferredFlow] = []
    for flow in flows:
        if flow.inferred:
            out.append(flow)
            continue
        family = {flow.class_id, *cat.ancestors(flow.class_id), *cat.descendants(flow.class_id)}
        if any(direction == flow.direction and class_id in family for direction, class_id in declared):
            out.append(flow)
    return out
