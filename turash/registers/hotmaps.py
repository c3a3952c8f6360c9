"""Parser of the Hotmaps Industrial Database (Fraunhofer ISI, CC BY 4.0): `;`-separated, one row per site.

Columns: SiteID, CompanyName, SiteName, Address, CityCode, City, Country, geom (`SRID=4326;POINT(lon lat)`),
Subsector, DataSource, Emissions_ETS_2014, Emissions_EPRTR_2014 (t CO2/yr), Production (t/yr), Fuel_Demand
(GWh/yr), Excess_Heat_100-200C, Excess_Heat_200-500C, Excess_Heat_500C, Excess_Heat_Total (GWh/yr).
Source: Manz, P., Fleiter, T. et al., Hotmaps Industrial Database, gitlab.com/hotmaps/industrial_sites.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from turash.kit.codes import normalise_country

# Hotmaps sub-sector → NACE Rev. 2 (the activity that dominates each sub-sector in EU ETS/E-PRTR reporting).
SUBSECTOR_NACE = {
    "cement": "23.51",
    "iron and steel": "24.10",
    "refineries": "19.20",
    "paper and printing": "17",
    "glass": "23.1",
    "chemical industry": "20",
    "non-ferrous metals": "24.4",
    "non-metallic mineral products": "23",
}
# Country names as the file spells them where they are not ISO/English short names.
COUNTRY_SPELLINGS = {"Netherland": "NL"}
# Excess-heat columns → (label, lowest temperature of the band in °C). The lowest temperature is what a receiver
# can count on, so it is the flow's temperature; the band is kept as an attribute.
HEAT_BANDS = (
    ("Excess_Heat_100-200C", "100-200 °C", 100.0),
    ("Excess_Heat_200-500C", "200-500 °C", 200.0),
    ("Excess_Heat_500C", "above 500 °C", 500.0),
)
_POINT = re.compile(r"POINT\s*\(\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\)")


@dataclass
class HotmapsSite:
    site_id: str
    company: str
    name: str
    address: str | None
    city: str | None
    country: str | None
    lat: float | None
    lon: float | None
    subsector: str | None
    nace: str | None
    figures: dict[str, float | None] = field(default_factory=dict)
    excess_heat: list[tuple[str, float, float]] = field(default_factory=list)  # (band, GWh/yr, min °C)


def _number(text: str | None) -> float | None:
    if text is None or not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _text(value: str | None) -> str | None:
    value = (value or "").strip()
    return value or None


def read_sites(path: Path) -> Iterator[HotmapsSite]:
    with path.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle, delimiter=";"):
            lat = lon = None
            match = _POINT.search(row.get("geom") or "")
            if match:
                lon, lat = float(match.group(1)), float(match.group(2))
            try:
                raw_country = _text(row.get("Country"))
                country = COUNTRY_SPELLINGS.get(raw_country or "") or (
                    normalise_country(raw_country) if raw_country else None
                )
            except ValueError:
                country = None
            subsector = _text(row.get("Subsector"))
            site = HotmapsSite(
                site_id=row["SiteID"].strip(),
                company=_text(row.get("CompanyName")) or _text(row.get("SiteName")) or f"Hotmaps site {row['SiteID']}",
                name=_text(row.get("SiteName")) or _text(row.get("CompanyName")) or f"site {row['SiteID']}",
                address=_text(row.get("Address")),
                city=_text(row.get("City")),
                country=country,
                lat=lat,
                lon=lon,
                subsector=subsector,
                nace=SUBSECTOR_NACE.get((subsector or "").lower()),
                figures={
                    "emissions_ets_2014_t_co2": _number(row.get("Emissions_ETS_2014")),
                    "emissions_eprtr_2014_t_co2": _number(row.get("Emissions_EPRTR_2014")),
                    "production_t": _number(row.get("Production")),
                    "fuel_demand_gwh": _number(row.get("Fuel_Demand")),
                    "excess_heat_total_gwh": _number(row.get("Excess_Heat_Total")),
                },
            )
            for column, band, low in HEAT_BANDS:
                value = _number(row.get(column))
                if value and value > 0:
                    site.excess_heat.append((band, value, low))
            yield site
