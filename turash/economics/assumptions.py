"""Defaults of the economics module (YAML files under `data/`) and the per-request `Assumptions`.

    a = Assumptions.for_country("DK").with_overrides(discount_rate=0.06)
    a["discount_rate"]          # 0.06
    a.param("gas_price_eur_per_mwh").source  # 'eurostat_gas_prices_2024'

Every number carries its unit and the id of its source in the bibliography (`data/sources.yaml`, or the
catalogue's own `turash/catalog/data/sources.yaml`). A value a request overrides carries the source `override`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from turash.kit.errors import TurashError, ValidationFailed

DATA_DIR = Path(__file__).parent / "data"
OVERRIDE = "override"  # source id of a value a request set
EU = "EU"  # the fallback "country" whose values are the defaults of parameters.yaml


class EconomicsDataError(TurashError):
    """A data file of the economics module is broken (a programming error, reported with file and key)."""

    status_code = 500
    code = "economics_data_error"


class UnknownAssumption(ValidationFailed):
    """A request tried to override a parameter that does not exist, or with a value that is not a finite number."""

    code = "unknown_assumption"


@dataclass(frozen=True, slots=True)
class Source:
    id: str
    title: str
    year: int | None = None
    publisher: str | None = None
    authors: str | None = None
    url: str | None = None
    checked: str | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Param:
    """One number the models use: value in the unit a person reads, and where it comes from."""

    name: str
    value: float
    unit: str
    source: str
    note: str | None = None

    def as_tuple(self) -> tuple[str, float, str, str]:
        return (self.name, self.value, self.unit, self.source)


@dataclass(frozen=True, slots=True)
class TableValue:
    """A value of a keyed table (materials, temperatures): value and source."""

    value: float | None
    source: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class MaterialEntry:
    """What a receiver of one demand class avoids buying."""

    demand_class: str
    price_eur_per_t: TableValue
    co2_t_per_t: TableValue | None = None
    substitution: Mapping[str, TableValue] = field(default_factory=dict)

    def ratio_for(self, supply_class: str | None) -> TableValue:
        if supply_class is not None and supply_class in self.substitution:
            return self.substitution[supply_class]
        return self.substitution.get("default", TableValue(1.0, "engineering", "one tonne replaces one tonne"))


@dataclass(frozen=True, slots=True)
class EconomicsData:
    """Everything under `data/`, validated."""

    params: Mapping[str, Param]
    country_keys: frozenset[str]  # parameters a country may set
    countries: Mapping[str, Mapping[str, Param]]
    materials: Mapping[str, MaterialEntry]
    demand_temperature_c: Mapping[str, TableValue]
    supply_temperature_c: Mapping[str, TableValue]
    default_supply_temperature: TableValue
    default_demand_temperature: TableValue
    sources: Mapping[str, Source]

    def source(self, source_id: str) -> Source | None:
        """A bibliography entry, from this module's bibliography or the catalogue's."""
        if source_id in self.sources:
            return self.sources[source_id]
        catalogue = _catalogue_sources()
        cat = catalogue.get(source_id)
        if cat is None:
            return None
        return Source(
            id=cat.id,
            title=cat.title,
            year=cat.year,
            publisher=cat.publisher,
            authors=cat.authors,
            url=cat.url,
            note=cat.note,
        )


def _catalogue_sources() -> Mapping[str, Any]:
    from turash.catalog import get_catalog

    return get_catalog().sources


def _read(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        raise EconomicsDataError(f"{path.name}: cannot read: {exc}") from exc


def _number(where: str, raw: Any, *, allow_none: bool = False) -> float | None:
    if raw is None and allow_none:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(float(raw)):
        raise EconomicsDataError(f"{where}: value {raw!r} is not a finite number")
    return float(raw)


def _table_value(where: str, raw: Any, known: set[str], problems: list[str]) -> TableValue:
    if not isinstance(raw, dict) or "value" not in raw or "source" not in raw:
        raise EconomicsDataError(f"{where}: expected {{value, source}}")
    src = str(raw["source"])
    if src not in known:
        problems.append(f"{where}: source '{src}' is not in any bibliography")
    return TableValue(_number(where, raw["value"], allow_none=True), src, raw.get("note"))


def load_data(data_dir: Path = DATA_DIR) -> EconomicsData:
    """Read and validate the data files; every problem is reported at once."""
    raw_sources = _read(data_dir / "sources.yaml") or {}
    sources = {
        key: Source(
            id=key,
            title=str(v["title"]),
            year=v.get("year"),
            publisher=v.get("publisher"),
            authors=v.get("authors"),
            url=v.get("url"),
            checked=v.get("checked"),
            note=v.get("note"),
        )
        for key, v in raw_sources.items()
    }
    known = set(sources) | set(_catalogue_sources())
    problems: list[str] = []

    params: dict[str, Param] = {}
    country_keys: set[str] = set()
    for name, entry in (_read(data_dir / "parameters.yaml") or {}).items():
        where = f"parameters.yaml: {name}"
        if not isinstance(entry, dict) or not {"value", "unit", "source"} <= set(entry):
            raise EconomicsDataError(f"{where}: expected {{value, unit, source}}")
        value = _number(where, entry["value"])
        assert value is not None
        if entry["source"] not in known:
            problems.append(f"{where}: source '{entry['source']}' is not in any bibliography")
        params[name] = Param(name, value, str(entry["unit"]), str(entry["source"]), entry.get("note"))
        if entry.get("country"):
            country_keys.add(name)

    countries: dict[str, dict[str, Param]] = {}
    for code, values in (_read(data_dir / "countries.yaml") or {}).items():
        if not (isinstance(code, str) and len(code) == 2 and code.isupper()):
            problems.append(f"countries.yaml: '{code}' is not an ISO 3166-1 alpha-2 code")
            continue
        countries[code] = {}
        for name, entry in (values or {}).items():
            where = f"countries.yaml: {code}.{name}"
            if name not in country_keys:
                problems.append(f"{where}: not a country parameter of parameters.yaml")
                continue
            tv = _table_value(where, entry, known, problems)
            assert tv.value is not None
            countries[code][name] = Param(name, tv.value, params[name].unit, tv.source, tv.note)

    materials: dict[str, MaterialEntry] = {}
    for demand, entry in ((_read(data_dir / "materials.yaml") or {}).get("demand") or {}).items():
        where = f"materials.yaml: {demand}"
        subs = {
            supply: _table_value(f"{where}.substitution.{supply}", tv, known, problems)
            for supply, tv in (entry.get("substitution") or {}).items()
        }
        co2 = entry.get("co2_t_per_t")
        materials[demand] = MaterialEntry(
            demand_class=demand,
            price_eur_per_t=_table_value(f"{where}.price_eur_per_t", entry.get("price_eur_per_t"), known, problems),
            co2_t_per_t=None if co2 is None else _table_value(f"{where}.co2_t_per_t", co2, known, problems),
            substitution=subs,
        )

    temps = _read(data_dir / "temperatures.yaml") or {}
    demand_t = {
        k: _table_value(f"temperatures.yaml: demand.{k}", v, known, problems)
        for k, v in (temps.get("demand") or {}).items()
    }
    supply_t = {
        k: _table_value(f"temperatures.yaml: supply.{k}", v, known, problems)
        for k, v in (temps.get("supply") or {}).items()
    }
    default_supply = _table_value("temperatures.yaml: default_supply_c", temps.get("default_supply_c"), known, problems)
    default_demand = _table_value("temperatures.yaml: default_demand_c", temps.get("default_demand_c"), known, problems)

    _check_classes(
        list(materials)
        + list(demand_t)
        + list(supply_t)
        + [s for m in materials.values() for s in m.substitution if s != "default"],
        problems,
    )
    if problems:
        raise EconomicsDataError("; ".join(problems), details=problems)
    return EconomicsData(
        params,
        frozenset(country_keys),
        countries,
        materials,
        demand_t,
        supply_t,
        default_supply,
        default_demand,
        sources,
    )


def _check_classes(class_ids: Iterable[str], problems: list[str]) -> None:
    from turash.catalog import get_catalog

    cat = get_catalog()
    for cid in class_ids:
        if cid not in cat:
            problems.append(f"'{cid}' is not a class of the catalogue")


@lru_cache(maxsize=1)
def get_data() -> EconomicsData:
    """The process-wide, validated data of the economics module."""
    return load_data()


# --- the operator's price settings ---------------------------------------------------------------------------------
OPERATOR = "operator"  # source id of a value the operator's economics file sets
RECHECK_SECONDS = 1.0  # how often the data and settings files are checked for changes


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    """The operator's economics file (`TURASH_ECONOMICS_FILE`): values for every country and per country."""

    default: Mapping[str, Param] = field(default_factory=dict)
    countries: Mapping[str, Mapping[str, Param]] = field(default_factory=dict)


