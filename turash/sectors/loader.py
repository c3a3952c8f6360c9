"""Load and validate the sector profiles (`data/profiles_*.yaml`) and their bibliography (`data/sources.yaml`).

Every problem is reported at once with its file, profile and flow, e.g.
`SectorDataError: profiles_minerals.yaml: 23.51 demands[2]: class 'fly_ashh' is not in the catalogue`.
Source ids may be the sector bibliography's or the resource catalogue's (`turash/catalog/data/sources.yaml`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeGuard, cast

import yaml

from turash.catalog import Catalog, Source, get_catalog
from turash.kit.errors import TurashError

from .model import (
    DRIVERS,
    UNITS,
    Direction,
    Driver,
    ProfileFlow,
    QuantityKind,
    QuantitySpec,
    SectorProfile,
    TypicalSite,
)
from .nace import rev2_codes, sections

DATA_DIR = Path(__file__).parent / "data"
SOURCES_FILE = "sources.yaml"
PROFILE_GLOB = "profiles_*.yaml"

_ID = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")
_PROFILE_KEYS = {"name", "production", "typical_site", "sources", "note", "inherit", "exclude", "supplies", "demands"}
_FLOW_KEYS = {"class", "likelihood", "sources", "note", "schedule", "assumption", "when_co2_t", *DRIVERS}
_SPEC_KEYS = {"typical", "low", "high", "unit", "assumption"}
_SITE_KEYS = {"employees", "production_t", "note", "sources"}
_SOURCE_KEYS = {"title", "year", "publisher", "authors", "url", "note"}
# Gases are counted by mass (t CO2), volume (Nm3) or energy content (GWh of fuel gas) alike.
_GAS_KINDS: tuple[QuantityKind, ...] = ("mass", "volume", "energy")


class SectorDataError(TurashError):
    """A sector data file is malformed: a programming error of the data, hence 500."""

    status_code = 500
    code = "sector_data_error"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        head = self.problems[0] if len(self.problems) == 1 else f"{len(self.problems)} problems in the sector data"
        body = "" if len(self.problems) == 1 else "\n  " + "\n  ".join(self.problems)
        super().__init__(head + body, details={"problems": list(self.problems)})


@dataclass(frozen=True)
class LoadedProfiles:
    profiles: Mapping[str, SectorProfile]
    sources: Mapping[str, Source]  # the sector bibliography only


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _yaml(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)  # noqa: S506 - a SafeLoader  # nosec B506


def level_of(code: str) -> str:
    return {1: "section", 2: "division", 4: "group", 5: "class"}.get(len(code), "?")


def load_sources(path: Path, problems: list[str], catalog: Catalog) -> dict[str, Source]:
    if not path.exists():
        problems.append(f"{path.name}: the bibliography file is missing")
        return {}
    raw = _yaml(path) or {}
    if not isinstance(raw, dict):
        problems.append(f"{path.name}: must be a mapping of source id → {{title, year, publisher/authors, url}}")
        return {}
    out: dict[str, Source] = {}
    for sid, entry in raw.items():
        where = f"{path.name}: source '{sid}'"
        if not isinstance(sid, str) or not _ID.match(sid):
            problems.append(f"{where}: ids are snake_case")
            continue
        if sid in catalog.sources:
            problems.append(f"{where}: already in the catalogue's bibliography; cite that entry instead")
        if not isinstance(entry, dict):
            problems.append(f"{where}: must be a mapping")
            continue
        if set(entry) - _SOURCE_KEYS:
            problems.append(f"{where}: unknown keys {sorted(set(entry) - _SOURCE_KEYS)}")
        title, year, url = entry.get("title"), entry.get("year"), entry.get("url")
        if not isinstance(title, str) or not title.strip():
            problems.append(f"{where}: title is required")
            continue
        if year is not None and (not isinstance(year, int) or not 1900 <= year <= 2100):
            problems.append(f"{where}: year must be a four-digit year")
        if not entry.get("publisher") and not entry.get("authors"):
            problems.append(f"{where}: publisher or authors is required")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            problems.append(f"{where}: url must start with http:// or https://")
        out[sid] = Source(
            id=sid,
            title=title.strip(),
            year=year if isinstance(year, int) else None,
            publisher=entry.get("publisher"),
            authors=entry.get("authors"),
            url=url if isinstance(url, str) else None,
            note=entry.get("note"),
        )
    return out


class _Checker:
    def __init__(self, catalog: Catalog, source_ids: set[str], problems: list[str]) -> None:
        self.catalog = catalog
        self.source_ids = source_ids
        self.problems = problems

    def add(self, where: str, message: str) -> None:
        self.problems.append(f"{where}: {message}")

    def sources(self, raw: object, where: str) -> tuple[str, ...]:
        if raw is None:
            return ()
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(s, str) for s in raw):
            self.add(where, "sources must be a list of source ids")
            return ()
        for sid in raw:
            if sid not in self.source_ids:
                self.add(where, f"source '{sid}' is in neither the sector nor the catalogue bibliography")
        return tuple(raw)

    def spec(self, driver: Driver, raw: object, kinds: tuple[QuantityKind, ...], where: str) -> QuantitySpec | None:
        here = f"{where}.{driver}"
        assumption: str | None = None
        if isinstance(raw, list) and len(raw) == 4:
            typical, low, high, unit = raw
        elif isinstance(raw, dict):
            if set(raw) - _SPEC_KEYS:
                self.add(here, f"unknown keys {sorted(set(raw) - _SPEC_KEYS)}")
            typical, low, high, unit = (raw.get(k) for k in ("typical", "low", "high", "unit"))
            assumption = raw.get("assumption")
        else:
            self.add(here, "must be [typical, low, high, unit] or {typical, low, high, unit}")
            return None
        if not all(_is_number(v) for v in (typical, low, high)):
            self.add(here, "typical, low and high must be numbers")
            return None
        typical, low, high = float(cast(float, typical)), float(cast(float, low)), float(cast(float, high))
        if not 0 <= low <= typical <= high:
            self.add(here, f"needs 0 <= low <= typical <= high, got {low}, {typical}, {high}")
            return None
        if not isinstance(unit, str) or unit not in UNITS:
            self.add(here, f"unit {unit!r} is not one of {sorted(UNITS)}")
            return None
        kind, factor = UNITS[unit]
        if kind not in kinds:
            self.add(here, f"unit {unit} measures {kind}, but the class is counted as {'/'.join(kinds) or 'nothing'}")
            return None
        return QuantitySpec(
            driver=driver,
            typical=typical * factor,
            low=low * factor,
            high=high * factor,
            kind=kind,
            unit=unit,
            assumption=assumption if isinstance(assumption, str) else None,
        )

    def flow(self, raw: object, direction: Direction, code: str, where: str) -> ProfileFlow | None:
        if not isinstance(raw, dict):
            self.add(where, "a flow must be a mapping with at least `class`")
            return None
        if set(raw) - _FLOW_KEYS:
            self.add(where, f"unknown keys {sorted(set(raw) - _FLOW_KEYS)}; allowed: {sorted(_FLOW_KEYS)}")
        class_id = raw.get("class")
        if not isinstance(class_id, str) or class_id not in self.catalog:
            self.add(where, f"class {class_id!r} is not in the catalogue")
            return None
        rc = self.catalog.get(class_id)
        if direction == "supply" and rc.side == "demand":
            self.add(where, f"class '{class_id}' is a need (side: demand) and cannot be supplied")
        likelihood = raw.get("likelihood", 0.6)
        if not _is_number(likelihood) or not 0 < likelihood <= 1:
            self.add(where, "likelihood must be a number in (0, 1]")
            likelihood = 0.6
        kinds: tuple[QuantityKind, ...]
        if rc.category == "gas":
            kinds = _GAS_KINDS
        elif rc.quantity_kind in ("mass", "energy", "volume"):
            kinds = (rc.quantity_kind,)
        else:
            kinds = ()
        flow_assumption = raw.get("assumption")
        quantities: dict[Driver, QuantitySpec] = {}
        for driver in DRIVERS:
            if driver in raw:
                spec = self.spec(driver, raw[driver], kinds, where)
                if spec is not None:
                    if spec.assumption is None and isinstance(flow_assumption, str):
                        spec = replace(spec, assumption=flow_assumption)
                    quantities[driver] = spec
        for key in ("note", "schedule"):
            if raw.get(key) is not None and not isinstance(raw.get(key), str):
                self.add(where, f"{key} must be text")
        co2_range = self.co2_range(raw.get("when_co2_t"), where)
        return ProfileFlow(
            direction=direction,
            class_id=class_id,
            likelihood=float(likelihood),
            quantities=quantities,
            sources=self.sources(raw.get("sources"), where),
            note=raw.get("note"),
            schedule=raw.get("schedule"),
            declared_in=code,
            co2_t_range=co2_range,
        )

    def co2_range(self, raw: object, where: str) -> tuple[float | None, float | None] | None:
        """`when_co2_t: [low, high]` in t CO2/yr, either end null (open)."""
        if raw is None:
            return None
        ends = raw if isinstance(raw, list) else None
        if (
            ends is None
            or len(ends) != 2
            or not all(e is None or (_is_number(e) and e >= 0) for e in ends)
            or all(e is None for e in ends)
            or (ends[0] is not None and ends[1] is not None and ends[0] >= ends[1])
        ):
            self.add(where, "when_co2_t must be [low, high] in t CO2/yr (one end may be null), low < high")
            return None
        return (None if ends[0] is None else float(ends[0]), None if ends[1] is None else float(ends[1]))


@dataclass
class _Raw:
    code: str
    name: str
    file: str
    entry: dict[str, Any]
    own: tuple[ProfileFlow, ...]
    typical_site: TypicalSite | None
    sources: tuple[str, ...]


def _parent(code: str, known: Mapping[str, _Raw]) -> str | None:
    """The nearest profiled group or division above a code. Section profiles are fallbacks for codes no division
    profile covers, not parents: a cement works does not inherit the generic guesses for "manufacturing"."""
    from .nace import lineage

    for ancestor in lineage(code)[1:]:
        if ancestor in known and len(ancestor) > 1:
            return ancestor
    return None


def load_profiles(data_dir: Path | str = DATA_DIR, catalog: Catalog | None = None) -> LoadedProfiles:
    """Load, validate and resolve inheritance. Raises SectorDataError listing every problem found."""
    data_dir = Path(data_dir)
    catalog = catalog or get_catalog()
    problems: list[str] = []
    sources = load_sources(data_dir / SOURCES_FILE, problems, catalog)
    check = _Checker(catalog, set(sources) | set(catalog.sources), problems)
    names = {**rev2_codes(), **sections()}
    raws: dict[str, _Raw] = {}
    files = sorted(data_dir.glob(PROFILE_GLOB))
    if not files:
        problems.append(f"no {PROFILE_GLOB} files in {data_dir}")
    for path in files:
        content = _yaml(path) or {}
        if not isinstance(content, dict):
            problems.append(f"{path.name}: must be a mapping of NACE Rev. 2 code → profile")
            continue
        for key, entry in content.items():
            code = str(key)
            where = f"{path.name}: {code}"
            if code not in names:
                problems.append(f"{where}: not a NACE Rev. 2 section, division, group or class known to this package")
                continue
            if code in raws:
                problems.append(f"{where}: already profiled in {raws[code].file}")
                continue
            if not isinstance(entry, dict):
                problems.append(f"{where}: a profile must be a mapping")
                continue
            if set(entry) - _PROFILE_KEYS:
                problems.append(f"{where}: unknown keys {sorted(set(entry) - _PROFILE_KEYS)}")
            own: list[ProfileFlow] = []
            for direction, plural in (("supply", "supplies"), ("demand", "demands")):
                items = entry.get(plural) or []
                if not isinstance(items, list):
                    problems.append(f"{where}: {plural} must be a list")
                    continue
                seen: set[str] = set()
                for index, item in enumerate(items):
                    flow = check.flow(item, cast(Direction, direction), code, f"{where} {plural}[{index}]")
                    if flow is None:
                        continue
                    if flow.class_id in seen:
                        problems.append(f"{where} {plural}[{index}]: class '{flow.class_id}' is listed twice")
                        continue
                    seen.add(flow.class_id)
                    own.append(flow)
            typical_site = None
            site = entry.get("typical_site")
            if site is not None:
                if not isinstance(site, dict) or set(site) - _SITE_KEYS:
                    problems.append(f"{where}: typical_site must be a mapping of {sorted(_SITE_KEYS)}")
                else:
                    for key2 in ("employees", "production_t"):
                        value = site.get(key2)
                        if value is not None and (not _is_number(value) or value <= 0):
                            problems.append(f"{where}: typical_site.{key2} must be a positive number")
                    typical_site = TypicalSite(
                        employees=float(site["employees"]) if _is_number(site.get("employees")) else None,
                        production_t=float(site["production_t"]) if _is_number(site.get("production_t")) else None,
                        note=site.get("note"),
                        sources=check.sources(site.get("sources"), f"{where} typical_site"),
                    )
            exclude = entry.get("exclude") or []
            if not isinstance(exclude, list) or not all(isinstance(c, str) and c in catalog for c in exclude):
                problems.append(f"{where}: exclude must be a list of catalogue class ids not to inherit")
            if entry.get("production") is not None and not isinstance(entry.get("production"), str):
                problems.append(f"{where}: production must be text such as 't cement'")
            profile_sources = check.sources(entry.get("sources"), where)
            # A flow without sources of its own is backed by its profile's.
            own = [f if f.sources else replace(f, sources=profile_sources) for f in own]
            raws[code] = _Raw(
                code=code,
                name=str(entry.get("name") or names[code]),
                file=path.name,
                entry=entry,
                own=tuple(own),
                typical_site=typical_site,
                sources=profile_sources,
            )
    if problems:
        raise SectorDataError(problems)
    resolved: dict[str, SectorProfile] = {}

    def resolve(code: str) -> SectorProfile:
        if code in resolved:
            return resolved[code]
        raw = raws[code]
        flows = list(raw.own)
        production = raw.entry.get("production")
        typical_site = raw.typical_site
        parent_code = _parent(code, raws) if raw.entry.get("inherit", True) else None
        if parent_code is not None:
            parent = resolve(parent_code)
            production = production or parent.production  # a class makes what its group makes unless it says
            mine = {f.key for f in flows}
            excluded = set(raw.entry.get("exclude") or ())
            for inherited in parent.flows():
                if inherited.key in mine or inherited.class_id in excluded:
                    continue
                if "per_t_production" in inherited.quantities and parent.production != production:
                    # A coefficient per tonne of the parent's product does not apply to another product.
                    quantities: dict[Driver, QuantitySpec] = {
                        d: s for d, s in inherited.quantities.items() if d != "per_t_production"
                    }
                    inherited = replace(inherited, quantities=quantities)
                flows.append(inherited)
            if typical_site is None and production == parent.production:
                typical_site = parent.typical_site
            elif typical_site is None and parent.typical_site is not None:
                typical_site = replace(parent.typical_site, production_t=None)
        profile = SectorProfile(
            code=code,
            name=raw.name,
            level=cast(Any, level_of(code)),
            supplies=tuple(f for f in flows if f.direction == "supply"),
            demands=tuple(f for f in flows if f.direction == "demand"),
            production=production,
            typical_site=typical_site,
            sources=raw.sources,
            note=raw.entry.get("note"),
            file=raw.file,
        )
        resolved[code] = profile
        return profile

    for code in raws:
        profile = resolve(code)
        if profile.production is None and any("per_t_production" in f.quantities for f in profile.own()):
            problems.append(
                f"{raws[code].file}: {code}: flows use per_t_production, so the profile (or a parent) must say what "
                "`production` is"
            )
    if problems:
        raise SectorDataError(problems)
    return LoadedProfiles(profiles=dict(sorted(resolved.items())), sources=sources)
