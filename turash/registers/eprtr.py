"""Parsers of the E-PRTR extracts of the CarbonNext project: CO2 emitters (2014) and CO emitters (2001-2014).

Both files are `;`-separated UTF-8 with CRLF line ends: FacilityReportID, ReportingYear, PollutantName, MTonnes
(million tonnes per year), FacilityName, City, CountryName, latitude, longitude, NACEMainEconomicActivityName. The
CO file adds TotalQuantity and UnitName (kilogram) and ends every line with a `;`, so its header has an empty last
column (filled, in nine rows, with an unlabelled number that is kept as `extra`).

Quirks handled here: the activity is a NACE *title*, not a code (Rev. 2 titles from 2007 on, NACE Rev. 1.1 titles
such as "Production and distribution of electricity" or "... (ECSC)*" before); confidential facilities are named
"CONFIDENTIAL" and placed at 0,0; some names lost their non-Latin-1 letters to `?` upstream ("Budapesti Er?m?").
Source: European Environment Agency, E-PRTR (Regulation (EC) No 166/2006), extract by CarbonNext.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Literal

from rapidfuzz import fuzz, process

from turash.kit.codes import normalise_country
from turash.sectors.model import RegisterFigures
from turash.sectors.nace import rev2_codes

Dataset = Literal["eprtr_co2", "eprtr_co"]
FUZZY_CUTOFF = 90.0
# Country names of the extract that are not ISO short names.
COUNTRY_SPELLINGS = {"Czech Republic": "CZ", "United Kingdom": "GB", "The Netherlands": "NL"}

# Activity titles that are not NACE Rev. 2 titles (NACE Rev. 1.1 titles of the 2001-2007 reports, and abridged
# variants) → NACE Rev. 2 code. Checked one by one against both revisions; tests/registers/test_eprtr.py asserts
# that every title in the two files maps.
ACTIVITY_NACE: dict[str, str] = {
    "Production and distribution of electricity": "35.11",  # Rev. 1.1 40.10: nearly all reporters generate
    "Distribution and trade of electricity": "35.13",
    "Steam and hot water supply": "35.30",
    "Electricity, gas, steam and hot water supply": "35",
    "Collection and treatment of other waste": "38.21",  # Rev. 1.1 90.02
    "Sewage and refuse disposal, sanitation and similar activities": "38.21",  # Rev. 1.1 90.00; CO: incinerators
    "Recycling of metal waste and scrap": "38.32",
    "Recycling of non-metal waste and scrap": "38.32",
    "Manufacture of basic chemicals": "20.1",
    "Manufacture of lime": "23.52",
    "Manufacture of refractory ceramic products": "23.20",
    "Manufacture of cast iron tubes": "24.51",
    "Manufacture of steel tubes": "24.20",
    "Other first processing of iron & steel & prod. of non-ECSC* ferro": "24.3",
    "Other first processing of iron & steel; prod. of non-ECSC* ferro": "24.3",
    "Wire drawing": "24.34",
    "Manufacture of electrical equipment n.e.c": "27.90",
    "Manufacture of parts & accessories for motor vehicles & their engines": "29.32",
    "Manufacture of refined oils and fats": "10.41",
    "Manufacture of rubber tyres and tubes": "22.11",
    "Manufacture of veneer sheets and of plywood and other panels & boards": "16.21",
    "Mining and agglomeration of hard coal": "05.10",
    "Operation of gravel and sand pits": "08.12",
    "Quarrying of limestone, gypsum and chalk": "08.11",
    "Preparation and spinning of worsted-type fibres": "13.10",
    "Production of mineral waters and soft drinks": "11.07",
    "Service activities incidental to oil and gas extraction excluding surveying": "09.10",
    "Wholesale of grain, seeds and animal feeds": "46.21",
}

_NEC = re.compile(r"n\.e\.c\.?")
_NON_WORD = re.compile(r"[^a-z0-9]+")


def _normalise_title(text: str) -> str:
    text = text.lower().replace("&", " and ").replace("(ecsc)*", " ").replace("*", " ")
    text = _NEC.sub("nec", text)
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass(frozen=True, slots=True)
class ActivityMatch:
    """How an activity title was read: `table` (ACTIVITY_NACE), `exact` (a Rev. 2 title), `fuzzy` (rapidfuzz
    token-sort ratio ≥ FUZZY_CUTOFF against the Rev. 2 titles) or `none`."""

    code: str | None
    method: Literal["table", "exact", "fuzzy", "none"]
    score: float = 100.0


@lru_cache(maxsize=1)
def _title_index() -> dict[str, str]:
    index: dict[str, str] = {}
    # Classes and groups first so that a title shared by a group and its only class maps to the class.
    for code, name in sorted(rev2_codes().items(), key=lambda item: -len(item[0])):
        index.setdefault(_normalise_title(name), code)
    return index


@lru_cache(maxsize=4096)
def activity_to_nace(title: str | None) -> ActivityMatch:
    """NACE Rev. 2 code of an E-PRTR activity title."""
    if not title or not title.strip():
        return ActivityMatch(None, "none", 0.0)
    title = title.strip()
    if title in ACTIVITY_NACE:
        return ActivityMatch(ACTIVITY_NACE[title], "table")
    key = _normalise_title(title)
    table = {_normalise_title(k): v for k, v in ACTIVITY_NACE.items()}
    if key in table:
        return ActivityMatch(table[key], "table")
    index = _title_index()
    if key in index:
        return ActivityMatch(index[key], "exact")
    best = process.extractOne(key, list(index), scorer=fuzz.token_sort_ratio, score_cutoff=FUZZY_CUTOFF)
    if best is not None:
        return ActivityMatch(index[best[0]], "fuzzy", float(best[1]))
    return ActivityMatch(None, "none", 0.0)


@dataclass
class EprtrFacility:
    dataset: Dataset
    report_id: str
    year: int | None
    pollutant: str
    tonnes: float | None  # t/yr of the pollutant (MTonnes × 10^6)
    name: str
    city: str | None
    country: str | None  # ISO 3166-1 alpha-2
    country_name: str | None
    lat: float | None
    lon: float | None
    activity: str | None
    nace: str | None
    activity_match: ActivityMatch
    total_quantity_kg: float | None = None
    extra: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def source_ref(self) -> str:
        return f"{self.dataset}:{self.report_id}"

    @property
    def confidential(self) -> bool:
        return self.name.strip().upper() == "CONFIDENTIAL"

    def figures(self) -> RegisterFigures | None:
        """Register figures for inference: the CO2 tonnes of a CO2 report (None for CO reports)."""
        if self.dataset != "eprtr_co2" or not self.tonnes:
            return None
        return RegisterFigures(
            source=f"E-PRTR {self.year or ''}".strip(), source_ids=("reg_166_2006",), co2_t=self.tonnes
        )


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def _number(value: str | None) -> float | None:
    text = (value or "").strip()
    if not text:
        return None
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def _country(name: str | None) -> str | None:
    if not name:
        return None
    if name in COUNTRY_SPELLINGS:
        return COUNTRY_SPELLINGS[name]
    try:
        return normalise_country(name)
    except ValueError:
        return None


def read_facilities(path: Path, dataset: Dataset) -> Iterator[EprtrFacility]:
    """Every row of an E-PRTR extract, in file order; nothing is dropped: problems are listed on the record."""
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            problems: list[str] = []
            lat, lon = _number(row.get("latitude")), _number(row.get("longitude"))
            if lat is not None and lon is not None and lat == 0 and lon == 0:
                problems.append("location 0,0 (withheld or unknown)")
                lat = lon = None
            elif lat is None or lon is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
                problems.append("no usable location")
                lat = lon = None
            mtonnes = _number(row.get("MTonnes"))
            if mtonnes is None:
                problems.append("MTonnes is not a number")
            name = _text(row.get("FacilityName")) or f"E-PRTR facility {row.get('FacilityReportID')}"
            if "?" in name:
                problems.append("name has letters lost upstream ('?')")
            country_name = _text(row.get("CountryName"))
            country = _country(country_name)
            if country_name and country is None:
                problems.append(f"unknown country {country_name!r}")
            activity = _text(row.get("NACEMainEconomicActivityName"))
            match = activity_to_nace(activity)
            if match.code is None:
                problems.append(f"activity {activity!r} not mapped to NACE")
            year_text = _text(row.get("ReportingYear"))
            kg = _number(row.get("TotalQuantity"))
            yield EprtrFacility(
                dataset=dataset,
                report_id=(row.get("FacilityReportID") or "").strip(),
                year=int(year_text) if year_text and year_text.isdigit() else None,
                pollutant=(row.get("PollutantName") or "").strip(),
                tonnes=mtonnes * 1e6 if mtonnes is not None else None,
                name=name,
                city=_text(row.get("City")),
                country=country,
                country_name=country_name,
                lat=lat,
                lon=lon,
                activity=activity,
                nace=match.code,
                activity_match=match,
                total_quantity_kg=kg,
                extra=_text(row.get("")),
                problems=problems,
            )


def read_co2_emitters(path: Path) -> list[EprtrFacility]:
    return list(read_facilities(path, "eprtr_co2"))


def read_co_emitters(path: Path) -> list[EprtrFacility]:
    return list(read_facilities(path, "eprtr_co"))


def latest_per_facility(records: list[EprtrFacility]) -> list[EprtrFacility]:
    """The CO file repeats a facility once per reporting year under a new FacilityReportID: keep the latest report
    of each (normalised name, country, rounded location), so that each facility is one site."""
    from turash.registers.resolution import normalise_name

    latest: dict[tuple[str, ...], EprtrFacility] = {}
    for record in records:
        if record.lat is None or record.lon is None or record.confidential:
            key: tuple[str, ...] = ("unplaced", record.report_id)  # nothing to tell it apart: keep every report
        else:
            key = (normalise_name(record.name), record.country or "", f"{record.lat:.3f}", f"{record.lon:.3f}")
        kept = latest.get(key)
        if kept is None or (record.year or 0) > (kept.year or 0):
            latest[key] = record
    return list(latest.values())
