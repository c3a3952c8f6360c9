"""The rules for each column of a resource flow, shared by `turash import flows` and the REST API.

Each parser takes the raw cell (a string from a file, or a JSON value) and returns the normalised value or raises
`ValueError` with a message that says what is wrong. Cross-column rules live in `check_flow`. One set of rules,
two entry points: the import loop calls the parsers directly (fast), the pydantic schemas wrap them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import date
from typing import Any

from turash.kit.codes import normalise_country, normalise_ewc, normalise_nace
from turash.kit.units import UnitError, unit_info
from turash.models.flow import CATEGORIES, PRECISIONS
from turash.reference import ewc

_DIRECTIONS = {
    "supply": "supply",
    "demand": "demand",
    # Words people put in that column; anything else is an error, never a guess.
    "offer": "supply",
    "have": "supply",
    "has": "supply",
    "source": "supply",
    "output": "supply",
    "need": "demand",
    "needs": "demand",
    "sink": "demand",
    "input": "demand",
    "request": "demand",
}
_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}
_SPACES = re.compile(r"[\s_\u00a0\u202f']")
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def text(max_len: int) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        result = str(value).strip()
        if len(result) > max_len:
            raise ValueError(f"longer than {max_len} characters")
        if "\x00" in result:
            raise ValueError("contains a NUL character")
        return result

    return parse


def number(value: Any) -> float:
    """A finite number. Accepts `15000`, `15 000`, `1.5e3`, `1,5` (decimal comma), `15,000.5` and `15.000,5`;
    refuses `15,000` (thousands or decimal?) rather than guess."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, int | float):
        result = float(value)
    elif not isinstance(value, str):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    else:
        try:
            result = float(value)  # the common case, at C speed
        except ValueError:
            result = _lenient_number(str(value))
        else:
            if "_" in value:  # float() reads "1_000"; we want the same rules as the slow path
                result = _lenient_number(str(value))
    if not math.isfinite(result):
        raise ValueError(f"{value!r} is not a finite number")
    return result


def _lenient_number(text: str) -> float:
    raw = _SPACES.sub("", text)
    if "," in raw and "." in raw:
        raw = raw.replace(",", "") if raw.rfind(".") > raw.rfind(",") else raw.replace(".", "").replace(",", ".")
    elif "," in raw:
        whole, _, frac = raw.rpartition(",")
        if raw.count(",") > 1 or len(frac) == 3:
            raise ValueError(f"ambiguous number {text!r}: write 15000 or 15.5, without a thousands separator")
        raw = f"{whole}.{frac}"
    if not _PLAIN_NUMBER.match(raw):
        raise ValueError(f"{text!r} is not a number")
    return float(raw)


def bounded(low: float | None, high: float | None, what: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        result = number(value)
        if (low is not None and result < low) or (high is not None and result > high):
            span = (
                f"between {low} and {high}"
                if low is not None and high is not None
                else (f"at least {low}" if low is not None else f"at most {high}")
            )
            raise ValueError(f"{what} {result:g} is out of range: must be {span}")
        return result

    return parse


def direction(value: Any) -> str:
    key = str(value).strip().lower()
    if key not in _DIRECTIONS:
        raise ValueError(f"direction {value!r} must be 'supply' (has it) or 'demand' (needs it)")
    return _DIRECTIONS[key]


def category(value: Any) -> str:
    key = str(value).strip().lower()
    if key not in CATEGORIES:
        raise ValueError(f"category {value!r} must be one of {', '.join(CATEGORIES)}")
    return key


def precision(value: Any) -> str:
    key = str(value).strip().lower()
    if key not in PRECISIONS:
        raise ValueError(f"precision {value!r} must be one of {', '.join(PRECISIONS)}")
    return key


def boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    key = str(value).strip().lower()
    if key in _TRUE:
        return True
    if key in _FALSE:
        return False
    raise ValueError(f"{value!r} is not true or false")


def iso_date(value: Any) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO date such as 2026-01-31") from None


def unit(value: Any) -> str:
    result = str(value).strip()
    try:
        unit_info(result)
    except UnitError as exc:
        raise ValueError(str(exc)) from None
    return result


def ewc_code(value: Any) -> str:
    code, _starred = normalise_ewc(str(value))
    if ewc.lookup(code) is None:
        raise ValueError(f"EWC code {value!r} is not in the European List of Waste")
    return code


def nace(value: Any) -> str:
    return normalise_nace(str(value))


def country(value: Any) -> str:
    return normalise_country(str(value))


latitude = bounded(-90, 90, "latitude")
longitude = bounded(-180, 180, "longitude")


# Column → parser. The order is the contract's column order (contract/cli.md).
SITE_COLUMNS: dict[str, Callable[[Any], Any]] = {
    "organization": text(300),
    "site": text(300),
    "lat": latitude,
    "lon": longitude,
    "country": country,
    "nace": nace,
}
FLOW_COLUMNS: dict[str, Callable[[Any], Any]] = {
    "direction": direction,
    "resource": text(500),
    "category": category,
    "ewc_code": ewc_code,
    "quantity": bounded(0, None, "quantity"),
    "unit": unit,
    "temperature_c": bounded(-273.15, 3000, "temperature"),
    "pressure_bar": bounded(0, 1000, "pressure"),
    "purity_pct": bounded(0, 100, "purity"),
    "hazardous": boolean,
    "available_from": iso_date,
    "available_to": iso_date,
    "schedule": text(200),
    "price_eur_per_unit": number,
    "precision": precision,
    "description": text(5000),
}
REQUIRED_SITE = ("organization", "lat", "lon")
REQUIRED_FLOW = ("direction", "resource")


class FieldErrors(Exception):
    """Per-column problems of one record: [(column, message), ...]."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{c}: {m}" for c, m in errors))
        self.errors = errors


def check_flow(values: dict[str, Any]) -> list[tuple[str, str]]:
    """Cross-column rules on parsed flow values; fills derived values in place. Returns the problems found."""
    problems: list[tuple[str, str]] = []
    if values.get("quantity") is not None and not values.get("unit"):
        problems.append(("unit", "a quantity needs a unit (t/yr, MW, GWh/yr, m3/h...)"))
    start, end = values.get("available_from"), values.get("available_to")
    if start is not None and end is not None and start > end:
        problems.append(("available_to", f"availability ends ({end}) before it starts ({start})"))
    code = values.get("ewc_code")
    if code is not None:
        entry = ewc.lookup(code)
        declared = values.get("hazardous")
        if entry is not None:
            if declared is None:
                values["hazardous"] = entry.hazardous
            elif declared is False and entry.hazardous:
                problems.append(
                    (
                        "hazardous",
                        f"EWC {entry.spaced} is a hazardous entry ({entry.entry_type}); "
                        "declared non-hazardous contradicts it"
                        + (" - use the non-hazardous mirror entry's code" if entry.mirror else ""),
                    )
                )
    if values.get("precision") is None:
        values["precision"] = "estimated"
    return problems


def check_site(values: dict[str, Any]) -> list[tuple[str, str]]:
    lat, lon = values.get("lat"), values.get("lon")
    if lat == 0 and lon == 0:
        return [("lat", "0, 0 (in the Gulf of Guinea) is not a plausible site location; coordinates are missing")]
    return []
