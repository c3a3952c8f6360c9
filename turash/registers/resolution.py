"""Entity resolution: one physical site listed by several registers (Hotmaps, E-PRTR CO2, E-PRTR CO, chemical
parks) becomes one cluster.

1. Blocking: records are bucketed by country and a 0.1° grid cell; only records in the same or a neighbouring cell
   and within `max_km` are compared (a few thousand pairs instead of millions).
2. Pair score: name similarity (rapidfuzz token-set ratio on names folded to ASCII, lower case, with legal-form
   words such as GmbH, AG, S.A., Ltd, BV, A/S, S.p.A., Sp. z o.o. stripped; the best over each record's name
   variants, rescaled so that the 0.4 unrelated names reach counts 0), distance (1 within 0.5 km, then decaying
   with a 2 km scale), and sector agreement (same NACE division or not). confidence = 0.6·name + 0.3·distance +
   0.1·sector; two E-PRTR records with the same FacilityReportID are the same facility (confidence 1).
   Weights and threshold were chosen on the hand-labelled sample in tests/registers/resolution_sample.csv
   (69 pairs, most of them co-located plants of chemical parks and steelworks, the hard cases).
3. Clustering: pairs at or above `threshold`, best first, join clusters (union-find), but a cluster never takes two
   records of the same single-snapshot source (E-PRTR 2014 lists five Wien Energie plants: five sites). Sources in
   `repeating_sources` (the CO file: one report per facility and year) may merge with themselves.
A cluster's confidence is the weakest link that built it (1.0 for a single record).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

DEFAULT_THRESHOLD = 0.6
DEFAULT_MAX_KM = 10.0
GRID_DEG = 0.1
WEIGHTS = (0.6, 0.3, 0.1)  # name, distance, sector
# Name similarities below this are what unrelated names score (shared words like "chemie", "energie"): they count 0.
NAME_FLOOR = 0.4
# E-PRTR keeps a facility's FacilityReportID across pollutants of a reporting year: same id, same facility.
EPRTR_SOURCES = frozenset({"eprtr_co2", "eprtr_co"})
REPEATING_SOURCES = frozenset({"eprtr_co"})

# Legal forms and their abbreviations in the registers' languages, as tokens after folding and punctuation removal.
# Multi-token forms (s a, sp z o o) are matched as phrases first.
_LEGAL_PHRASES = (
    "sp z o o",
    "s p a",
    "s r l",
    "s r o",
    "s a s",
    "s a r l",
    "a s",
    "s a",
    "b v",
    "n v",
    "d o o",
    "co kg",
    "co kgaa",
    "e k",
    "gmbh co kg",
)
_LEGAL_TOKENS = frozenset(
    [
        "gmbh",
        "mbh",
        "ag",
        "kg",
        "kgaa",
        "ohg",
        "ug",
        "se",
        "eg",
        "ev",
        "gesmbh",
        "sa",
        "sas",
        "sasu",
        "sarl",
        "sca",
        "snc",
        "scs",
        "spa",
        "srl",
        "sl",
        "slu",
        "sau",
        "sal",
        "ltd",
        "limited",
        "plc",
        "llc",
        "inc",
        "corp",
        "co",
        "company",
        "bv",
        "nv",
        "cv",
        "vof",
        "as",
        "asa",
        "aps",
        "ab",
        "oy",
        "oyj",
        "hf",
        "ehf",
        "sro",
        "spzoo",
        "sp",
        "zoo",
        "zrt",
        "nyrt",
        "kft",
        "rt",
        "ad",
        "ead",
        "doo",
        "dd",
        "ou",
        "sia",
        "uab",
        "lda",
        "sgps",
    ]
)
_NON_WORD = re.compile(r"[^a-z0-9]+")
_FOLD = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "å": "a", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"})


# Words that name the kind of place or join words rather than tell sites apart; removed before comparing names
# (unless nothing else is left), together with the record's own city, so that "Linde Gas Italia - Sito di Milazzo"
# and "Raffineria di Milazzo" are not found similar for sharing "di Milazzo".
GENERIC_TOKENS = frozenset(
    [
        "di",
        "de",
        "del",
        "della",
        "dei",
        "des",
        "du",
        "la",
        "le",
        "les",
        "el",
        "los",
        "las",
        "der",
        "die",
        "das",
        "den",
        "und",
        "and",
        "of",
        "the",
        "et",
        "y",
        "e",
        "en",
        "van",
        "voor",
        "im",
        "am",
        "an",
        "i",
        "w",
        "z",
        "na",
        "u",
        "d",
        "l",
        "sito",
        "site",
        "stabilimento",
        "usine",
        "plant",
        "works",
        "werk",
        "fabrica",
        "fabrik",
        "factory",
        "centrale",
        "installation",
        "etablissement",
        "vestiging",
        "zaklad",
        "jednostka",
        "produkcyjna",
        "produkcyjny",
        "facility",
        "complex",
        "complexo",
        "industrial",
        "standort",
    ]
)
ALIAS_WEIGHT = 0.85  # a company-level alias (Hotmaps CompanyName) matches every plant of the company


@lru_cache(maxsize=65536)
def normalise_name(name: str) -> str:
    """`voestalpine Stahl Donawitz GesmbH` → `voestalpine stahl donawitz`; `Mærsk Olie og Gas A/S` → `maersk olie
    og gas`; `Holcim (Suisse) SA` → `holcim suisse`."""
    text = unicodedata.normalize("NFKD", name.lower().translate(_FOLD))
    # "?" stands for a letter the upstream export could not encode ("Inowroc?aw"): drop it, keep the word whole.
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).replace("&", " ").replace("?", "")
    text = " " + " ".join(_NON_WORD.sub(" ", text).split()) + " "
    for phrase in _LEGAL_PHRASES:
        text = text.replace(f" {phrase} ", " ")
    return " ".join(t for t in text.split() if t not in _LEGAL_TOKENS)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlmb = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(a)))


@dataclass(frozen=True, slots=True)
class SiteRecord:
    """One register's record of a site. `aliases` are other names it carries (Hotmaps: company and site name)."""

    source: str
    ref: str
    name: str
    lat: float | None
    lon: float | None
    country: str | None = None
    nace: str | None = None
    city: str | None = None
    aliases: tuple[str, ...] = ()
    payload: Any = field(default=None, compare=False, hash=False, repr=False)

    @property
    def key(self) -> str:
        return f"{self.source}:{self.ref}"

    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(n for n in (self.name, *self.aliases) if n))


