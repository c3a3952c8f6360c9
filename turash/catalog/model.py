"""Value objects of the resource catalogue: classes of resources and needs, their uses, and the bibliography.

Everything here is immutable; the catalogue is loaded once per process and shared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Category = Literal["heat", "steam", "water", "material", "gas", "energy", "service"]
CATEGORIES: tuple[Category, ...] = ("heat", "steam", "water", "material", "gas", "energy", "service")

QuantityKind = Literal["mass", "energy", "volume", "service"]
QUANTITY_KINDS: tuple[QuantityKind, ...] = ("mass", "energy", "volume", "service")

# Which side of an exchange a class usually describes. `supply`: a by-product, waste or surplus someone has;
# `demand`: a need in the receiver's words (animal feed, heat for a district-heating network); `both`: a commodity
# that appears on either side (steam, process water, CO2, electricity, transport).
Side = Literal["supply", "demand", "both"]
SIDES: tuple[Side, ...] = ("supply", "demand", "both")

# `mirror`: the waste has a hazardous and a non-hazardous entry in the List of Waste and which applies depends
# on its composition (Commission Decision 2000/532/EC, as amended by 2014/955/EU).
Hazard = bool | Literal["mirror"]

Via = Literal["same", "ancestor", "use"]
VIA_CODES: dict[Via, int] = {"same": 0, "ancestor": 1, "use": 2}

PropertyValue = float | str | tuple[float, float]


@dataclass(frozen=True, slots=True)
class Source:
    """One entry of the bibliography (`data/sources.yaml`)."""

    id: str
    title: str
    year: int | None = None  # None: an undated web page
    publisher: str | None = None
    authors: str | None = None
    url: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class UseConditions:
    """Gates the matching engine applies to the actual flows before it trusts a use.

    Temperatures and pressures are those of the supplied flow; `needs_treatment` means the route needs an
    intermediate step (a heat pump for low-grade heat, drying, screening, hygienisation, upgrading...).
    """

    min_temperature_c: float | None = None
    max_temperature_c: float | None = None
    min_purity_pct: float | None = None
    min_pressure_bar: float | None = None
    needs_treatment: bool = False
    note: str | None = None

    def as_dict(self) -> dict[str, float | bool | str]:
        """Only the conditions that are set, e.g. `{"min_temperature_c": 70.0}`."""
        out: dict[str, float | bool | str] = {}
        for key in ("min_temperature_c", "max_temperature_c", "min_purity_pct", "min_pressure_bar"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.needs_treatment:
            out["needs_treatment"] = True
        if self.note:
            out["note"] = self.note
        return out

    @property
    def is_empty(self) -> bool:
        return not self.as_dict()


NO_CONDITIONS = UseConditions()


@dataclass(frozen=True, slots=True)
class Use:
    """`to`: a demand class this resource can serve; `fit`: 0..1, how standard and proven the route is."""

    to: str
    fit: float
    conditions: UseConditions = NO_CONDITIONS
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Band:
    """Temperature or pressure band of a banded class: lower bound inclusive, upper bound exclusive, None = open."""

    temperature_c: tuple[float | None, float | None] | None = None
    pressure_bar: tuple[float | None, float | None] | None = None

    @staticmethod
    def _contains(bounds: tuple[float | None, float | None] | None, value: float) -> bool:
        if bounds is None:
            return False
        low, high = bounds
        return (low is None or value >= low) and (high is None or value < high)

    def contains_temperature(self, value: float) -> bool:
        return self._contains(self.temperature_c, value)

    def contains_pressure(self, value: float) -> bool:
        return self._contains(self.pressure_bar, value)


@dataclass(frozen=True, slots=True, eq=False)
class ResourceClass:
    """A class of resource or need. Ids are stable snake_case; `parent` builds an is-a chain."""

    id: str
    name: str
    category: Category
    side: Side
    quantity_kind: QuantityKind
    hazardous: Hazard
    parent: str | None = None
    description: str | None = None
    synonyms: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    ewc: tuple[str, ...] = ()
    nace_suppliers: tuple[str, ...] = ()
    nace_receivers: tuple[str, ...] = ()
    properties: Mapping[str, PropertyValue] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    uses: tuple[Use, ...] = ()
    band: Band | None = None
    file: str = ""

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(sorted(self.synonyms))

    def all_names(self) -> tuple[str, ...]:
        """The display name and every synonym in every language, without duplicates, in a stable order."""
        seen: dict[str, None] = {self.name: None}
        for lang in sorted(self.synonyms):
            for text in self.synonyms[lang]:
                seen.setdefault(text, None)
        return tuple(seen)

    @property
    def ewc_codes(self) -> tuple[str, ...]:
        """EWC codes without the hazardous star, e.g. `10 01 02`."""
        return tuple(code.rstrip("*") for code in self.ewc)


@dataclass(frozen=True, slots=True)
class ClassCandidate:
    class_id: str
    weight: float
    reason: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """What the resolver understood of a free-text resource description.

    `candidates` are best first and their weights sum to 1 when there are any; an empty list means the text was
    not understood (never a confident wrong guess). Numbers read from the text are returned as well, so the
    caller can fill missing temperature/pressure/purity columns.
    """

    text: str
    candidates: tuple[ClassCandidate, ...]
    ambiguous: bool
    temperature_c: float | None = None
    pressure_bar: float | None = None
    purity_pct: float | None = None
    ewc_code: str | None = None

    @property
    def best(self) -> str | None:
        return self.candidates[0].class_id if self.candidates else None

    @property
    def best_weight(self) -> float:
        return self.candidates[0].weight if self.candidates else 0.0

    def weights(self) -> dict[str, float]:
        return {c.class_id: c.weight for c in self.candidates}


@dataclass(frozen=True, slots=True)
class Compatibility:
    """Can supply class `supply` serve demand class `demand`?

    `via`: `same` (identical class), `ancestor` (the demand is a more general class of the supply: fgd_gypsum →
    gypsum) or `use` (a documented use of the supply or of one of its ancestors). `score` is 0..1.
    """

    supply: str
    demand: str
    score: float
    via: Via
    conditions: Mapping[str, float | bool | str] = field(default_factory=dict)
    sources: tuple[str, ...] = ()
    use_of: str | None = None  # the class (supply or an ancestor) whose `uses` entry matched
