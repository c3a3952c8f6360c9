"""The European List of Waste (EWC codes, Commission Decision 2000/532/EC): 842 entries, 408 hazardous.

Read from the local CSV conversion (../shared/data) or from the upstream JavaScript module (DEFRA) as downloaded.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from turash.reference.datasets import locate


@dataclass(frozen=True, slots=True)
class EwcEntry:
    code: str  # six digits
    description: str
    hazardous: bool
    entry_type: str  # "Absolute hazardous", "Mirror hazardous", "Absolute non-hazardous", "Mirror non-hazardous"
    chapter: str
    sub_chapter: str

    @property
    def spaced(self) -> str:
        return f"{self.code[0:2]} {self.code[2:4]} {self.code[4:6]}" + ("*" if self.hazardous else "")

    @property
    def mirror(self) -> bool:
        return self.entry_type.lower().startswith("mirror")


def _from_csv(path: Path) -> dict[str, EwcEntry]:
    with path.open(encoding="utf-8", newline="") as handle:
        return {
            row["code"]: EwcEntry(
                code=row["code"],
                description=row["description"],
                hazardous=row["is_hazardous"].strip().lower() == "true",
                entry_type=row["entry_type"],
                chapter=row["chapter"],
                sub_chapter=row["sub_chapter"],
            )
            for row in csv.DictReader(handle)
        }


_JS_OBJECT = re.compile(r"\{(.*?)\}", re.S)
_JS_FIELD = re.compile(r"(\w+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(true|false))", re.S)


def parse_js_module(text: str) -> dict[str, EwcEntry]:
    """Read the upstream `export const validEwcCodes = [{code: '010101', isHazardous: false, ...}, ...]` module.

    Only literal objects with quoted strings and booleans occur in it, so a field-level scanner is enough; a
    missing field fails loudly rather than yielding a partial list.
    """
    start = text.find("[")
    if start < 0:
        raise ValueError("no array literal in the EWC module")
    entries: dict[str, EwcEntry] = {}
    for obj in _JS_OBJECT.finditer(text, start):
        fields: dict[str, str] = {}
        for match in _JS_FIELD.finditer(obj.group(1)):
            key, single, double, boolean = match.groups()
            raw = single if single is not None else double if double is not None else boolean
            fields[key] = re.sub(r"\\(.)", r"\1", raw or "")
        if "code" not in fields:
            continue  # a function body or similar after the array
        try:
            entries[fields["code"]] = EwcEntry(
                code=fields["code"],
                description=fields["description"],
                hazardous=fields["isHazardous"] == "true",
                entry_type=fields["entryTypeDesc"],
                chapter=fields["chapter"],
                sub_chapter=fields["subChapter"],
            )
        except KeyError as exc:
            raise ValueError(f"EWC entry {fields.get('code')} lacks field {exc}") from None
    if not entries:
        raise ValueError("no EWC entries found in the module")
    return entries


def load(path: Path) -> dict[str, EwcEntry]:
    if path.suffix == ".js":
        return parse_js_module(path.read_text(encoding="utf-8"))
    return _from_csv(path)


@lru_cache(maxsize=1)
def ewc_list() -> dict[str, EwcEntry]:
    return load(locate("ewc"))


def lookup(code: str) -> EwcEntry | None:
    return ewc_list().get(code)