@dataclass(frozen=True, slots=True)
class PairScore:
    a: SiteRecord
    b: SiteRecord
    name: float  # 0..1
    distance_km: float
    distance: float  # 0..1
    sector: float  # 0..1 (0.5 when a side has no NACE code)
    confidence: float


@dataclass
class SiteCluster:
    records: list[SiteRecord]
    confidence: float = 1.0
    links: list[PairScore] = field(default_factory=list)

    @property
    def refs(self) -> list[str]:
        return [r.key for r in self.records]

    @property
    def sources(self) -> set[str]:
        return {r.source for r in self.records}

    @property
    def lat(self) -> float | None:
        values = [r.lat for r in self.records if r.lat is not None]
        return sum(values) / len(values) if values else None

    @property
    def lon(self) -> float | None:
        values = [r.lon for r in self.records if r.lon is not None]
        return sum(values) / len(values) if values else None

    def pick(self, priority: Sequence[str] = ("hotmaps", "eprtr_co2", "eprtr_co", "chemical_parks")) -> SiteRecord:
        """The record to take the site's name and attributes from (the first source in `priority`)."""
        rank = {s: i for i, s in enumerate(priority)}
        return min(self.records, key=lambda r: (rank.get(r.source, len(rank)), r.ref))


@lru_cache(maxsize=65536)
def comparison_tokens(name: str) -> tuple[str, ...]:
    """The words of a name that can tell sites apart: normalised, without generic words (unless none are left)."""
    normal = normalise_name(name).split()
    kept = [t for t in normal if t not in GENERIC_TOKENS]
    return tuple(kept or normal)


