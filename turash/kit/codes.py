"""Format normalisation of the codes files carry: NACE activity codes, ISO country codes, EWC waste codes.

These check the *form* of a code; whether it exists in the official list is checked by `turash.reference`.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pycountry

_NACE = re.compile(r"^\s*([A-Ua-u])?\s*(\d{2})(?:[.\s]?(\d))?(?:[.\s]?(\d))?(?:[.\s]?\d{1,2})?\s*$")
_EWC = re.compile(r"^\d{6}$")
# Codes used by EU statistics that differ from ISO 3166-1 (Eurostat country codes).
_COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}


def normalise_nace(text: str) -> str:
    """`19.20`, `C19.2.0`, `C 19.20`, `1920`, `19.2`, `19` → `19.20`, `19.20`, `19.20`, `19.20`, `19.2`, `19`.

    A NACE class is division (2 digits) . group (1 digit) class (1 digit); the optional leading letter is the section,
    and digits after the class (national sub-classes) are dropped.
    """
    match = _NACE.match(text)
    if not match:
        raise ValueError(f"NACE code {text!r} is not of the form 19.20 or C19.2.0")
    _section, division, group, klass = match.groups()
    if group is None:
        return division
    if klass is None:
        return f"{division}.{group}"
    return f"{division}.{group}{klass}"


def nace_section_letter(text: str) -> str | None:
    match = _NACE.match(text)
    return match.group(1).upper() if match and match.group(1) else None


@lru_cache(maxsize=1024)
def normalise_country(text: str) -> str:
    """ISO 3166-1 alpha-2 from a code (`dk`, `DNK`, `UK`, `EL`) or an English name (`Denmark`)."""
    value = text.strip()
    if not value:
        raise ValueError("country is empty")
    upper = value.upper()
    if upper in _COUNTRY_ALIASES:
        return _COUNTRY_ALIASES[upper]
    try:
        country = pycountry.countries.lookup(value)
    except LookupError:
        raise ValueError(f"unknown country {text!r}; use an ISO 3166-1 alpha-2 code such as DK") from None
    return str(country.alpha_2)


def normalise_ewc(text: str) -> tuple[str, bool]:
    """`10 01 02`, `100102`, `16 01 04*` → (`100102`, starred).

    The star marks a hazardous entry in the List of Waste."""
    starred = "*" in text
    code = re.sub(r"[\s.*\-]", "", text)
    if not _EWC.match(code):
        raise ValueError(f"EWC code {text!r} is not six digits such as 10 01 02")
    return code, starred


def format_ewc(code: str) -> str:
    return f"{code[0:2]} {code[2:4]} {code[4:6]}"