def _operator_file() -> Path | None:
    from turash.config import get_settings

    return get_settings().economics_file


def load_operator_settings(path: Path | None, data: EconomicsData) -> OperatorSettings:
    """Read the operator's file: `default: {name: value}` and `countries: {DK: {name: value}}`, where a value is a
    number or `{value, source?, note?}`. Every problem (unknown name, bad number, bad country) is reported at once,
    naming the file and the key."""
    if path is None:
        return OperatorSettings()
    raw = _read(path)
    if raw is None:
        return OperatorSettings()
    if not isinstance(raw, dict) or not set(raw) <= {"default", "countries"}:
        raise EconomicsDataError(f"{path}: expected the keys 'default' and/or 'countries'")
    problems: list[str] = []

    def values(where: str, entries: Any) -> dict[str, Param]:
        out: dict[str, Param] = {}
        if not isinstance(entries, dict):
            problems.append(f"{where}: expected name: value pairs")
            return out
        for name, entry in entries.items():
            spot = f"{where}.{name}"
            if name not in data.params:
                problems.append(f"{spot}: unknown economic assumption")
                continue
            number, source, note = (
                (entry.get("value"), entry.get("source", OPERATOR), entry.get("note"))
                if isinstance(entry, dict)
                else (entry, OPERATOR, None)
            )
            try:
                value = _number(spot, number)
            except EconomicsDataError as exc:
                problems.append(exc.message)
                continue
            assert value is not None
            out[name] = Param(name, value, data.params[name].unit, str(source), note or "set by the operator")
        return out

    default = values(f"{path.name}: default", raw.get("default") or {})
    countries: dict[str, dict[str, Param]] = {}
    for code, entries in (raw.get("countries") or {}).items():
        if not (isinstance(code, str) and len(code) == 2 and code.isupper()):
            problems.append(f"{path.name}: countries.{code}: not an ISO 3166-1 alpha-2 code")
            continue
        countries[code] = values(f"{path.name}: countries.{code}", entries)
    if problems:
        raise EconomicsDataError("; ".join(problems), details=problems)
    return OperatorSettings(default, countries)


