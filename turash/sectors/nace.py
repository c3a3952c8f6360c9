"""NACE Rev. 2 codes (the revision of E-PRTR, Hotmaps and the import contract) and Rev. 2.1 → Rev. 2 conversion.

    rev21_to_rev2("38.21")        # "38.32": Rev. 2.1 materials recovery was Rev. 2 recovery of sorted materials
    to_rev2("C23.5.1")            # Rev2Code(code="23.51", ...)
    lineage("23.51")              # ("23.51", "23.5", "23", "C")

Rev. 2 titles come from `data/nace_rev2.yaml` (sections A-E at class level, every division, the service classes the
profiles use); Rev. 2.1 codes from `turash.reference.nace` (the `naceconverter` list, same as ../shared/data).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml

from turash.kit.codes import normalise_nace
from turash.reference.nace import nace_codes as rev21_codes

DATA_DIR = Path(__file__).parent / "data"
Revision = Literal["2", "2.1", "auto"]
_SECTION = re.compile(r"^\s*([A-Ua-u])\s*$")


class UnknownNaceCode(ValueError):
    """A code that is not of NACE form, or that no revision knows."""


@dataclass(frozen=True, slots=True)
class Rev2Code:
    """A code expressed in NACE Rev. 2. `exact` is False when a Rev. 2.1 code had to be widened to a group or
    division (its activity has no single Rev. 2 class) or when the code is not in the Rev. 2 list this package holds."""

    code: str
    given: str
    revision: Literal["2", "2.1"]
    exact: bool = True
    note: str | None = None


@dataclass(frozen=True, slots=True)
class _Tables:
    names: Mapping[str, str]
    sections: Mapping[str, tuple[str, str, str]]  # letter → (name, first division, last division)
    rev21: Mapping[str, tuple[str, str | None]]  # Rev. 2.1 code → (Rev. 2 code, note)


def _load_yaml(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    raw = _load_yaml(DATA_DIR / "nace_rev2.yaml")
    names = {str(code): str(name) for code, name in raw["codes"].items()}
    sections = {
        letter: (str(entry["name"]), str(entry["divisions"][0]), str(entry["divisions"][1]))
        for letter, entry in raw["sections"].items()
    }
    corr = _load_yaml(DATA_DIR / "nace_rev21_to_rev2.yaml")
    rev21 = {str(code): (str(entry["rev2"]), entry.get("note")) for code, entry in corr.items()}
    return _Tables(names=names, sections=sections, rev21=rev21)


def rev2_codes() -> Mapping[str, str]:
    """Rev. 2 code → title, for the codes this package holds (divisions, groups, classes; no section letters)."""
    return _tables().names


def rev2_name(code: str) -> str | None:
    if _SECTION.match(code):
        section = _tables().sections.get(code.strip().upper())
        return section[0] if section else None
    return _tables().names.get(code)


def section_of(code: str) -> str | None:
    """Rev. 2 section letter of a division, group or class (`19.20` → `C`, `63.11` → `J`)."""
    division = code[:2]
    for letter, (_name, first, last) in _tables().sections.items():
        if first <= division <= last:
            return letter
    return None


def sections() -> Mapping[str, str]:
    return {letter: entry[0] for letter, entry in _tables().sections.items()}


def parse_code(text: str) -> str:
    """A NACE code in canonical form (`C19.2.0` → `19.20`, `1051` → `10.51`, `c` → `C`); raises UnknownNaceCode."""
    match = _SECTION.match(text)
    if match:
        return match.group(1).upper()
    try:
        return normalise_nace(text)
    except ValueError as exc:
        raise UnknownNaceCode(str(exc)) from None


def lineage(code: str) -> tuple[str, ...]:
    """The code and its ancestors, most specific first: `23.51` → (`23.51`, `23.5`, `23`, `C`)."""
    code = parse_code(code)
    if len(code) == 1:
        return (code,)
    chain = [code]
    if len(code) == 5:
        chain.append(code[:4])
    if len(code) >= 4:
        chain.append(code[:2])
    section = section_of(code)
    if section:
        chain.append(section)
    return tuple(chain)


def _widen(code: str, known: Mapping[str, Any]) -> str | None:
    for candidate in (code, code[:4], code[:2]):
        if len(candidate) in (2, 4, 5) and candidate in known:
            return candidate
    return None


def rev21_to_rev2(code: str) -> str:
    """The Rev. 2 code of a Rev. 2.1 code (`38.21` → `38.32`, `16.11` → `16.10`, `10.51` → `10.51`)."""
    return to_rev2(code, "2.1").code


def to_rev2(text: str, revision: Revision = "2") -> Rev2Code:
    """Express a code in Rev. 2. `revision="auto"` takes a code Rev. 2 knows as Rev. 2 (the contract's revision)
    and converts a code only Rev. 2.1 knows (`35.16`, `38.23`, `16.11`...)."""
    code = parse_code(text)
    tables = _tables()
    if len(code) == 1:
        if code not in tables.sections:
            raise UnknownNaceCode(f"{text!r} is not a NACE Rev. 2 section")
        return Rev2Code(code, text, "2")
    if revision == "auto":
        revision = "2.1" if code not in tables.names and code in rev21_codes() else "2"
    if revision == "2":
        known = _widen(code, tables.names)
        if known is None:
            raise UnknownNaceCode(f"{text!r}: no NACE Rev. 2 division {code[:2]}")
        return Rev2Code(known, text, "2", exact=known == code)
    # Rev. 2.1
    for candidate in (code, code[:4], code[:2]):
        if len(candidate) not in (2, 4, 5):
            continue
        if candidate in tables.rev21:
            target, note = tables.rev21[candidate]
            return Rev2Code(target, text, "2.1", exact=candidate == code and len(target) == len(code), note=note)
        if candidate in tables.names and (candidate in rev21_codes() or candidate != code):
            return Rev2Code(candidate, text, "2.1", exact=candidate == code)
    raise UnknownNaceCode(f"{text!r}: no NACE Rev. 2.1 division {code[:2]}")
