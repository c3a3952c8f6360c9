"""Load and validate the catalogue's YAML files.

Every problem is reported with the file and the class id it was found in, all at once, so that a broken edit
is fixed in one go: `CatalogDataError: heat.yaml: class 'waste_heat': uses[0].to 'district_heatin' is not a class`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeGuard, cast

import yaml

from turash.kit.errors import TurashError

from .model import (
    CATEGORIES,
    QUANTITY_KINDS,
    SIDES,
    Band,
    Category,
    Hazard,
    PropertyValue,
    QuantityKind,
    ResourceClass,
    Side,
    Source,
    Use,
    UseConditions,
)

DATA_DIR = Path(__file__).parent / "data"
SOURCES_FILE = "sources.yaml"

_ID = re.compile(r"^[a-z][a-z0-9_]*[a-z0-9]$")
_EWC = re.compile(r"^\d{2} \d{2} \d{2}\*?$")
_NACE = re.compile(r"^\d{2}(\.\d{1,2})?$")
_LANG = re.compile(r"^[a-z]{2}$")

_CLASS_KEYS = {
    "id",
    "name",
    "category",
    "parent",
    "side",
    "description",
    "synonyms",
    "ewc",
    "nace_suppliers",
    "nace_receivers",
    "hazardous",
    "quantity_kind",
    "properties",
    "sources",
    "uses",
    "band",
}
_USE_KEYS = {"to", "fit", "conditions", "sources"}
_CONDITION_KEYS = {
    "min_temperature_c",
    "max_temperature_c",
    "min_purity_pct",
    "min_pressure_bar",
    "needs_treatment",
    "note",
}
_SOURCE_KEYS = {"title", "year", "publisher", "authors", "url", "note"}
_DEFAULT_QUANTITY_KIND: dict[str, QuantityKind] = {
    "heat": "energy",
    "steam": "energy",
    "energy": "energy",
    "water": "volume",
    "gas": "volume",
    "material": "mass",
    "service": "service",
}


class CatalogDataError(TurashError):
    """A catalogue data file is malformed. A programming error of the data, hence 500."""

    status_code = 500
    code = "catalog_data_error"

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = tuple(problems)
        head = self.problems[0] if len(self.problems) == 1 else f"{len(self.problems)} problems in the catalogue data"
        body = "" if len(self.problems) == 1 else "\n  " + "\n  ".join(self.problems)
        super().__init__(head + body, details={"problems": list(self.problems)})


@dataclass(frozen=True)
class LoadedCatalog:
    classes: tuple[ResourceClass, ...]
    sources: Mapping[str, Source]
    data_dir: Path


class _Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        self.items.append(f"{where}: {message}")


def _yaml_load(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as handle:
        return yaml.load(handle, Loader=loader)  # noqa: S506 - a SafeLoader  # nosec B506


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _strings(value: object, where: str, what: str, problems: _Problems) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        problems.add(where, f"{what} must be a list of non-empty strings")
        return ()
    return tuple(v.strip() for v in value)


def _load_sources(path: Path, problems: _Problems) -> dict[str, Source]:
    where = path.name
    if not path.exists():
        problems.add(where, "the bibliography file is missing")
        return {}
    raw = _yaml_load(path)
    if not isinstance(raw, dict):
        problems.add(where, "must be a mapping of source id → {title, year, publisher/authors, url}")
        return {}
    out: dict[str, Source] = {}
    for sid, entry in raw.items():
        here = f"{where}: source '{sid}'"
        if not isinstance(sid, str) or not _ID.match(sid):
            problems.add(here, "ids are snake_case")
            continue
        if not isinstance(entry, dict):
            problems.add(here, "must be a mapping")
            continue
        unknown = set(entry) - _SOURCE_KEYS
        if unknown:
            problems.add(here, f"unknown keys {sorted(unknown)}")
        title, year = entry.get("title"), entry.get("year")
        if not isinstance(title, str) or not title.strip():
            problems.add(here, "title is required")
            continue
        if year is not None and (not isinstance(year, int) or not 1900 <= year <= 2100):
            problems.add(here, "year must be a four-digit year (leave it out for an undated web page)")
            continue
        if not entry.get("publisher") and not entry.get("authors"):
            problems.add(here, "publisher or authors is required")
        url = entry.get("url")
        if url is not None and (not isinstance(url, str) or not url.startswith(("http://", "https://"))):
            problems.add(here, "url must start with http:// or https://")
        out[sid] = Source(
            id=sid,
            title=title.strip(),
            year=year,
            publisher=entry.get("publisher"),
            authors=entry.get("authors"),
            url=url,
            note=entry.get("note"),
        )
    return out


def _conditions(raw: object, where: str, problems: _Problems) -> UseConditions:
    if raw is None or raw == {}:
        return UseConditions()
    if not isinstance(raw, dict):
        problems.add(where, "conditions must be a mapping")
        return UseConditions()
    unknown = set(raw) - _CONDITION_KEYS
    if unknown:
        problems.add(where, f"unknown condition keys {sorted(unknown)}; allowed: {sorted(_CONDITION_KEYS)}")
    numbers: dict[str, float | None] = {}
    for key in ("min_temperature_c", "max_temperature_c", "min_purity_pct", "min_pressure_bar"):
        value = raw.get(key)
        if value is not None and not _is_number(value):
            problems.add(where, f"conditions.{key} must be a number")
            value = None
        numbers[key] = None if value is None else float(value)
    purity = numbers["min_purity_pct"]
    if purity is not None and not 0 <= purity <= 100:
        problems.add(where, "conditions.min_purity_pct must be 0..100")
    low, high = numbers["min_temperature_c"], numbers["max_temperature_c"]
    if low is not None and high is not None and low >= high:
        problems.add(where, "conditions.min_temperature_c must be below max_temperature_c")
    treatment = raw.get("needs_treatment", False)
    if not isinstance(treatment, bool):
        problems.add(where, "conditions.needs_treatment must be true or false")
        treatment = False
    note = raw.get("note")
    if note is not None and not isinstance(note, str):
        problems.add(where, "conditions.note must be text")
        note = None
    return UseConditions(
        min_temperature_c=numbers["min_temperature_c"],
        max_temperature_c=numbers["max_temperature_c"],
        min_purity_pct=purity,
        min_pressure_bar=numbers["min_pressure_bar"],
        needs_treatment=treatment,
        note=note,
    )


def _bounds(raw: object, where: str, what: str, problems: _Problems) -> tuple[float | None, float | None] | None:
    if raw is None:
        return None
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(v is None or _is_number(v) for v in raw)
        or (raw[0] is None and raw[1] is None)
    ):
        problems.add(where, f"band.{what} must be [low, high] with numbers or null for an open end")
        return None
    low = None if raw[0] is None else float(raw[0])
    high = None if raw[1] is None else float(raw[1])
    if low is not None and high is not None and low >= high:
        problems.add(where, f"band.{what} low must be below high")
    return (low, high)


def _properties(raw: object, where: str, problems: _Problems) -> dict[str, PropertyValue]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        problems.add(where, "properties must be a mapping")
        return {}
    out: dict[str, PropertyValue] = {}
    for key, value in raw.items():
        if _is_number(value):
            out[str(key)] = float(value)
        elif isinstance(value, str):
            out[str(key)] = value
        elif isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value):
            out[str(key)] = (float(value[0]), float(value[1]))
        else:
            problems.add(where, f"properties.{key} must be a number, a [low, high] range or text")
    return out


def _parse_class(entry: object, index: int, file: str, problems: _Problems) -> ResourceClass | None:
    if not isinstance(entry, dict):
        problems.add(f"{file}: entry #{index + 1}", "each class must be a mapping")
        return None
    cid = entry.get("id")
    where = f"{file}: class '{cid}'" if isinstance(cid, str) else f"{file}: entry #{index + 1}"
    before = len(problems.items)
    if not isinstance(cid, str) or not _ID.match(cid):
        problems.add(where, "id must be snake_case ([a-z][a-z0-9_]*)")
        return None
    unknown = set(entry) - _CLASS_KEYS
    if unknown:
        problems.add(where, f"unknown keys {sorted(unknown)}")
    name = entry.get("name")
    if not isinstance(name, str) or not name.strip():
        problems.add(where, "name is required")
        name = cid
    category = entry.get("category")
    if category not in CATEGORIES:
        problems.add(where, f"category {category!r} is not one of {list(CATEGORIES)}")
        category = "material"
    default_side: Side = "supply" if category == "material" else "both"
    side = entry.get("side", default_side)
    if side not in SIDES:
        problems.add(where, f"side {side!r} is not one of {list(SIDES)}")
        side = default_side
    quantity_kind = entry.get("quantity_kind", _DEFAULT_QUANTITY_KIND[str(category)])
    if quantity_kind not in QUANTITY_KINDS:
        problems.add(where, f"quantity_kind {quantity_kind!r} is not one of {list(QUANTITY_KINDS)}")
        quantity_kind = _DEFAULT_QUANTITY_KIND[str(category)]
    hazardous = entry.get("hazardous", False)
    if hazardous not in (True, False, "mirror"):
        problems.add(where, "hazardous must be true, false or mirror")
        hazardous = False
    parent = entry.get("parent")
    if parent is not None and (not isinstance(parent, str) or not _ID.match(parent)):
        problems.add(where, "parent must be a class id")
        parent = None

    synonyms: dict[str, tuple[str, ...]] = {}
    raw_syn = entry.get("synonyms") or {}
    if not isinstance(raw_syn, dict):
        problems.add(where, "synonyms must be a mapping of language code → list of names")
    else:
        for lang, names in raw_syn.items():
            if not isinstance(lang, str) or not _LANG.match(lang):
                problems.add(where, f"synonym language {lang!r} must be an ISO 639-1 code such as en, de, da")
                continue
            synonyms[lang] = _strings(names, where, f"synonyms.{lang}", problems)

    ewc = _strings(entry.get("ewc"), where, "ewc", problems)
    for code in ewc:
        if not _EWC.match(code):
            problems.add(where, f"EWC code {code!r} must look like '10 01 02' (with '*' for a hazardous entry)")
    nace_s = _strings(entry.get("nace_suppliers"), where, "nace_suppliers", problems)
    nace_r = _strings(entry.get("nace_receivers"), where, "nace_receivers", problems)
    for code in (*nace_s, *nace_r):
        if not _NACE.match(code):
            problems.add(where, f"NACE code {code!r} must look like '35', '35.1' or '35.11'")
    sources = _strings(entry.get("sources"), where, "sources", problems)

    uses: list[Use] = []
    raw_uses = entry.get("uses") or []
    if not isinstance(raw_uses, list):
        problems.add(where, "uses must be a list")
        raw_uses = []
    for u_index, raw_use in enumerate(raw_uses):
        u_where = f"{where}: uses[{u_index}]"
        if not isinstance(raw_use, dict) or not isinstance(raw_use.get("to"), str):
            problems.add(u_where, "each use needs `to: <class id>`")
            continue
        unknown = set(raw_use) - _USE_KEYS
        if unknown:
            problems.add(u_where, f"unknown keys {sorted(unknown)}")
        raw_fit = raw_use.get("fit")
        fit = float(raw_fit) if _is_number(raw_fit) else -1.0
        if not 0 < fit <= 1:
            problems.add(u_where, "fit must be a number in (0, 1]")
            fit = 0.5
        use_sources = _strings(raw_use.get("sources"), u_where, "sources", problems)
        if not use_sources:
            problems.add(u_where, "every use must cite at least one source")
        uses.append(
            Use(
                to=raw_use["to"],
                fit=fit,
                conditions=_conditions(raw_use.get("conditions"), u_where, problems),
                sources=use_sources,
            )
        )

    band = None
    raw_band = entry.get("band")
    if raw_band is not None:
        if not isinstance(raw_band, dict) or not set(raw_band) <= {"temperature_c", "pressure_bar"} or not raw_band:
            problems.add(where, "band must be {temperature_c: [low, high]} and/or {pressure_bar: [low, high]}")
        else:
            band = Band(
                temperature_c=_bounds(raw_band.get("temperature_c"), where, "temperature_c", problems),
                pressure_bar=_bounds(raw_band.get("pressure_bar"), where, "pressure_bar", problems),
            )
    description = entry.get("description")
    if description is not None and not isinstance(description, str):
        problems.add(where, "description must be text")
        description = None
    if len(problems.items) > before:
        return None
    return ResourceClass(
        id=cid,
        name=name.strip(),
        category=cast(Category, category),
        side=cast(Side, side),
        quantity_kind=cast(QuantityKind, quantity_kind),
        hazardous=cast(Hazard, hazardous),
        parent=parent,
        description=description,
        synonyms=synonyms,
        ewc=ewc,
        nace_suppliers=nace_s,
        nace_receivers=nace_r,
        properties=_properties(entry.get("properties"), where, problems),
        sources=sources,
        uses=tuple(uses),
        band=band,
        file=file,
    )


def _check_graph(classes: Sequence[ResourceClass], sources: Mapping[str, Source], problems: _Problems) -> None:
    by_id: dict[str, ResourceClass] = {}
    for rc in classes:
        if rc.id in by_id:
            problems.add(f"{rc.file}: class '{rc.id}'", f"duplicate id (first defined in {by_id[rc.id].file})")
        else:
            by_id[rc.id] = rc
    for rc in classes:
        where = f"{rc.file}: class '{rc.id}'"
        if rc.parent is not None:
            if rc.parent not in by_id:
                problems.add(where, f"parent '{rc.parent}' is not a class")
            elif rc.parent == rc.id:
                problems.add(where, "a class cannot be its own parent")
        for sid in rc.sources:
            if sid not in sources:
                problems.add(where, f"source '{sid}' is not in {SOURCES_FILE}")
        for u_index, use in enumerate(rc.uses):
            if use.to not in by_id:
                problems.add(where, f"uses[{u_index}].to '{use.to}' is not a class")
            elif use.to == rc.id:
                problems.add(where, f"uses[{u_index}] points to the class itself")
            for sid in use.sources:
                if sid not in sources:
                    problems.add(where, f"uses[{u_index}] source '{sid}' is not in {SOURCES_FILE}")
        if not rc.all_names():
            problems.add(where, "needs a name")
    # Cycles in the parent chain.
    for rc in classes:
        seen = {rc.id}
        node = rc.parent
        while node is not None and node in by_id:
            if node in seen:
                problems.add(f"{rc.file}: class '{rc.id}'", f"parent chain has a cycle through '{node}'")
                break
            seen.add(node)
            node = by_id[node].parent


def load_catalog_data(data_dir: Path | str = DATA_DIR, files: Iterable[str] | None = None) -> LoadedCatalog:
    """Read every `*.yaml` in `data_dir` (except the bibliography) in name order, validate, and return the classes.

    Raises `CatalogDataError` listing every problem found.
    """
    directory = Path(data_dir)
    problems = _Problems()
    sources = _load_sources(directory / SOURCES_FILE, problems)
    names = sorted(files) if files is not None else sorted(p.name for p in directory.glob("*.yaml"))
    classes: list[ResourceClass] = []
    for name in names:
        if name == SOURCES_FILE:
            continue
        path = directory / name
        try:
            raw = _yaml_load(path)
        except yaml.YAMLError as exc:
            problems.add(name, f"is not valid YAML: {exc}")
            continue
        except OSError as exc:
            problems.add(name, f"cannot be read: {exc}")
            continue
        if raw is None:
            continue
        if not isinstance(raw, list):
            problems.add(name, "must be a YAML list of classes (- id: ...)")
            continue
        for index, entry in enumerate(raw):
            parsed = _parse_class(entry, index, name, problems)
            if parsed is not None:
                classes.append(parsed)
    _check_graph(classes, sources, problems)
    if problems.items:
        raise CatalogDataError(problems.items)
    return LoadedCatalog(classes=tuple(classes), sources=sources, data_dir=directory)
