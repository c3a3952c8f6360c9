"""European chemical parks (CarbonNext extract, 78 rows): parks become clusters of sites.

File: `;`-separated UTF-8 with CRLF line ends: latitude, longitude, FacilityName, Country. Quirks: trailing spaces
in names ("Schwechat "), "The Netherlands", a name that lost its Polish letters upstream ("?roda ?l?ska" for Środa
Śląska), a park listed twice under two names (Knapsack, Oberbruch, Marl), and one park whose coordinates lie in
Massachusetts ("Henkel AG & Co. KGaA", Germany): it is kept, flagged `location_suspect`, and takes no members.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from turash.kit.codes import normalise_country

from .resolution import DEFAULT_THRESHOLD, SiteCluster, SiteRecord, haversine_km, name_similarity, resolve

COUNTRY_SPELLINGS = {"The Netherlands": "NL", "United Kingdom": "GB"}
# Rough bounding box of the countries in the file (Iceland to Cyprus); a park outside it is misplaced.
EUROPE = (27.0, 72.0, -32.0, 45.0)  # lat min, lat max, lon min, lon max
DEFAULT_RADIUS_KM = 3.0
# The largest parks span several kilometres (BASF Ludwigshafen: 10 km2): a site named like the park joins it from
# up to this many radii away.
NAMED_REACH = 3.0
NAMED_SIMILARITY = 0.75


@dataclass
class ChemicalPark:
    park_id: str  # row number in the file, 1-based: the file has no identifier
    name: str
    country: str | None
    lat: float | None
    lon: float | None
    problems: list[str] = field(default_factory=list)
    members: list[SiteRecord] = field(default_factory=list)

    @property
    def source_ref(self) -> str:
        return f"chemical_parks:{self.park_id}"

    @property
    def location_suspect(self) -> bool:
        return any(p.startswith("location") for p in self.problems)

    def as_record(self) -> SiteRecord:
        return SiteRecord(
            source="chemical_parks",
            ref=self.park_id,
            name=self.name,
            lat=self.lat,
            lon=self.lon,
            country=self.country,
            nace="20",
        )


def _number(text: str | None) -> float | None:
    try:
        return float((text or "").strip())
    except ValueError:
        return None


def read_parks(path: Path) -> list[ChemicalPark]:
    parks: list[ChemicalPark] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for index, row in enumerate(csv.DictReader(handle, delimiter=";"), start=1):
            problems: list[str] = []
            name = " ".join((row.get("FacilityName") or "").split()) or f"chemical park {index}"
            if "?" in name:
                problems.append("name has letters lost upstream ('?')")
            raw_country = (row.get("Country") or "").strip()
            country: str | None = COUNTRY_SPELLINGS.get(raw_country)
            if country is None and raw_country:
                try:
                    country = normalise_country(raw_country)
                except ValueError:
                    problems.append(f"unknown country {raw_country!r}")
            lat, lon = _number(row.get("latitude")), _number(row.get("longitude"))
            if lat is None or lon is None:
                problems.append("location missing")
            elif not (EUROPE[0] <= lat <= EUROPE[1] and EUROPE[2] <= lon <= EUROPE[3]):
                problems.append(f"location ({lat}, {lon}) is outside Europe")
            parks.append(ChemicalPark(str(index), name, country, lat, lon, problems))
    return parks


def assign_sites(
    parks: Sequence[ChemicalPark], sites: Iterable[SiteRecord], radius_km: float = DEFAULT_RADIUS_KM
) -> list[ChemicalPark]:
    """Attach every located site to the nearest well-placed park within `radius_km` (same country when both are
    known), or within NAMED_REACH radii when the site is named like the park ("BASF SE" and "BASF SE.
    Ludwigshafen"). Returns the parks; a park's `members` are its sites."""
    placed = [p for p in parks if p.lat is not None and p.lon is not None and not p.location_suspect]
    records = {id(p): p.as_record() for p in placed}
    for site in sites:
        if site.lat is None or site.lon is None:
            continue
        best: tuple[float, ChemicalPark] | None = None
        for park in placed:
            if site.country and park.country and site.country != park.country:
                continue
            assert park.lat is not None and park.lon is not None
            distance = haversine_km(site.lat, site.lon, park.lat, park.lon)
            if distance > radius_km * NAMED_REACH:
                continue
            if distance > radius_km and name_similarity(site, records[id(park)]) < NAMED_SIMILARITY:
                continue
            if best is None or distance < best[0]:
                best = (distance, park)
        if best is not None:
            best[1].members.append(site)
    return list(parks)


def deduplicate(parks: Sequence[ChemicalPark], threshold: float = DEFAULT_THRESHOLD) -> list[SiteCluster]:
    """Parks listed twice under two names (Knapsack, Oberbruch, Marl) as one cluster each."""
    return resolve([p.as_record() for p in parks], threshold=threshold, repeating_sources=frozenset({"chemical_parks"}))


def iter_clusters(parks: Iterable[ChemicalPark]) -> Iterator[tuple[ChemicalPark, list[SiteRecord]]]:
    for park in parks:
        yield park, list(park.members)