@lru_cache(maxsize=1)
def get_operator_settings() -> OperatorSettings:
    return load_operator_settings(_operator_file(), get_data())


_stamp: tuple[Any, ...] | None = None
_fingerprint = ""
_checked_at = -math.inf


def fingerprint() -> str:
    """A digest of everything the assumption sets are built from: the data files and the operator's economics file.
    Checked at most once a second; when a file changed, the data and the cached sets are reloaded, so a price
    setting changed on disk is used (and keys new cache entries) without a restart."""
    global _stamp, _fingerprint, _checked_at
    now = time.monotonic()
    if _fingerprint and now - _checked_at < RECHECK_SECONDS:
        return _fingerprint
    _checked_at = now
    files = sorted(DATA_DIR.glob("*.yaml"))
    operator = _operator_file()
    if operator is not None:
        files.append(operator)
    stamp = tuple((str(f), *_stat(f)) for f in files)
    if stamp != _stamp:
        digest = hashlib.sha256()
        for f in files:
            digest.update(str(f.name).encode())
            digest.update(f.read_bytes() if f.is_file() else b"")
        get_data.cache_clear()
        get_operator_settings.cache_clear()
        _for_country.cache_clear()
        _stamp, _fingerprint = stamp, digest.hexdigest()[:20]
    return _fingerprint


def _stat(path: Path) -> tuple[int, int]:
    try:
        st = path.stat()
    except OSError:
        return (0, -1)
    return (st.st_mtime_ns, st.st_size)


@dataclass(frozen=True, slots=True)
class Assumptions:
    """The parameters one evaluation uses: EU defaults, a country's checked values, then a request's overrides."""

    country: str
    values: Mapping[str, Param]

    @classmethod
    def for_country(cls, country: str | None = None) -> Assumptions:
        fingerprint()  # reloads the sets when a data or settings file changed
        return _for_country((country or EU).upper())

    def with_overrides(self, **overrides: float) -> Assumptions:
        """A copy with some parameters replaced; unknown names and non-finite values raise `UnknownAssumption`."""
        if not overrides:
            return self
        values = dict(self.values)
        for name, value in overrides.items():
            if name not in values:
                raise UnknownAssumption(f"unknown economic assumption '{name}'", details={"name": name})
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(float(value)):
                raise UnknownAssumption(
                    f"assumption '{name}' must be a finite number, got {value!r}", details={"name": name}
                )
            values[name] = replace(values[name], value=float(value), source=OVERRIDE, note="set by the request")
        return Assumptions(self.country, values)

    def __getitem__(self, name: str) -> float:
        return self.values[name].value

    def param(self, name: str) -> Param:
        return self.values[name]

    def names(self) -> tuple[str, ...]:
        return tuple(self.values)

    @property
    def overridden(self) -> tuple[str, ...]:
        return tuple(n for n, p in self.values.items() if p.source == OVERRIDE)


@lru_cache(maxsize=64)
def _for_country(code: str) -> Assumptions:
    """EU defaults, then the country's checked values, then the operator's values for all, then for the country."""
    data = get_data()
    operator = get_operator_settings()
    values = dict(data.params)
    values.update(data.countries.get(code, {}))
    values.update(operator.default)
    values.update(operator.countries.get(code, {}))
    return Assumptions(code, values)
