"""Value objects of the sector knowledge: profiles of what a site of a NACE sector supplies and demands, with
typical quantities per unit of size, and the flows inferred from them for a site that declared nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

Direction = Literal["supply", "demand"]
DIRECTIONS: tuple[Direction, ...] = ("supply", "demand")

# Size drivers, in the order inference prefers them when several are known: a coefficient per tonne of product is
# what BREFs publish and varies least between sites; per GWh of fuel and per tonne of CO2 come next (registers give
# both); per employee is the weakest, but it is all `turash import sites` may carry.
Driver = Literal["per_t_production", "per_gwh_fuel", "per_t_co2", "per_employee"]
DRIVERS: tuple[Driver, ...] = ("per_t_production", "per_gwh_fuel", "per_t_co2", "per_employee")
DRIVER_UNITS: Mapping[Driver, str] = {
    "per_t_production": "t of production",
    "per_gwh_fuel": "GWh of fuel",
    "per_t_co2": "t CO2 emitted",
    "per_employee": "employee",
}

Precision = Literal["rough", "estimated"]
QuantityKind = Literal["mass", "energy", "volume"]

# Units a profile may use, per driver unit and year → (kind, factor to the canonical unit of that kind).
CANONICAL_UNITS: Mapping[QuantityKind, str] = {"mass": "t/yr", "energy": "GWh/yr", "volume": "m3/yr"}
UNITS: Mapping[str, tuple[QuantityKind, float]] = {
    "kg/yr": ("mass", 1e-3),
    "t/yr": ("mass", 1.0),
    "kt/yr": ("mass", 1e3),
    "kWh/yr": ("energy", 1e-6),
    "MWh/yr": ("energy", 1e-3),
    "GWh/yr": ("energy", 1.0),
    "GJ/yr": ("energy", 1.0 / 3600.0),
    "TJ/yr": ("energy", 1.0 / 3.6),
    "m3/yr": ("volume", 1.0),
    "Nm3/yr": ("volume", 1.0),
}


@dataclass(frozen=True, slots=True)
class QuantitySpec:
    """`typical` (with `low`..`high`) `unit` per driver unit, e.g. 0.2 t/yr per t of production. The values are
    stored in the canonical unit of their kind (t/yr, GWh/yr, m3/yr); `unit` is the one the data file used."""

    driver: Driver
    typical: float
    low: float
    high: float
    kind: QuantityKind
    unit: str
    assumption: str | None = None  # set when the figure is an engineering assumption rather than a published value

    def scaled(self, size: float) -> tuple[float, float, float]:
        return self.typical * size, self.low * size, self.high * size


@dataclass(frozen=True, slots=True)
class ProfileFlow:
    """One resource a site of the sector typically supplies or demands.

    `likelihood` (0..1) is the share of sites of the sector expected to have this flow: an engineering judgement
    recorded with the data, used to rank receivers and to leave out unlikely flows when inferring."""

    direction: Direction
    class_id: str
    likelihood: float
    quantities: Mapping[Driver, QuantitySpec] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    note: str | None = None
    schedule: str | None = None
    declared_in: str = ""  # the profile code that declares the flow (a parent's, when inherited)
    # Only at sites whose yearly CO2 emissions (a register figure) lie in [low, high) t; None: open. A flow with a
    # range is kept when the site's emissions are unknown. It tells production routes apart (blast furnace vs
    # electric arc furnace steelworks) where the sector code does not.
    co2_t_range: tuple[float | None, float | None] | None = None

    @property
    def key(self) -> tuple[Direction, str]:
        return (self.direction, self.class_id)

    def fits_co2(self, co2_t: float | None) -> bool:
        """False only when the site's emissions are known and outside the flow's range."""
        if self.co2_t_range is None or co2_t is None:
            return True
        low, high = self.co2_t_range
        return (low is None or co2_t >= low) and (high is None or co2_t < high)


@dataclass(frozen=True, slots=True)
class TypicalSite:
    """Size of a typical site, used when nothing about the site's size is known (always an assumption)."""

    employees: float | None = None
    production_t: float | None = None
    note: str | None = None
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SectorProfile:
    """Profile of a NACE Rev. 2 section, division, group or class. `supplies`/`demands` include the flows inherited
    from the parent profiles (unless `inherit: false`); `own` tells which were declared here."""

    code: str
    name: str
    level: Literal["section", "division", "group", "class"]
    supplies: tuple[ProfileFlow, ...]
    demands: tuple[ProfileFlow, ...]
    production: str | None = None  # what a tonne of production is, e.g. "t cement"
    typical_site: TypicalSite | None = None
    sources: tuple[str, ...] = ()
    note: str | None = None
    file: str = ""

    def flows(self, direction: Direction | None = None) -> tuple[ProfileFlow, ...]:
        if direction == "supply":
            return self.supplies
        if direction == "demand":
            return self.demands
        return self.supplies + self.demands

    def own(self, direction: Direction | None = None) -> tuple[ProfileFlow, ...]:
        return tuple(f for f in self.flows(direction) if f.declared_in == self.code)

    def class_ids(self, direction: Direction) -> tuple[str, ...]:
        return tuple(f.class_id for f in self.flows(direction))