def _similarity(x: tuple[str, ...], y: tuple[str, ...], places: frozenset[str]) -> float:
    """Token-set ratio when one name's words contain the other's ("Zementwerk Lengfurt" ~ "HeidelbergCement
    Zementwerk Lengfurt"); the stricter token-sort ratio when each has words the other lacks ("Air Products
    (Pernis)" vs "(Botlek)"). Place words both names share (their cities) are left out first: "Linde Gas - Sito di
    Milazzo" and "Raffineria di Milazzo" share nothing else."""
    shared = set(x) & set(y) & places
    xs = [t for t in x if t not in shared] or list(x)
    ys = [t for t in y if t not in shared] or list(y)
    a, b = " ".join(xs), " ".join(ys)
    if set(xs) <= set(ys) or set(ys) <= set(xs):
        return fuzz.token_set_ratio(a, b) / 100.0
    return min(fuzz.token_set_ratio(a, b), fuzz.token_sort_ratio(a, b)) / 100.0


def names_alike(a: str, b: str) -> float:
    """0..1: how alike two organisation or site names are, by the same measure entity resolution uses."""
    ta, tb = comparison_tokens(a), comparison_tokens(b)
    return _similarity(ta, tb, frozenset()) if ta and tb else 0.0


def _alias_conflict(primary: tuple[str, ...], alias: tuple[str, ...], other: tuple[str, ...]) -> bool:
    """A company-level alias ("ThyssenKrupp Steel Europe") matches every plant of the company: it does not count
    when the other record names a plant with words beyond the company ("... Werk Bruckhausen") and this record's
    own name has words of its own too ("... Werk Schwelgern")."""
    company = set(alias)
    return bool(set(other) - company - set(primary)) and bool(set(primary) - company - set(other))


def name_similarity(a: SiteRecord, b: SiteRecord) -> float:
    places = frozenset(normalise_name(f"{a.city or ''} {b.city or ''}").split())
    pa, pb = comparison_tokens(a.name), comparison_tokens(b.name)
    best = _similarity(pa, pb, places) if pa and pb else 0.0
    for alias in a.aliases:
        ta = comparison_tokens(alias)
        if ta and pb and not _alias_conflict(pa, ta, pb):
            best = max(best, ALIAS_WEIGHT * _similarity(ta, pb, places))
    for alias in b.aliases:
        tb = comparison_tokens(alias)
        if tb and pa and not _alias_conflict(pb, tb, pa):
            best = max(best, ALIAS_WEIGHT * _similarity(pa, tb, places))
    return best


def distance_score(km: float) -> float:
    """1 within 0.5 km (registers geocode the same site to slightly different points), then exp(-(d-0.5)/2)."""
    return 1.0 if km <= 0.5 else math.exp(-(km - 0.5) / 2.0)


