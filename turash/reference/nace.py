"""NACE activity codes, from the `naceconverter` package's `nacecodes.csv` (NACE Rev. 2.1, MIT licence).

Rev. 2.1 and Rev. 2 (used by E-PRTR and Hotmaps) agree on divisions in sections A-I, where industrial symbiosis
mostly happens; they differ in sections J-V. A code unknown to Rev. 2.1 is therefore kept with a warning, not rejected.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class NaceCode:
    code: str
    name: str
    level: int  # 1 section, 2 division, 3 group, 4 class
    parent: str | None


@lru_cache(maxsize=1)
def nace_codes() -> dict[str, NaceCode]:
    text = resources.files("naceconverter").joinpath("nacecodes.csv").read_text(encoding="utf-8")
    codes: dict[str, NaceCode] = {}
    for row in csv.DictReader(io.StringIO(text), delimiter=";"):
        level = int(row["level"])
        if level > 4:
            continue
        codes[row["code"]] = NaceCode(code=row["code"], name=row["name"], level=level, parent=row["parentCode"] or None)
    return codes


def lookup(code: str) -> NaceCode | None:
    return nace_codes().get(code)


def section_of(code: str) -> str | None:
    """The section letter of a division/group/class code (`19.20` → `C`)."""
    entry = nace_codes().get(code[:2])
    return entry.parent if entry else None


def name_of(code: str) -> str | None:
    entry = lookup(code)
    return entry.name if entry else None