@dataclass(frozen=True, slots=True)
class ProfileMatch:
    """The profile that answers a NACE code: `requested` as given, `rev2` the code in Rev. 2, `profile.code` the
    code whose profile was used (the code itself, or a group, division or section above it)."""

    requested: str
    rev2: str
    profile: SectorProfile
    revision: Literal["2", "2.1"] = "2"

    @property
    def code(self) -> str:
        return self.profile.code

    @property
    def exact(self) -> bool:
        return self.profile.code == self.rev2

    @property
    def level(self) -> str:
        return self.profile.level


@dataclass(frozen=True, slots=True)
class SectorScore:
    """How well a sector fits one side of an exchange of `class_id`: `score` = catalogue compatibility × likelihood."""

    nace: str
    name: str
    score: float
    compatibility: float
    likelihood: float
    matched_class: str  # the class in the sector's profile that made the match
    via: str  # "same", "ancestor" or "use" (catalogue compatibility)


@dataclass(frozen=True, slots=True)
class RegisterFigures:
    """Real figures a public register gives for a site. Sizes (`production_t`, `fuel_gwh`, `co2_t`) scale the
    profile; `excess_heat_gwh` (class id → GWh/yr) and `co2_t` also become flows of their own, precision
    `estimated`, replacing the profile's guesses for the same resource."""

    source: str  # e.g. "Hotmaps Industrial Database"
    source_ids: tuple[str, ...] = ()  # bibliography ids
    production_t: float | None = None
    fuel_gwh: float | None = None
    co2_t: float | None = None
    excess_heat_gwh: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class InferredFlow:
    """A flow a site probably has. `precision` is `rough` when it comes from a sector profile and `estimated` when a
    register gave the figure; `inferred` is True for the former. `low`/`high` bound `quantity` (same unit)."""

    direction: Direction
    class_id: str
    resource: str  # the class's name: what `turash flows list` shows for an inferred flow
    category: str
    quantity: float | None
    unit: str | None
    low: float | None
    high: float | None
    precision: Precision
    inferred: bool
    basis: str
    sources: tuple[str, ...]
    likelihood: float
    profile: str | None  # the profile code used (None for a register figure the profile did not list)
    driver: str | None = None  # "per_employee", ..., "typical_site", "register" or None (presence only)
    temperature_c: float | None = None
    schedule: str | None = None
    note: str | None = None

    def as_flow_values(self) -> dict[str, Any]:
        """Column values for a ResourceFlow (or a `turash import flows` row) carrying this inference."""
        return {
            "direction": self.direction,
            "resource": self.resource,
            "category": self.category,
            "quantity": self.quantity,
            "unit": self.unit,
            "quantity_min": self.low,
            "quantity_max": self.high,
            "temperature_c": self.temperature_c,
            "schedule": self.schedule,
            "precision": self.precision,
            "inferred": self.inferred,
            "inferred_from": self.basis[:300],
            "attributes": {
                "resource_class": self.class_id,
                "sources": list(self.sources),
                "likelihood": self.likelihood,
                "profile": self.profile,
                "driver": self.driver,
            },
        }