def sector_score(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.5
    return 1.0 if a[:2] == b[:2] else 0.0


def score_pair(a: SiteRecord, b: SiteRecord) -> PairScore:
    if a.lat is None or a.lon is None or b.lat is None or b.lon is None:
        km = math.inf
    else:
        km = haversine_km(a.lat, a.lon, b.lat, b.lon)
    name = name_similarity(a, b)
    dist = 0.0 if math.isinf(km) else distance_score(km)
    sector = sector_score(a.nace, b.nace)
    if a.source in EPRTR_SOURCES and b.source in EPRTR_SOURCES and a.source != b.source and a.ref == b.ref:
        return PairScore(a, b, name, km, dist, sector, 1.0)
    w_name, w_dist, w_sector = WEIGHTS
    name_term = max(0.0, (name - NAME_FLOOR) / (1.0 - NAME_FLOOR))
    return PairScore(a, b, name, km, dist, sector, round(w_name * name_term + w_dist * dist + w_sector * sector, 4))


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return (math.floor(lat / GRID_DEG), math.floor(lon / GRID_DEG))


def candidate_pairs(records: Sequence[SiteRecord], *, max_km: float = DEFAULT_MAX_KM) -> Iterator[PairScore]:
    """Scored pairs of located records in the same country (when both are known) within `max_km`."""
    cells: dict[tuple[int, int], list[int]] = defaultdict(list)
    for index, record in enumerate(records):
        if record.lat is not None and record.lon is not None:
            cells[_cell(record.lat, record.lon)].append(index)
    reach = max(1, math.ceil(max_km / (GRID_DEG * 111.0)))
    for (cy, cx), members in cells.items():
        for dy in range(-reach, reach + 1):
            for dx in range(-reach, reach + 1):
                for j in cells.get((cy + dy, cx + dx), ()):
                    for i in members:
                        if i >= j:
                            continue
                        a, b = records[i], records[j]
                        if a.country and b.country and a.country != b.country:
                            continue
                        assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
                        if haversine_km(a.lat, a.lon, b.lat, b.lon) > max_km:
                            continue
                        yield score_pair(a, b)


def resolve(
    records: Iterable[SiteRecord],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    max_km: float = DEFAULT_MAX_KM,
    repeating_sources: frozenset[str] = REPEATING_SOURCES,
) -> list[SiteCluster]:
    """Clusters of records that are the same site; every record is in exactly one cluster."""
    items = list(records)
    parent = list(range(len(items)))
    index = {id(r): i for i, r in enumerate(items)}
    members: dict[int, list[int]] = {i: [i] for i in range(len(items))}
    weakest: dict[int, float] = {i: 1.0 for i in range(len(items))}
    links: dict[int, list[PairScore]] = {i: [] for i in range(len(items))}

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    pairs = [p for p in candidate_pairs(items, max_km=max_km) if p.confidence >= threshold]
    pairs.sort(key=lambda p: (-p.confidence, p.distance_km))
    for pair in pairs:
        ra, rb = find(index[id(pair.a)]), find(index[id(pair.b)])
        if ra == rb:
            continue
        sources_a = {items[m].source for m in members[ra]}
        sources_b = {items[m].source for m in members[rb]}
        if (sources_a & sources_b) - repeating_sources:
            continue  # one snapshot lists two different facilities here
        parent[rb] = ra
        members[ra].extend(members.pop(rb))
        weakest[ra] = min(weakest[ra], weakest.pop(rb), pair.confidence)
        links[ra].extend(links.pop(rb))
        links[ra].append(pair)
    return [
        SiteCluster(records=[items[m] for m in sorted(group)], confidence=weakest[root], links=links[root])
        for root, group in members.items()
    ]


def same_site(a: SiteRecord, b: SiteRecord, threshold: float = DEFAULT_THRESHOLD) -> tuple[bool, PairScore]:
    """The pairwise decision `resolve` makes before its cluster constraints (what the labelled sample measures)."""
    score = score_pair(a, b)
    return score.confidence >= threshold, score


def from_hotmaps(site: Any) -> SiteRecord:
    """SiteRecord of a `turash.registers.hotmaps.HotmapsSite`."""
    return SiteRecord(
        source="hotmaps",
        ref=str(site.site_id),
        name=site.name,
        lat=site.lat,
        lon=site.lon,
        country=site.country,
        nace=site.nace,
        city=site.city,
        aliases=(site.company,) if site.company and site.company != site.name else (),
        payload=site,
    )


def from_eprtr(facility: Any) -> SiteRecord:
    """SiteRecord of a `turash.registers.eprtr.EprtrFacility`."""
    return SiteRecord(
        source=facility.dataset,
        ref=facility.report_id,
        name=facility.name,
        lat=facility.lat,
        lon=facility.lon,
        country=facility.country,
        nace=facility.nace,
        city=facility.city,
        payload=facility,
    )
