"""Column mapping: the headers of a foreign export ("Menge", "quantité", "EAK-Code") onto the import's columns.

An ERP export is never written for us: its headers are in the plant's language and its system's vocabulary. The
import could refuse such files; instead `suggest_mapping` proposes, for each header, the import column it most
likely means, with a score, for a person to confirm; `apply_mapping` renames the file's columns accordingly; and
a confirmed mapping is saved per organisation and source (`save_mapping`), so the next export from the same system
maps itself (`load_mapping`).

How headers are matched: a synonym table of the words exports really use (English, German, French, Danish,
Spanish; only words whose meaning is clear) plus fuzzy string similarity (rapidfuzz) for spelling variants,
inflections and typos. Headers and synonyms are compared accent- and case-folded, word by word, with units in
brackets ignored ("Menge (t/a)" is "menge"), so that "Temperatur °C" and "temperature_c" meet; a German or Danish
compound ending in a known word ("Jahresmenge", "affaldsmængde") counts as that word. Identifier words
("Standort-ID", "Org.-Nr.") lower the score a lot: an id is not a name. Headers meaning something the import has
no column for (postcode, phone, or an address in a flows file) are recognised as such and left unmapped, so their
data stays a free attribute instead of landing in a wrong column. Then every column goes to at most one header,
the best-scoring first, and a header below the threshold is left unmapped rather than guessed.
"""

from __future__ import annotations

import dataclasses
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from typing import Any, Literal

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlalchemy.orm import Session

from turash.flows import fields
from turash.ingestion.reader import DelimitedFile, FileUnreadable, normalise_header
from turash.models import ColumnMapping

Kind = Literal["flows", "sites"]
KINDS: tuple[Kind, ...] = ("flows", "sites")
THRESHOLD = 80.0  # below this a suggestion is a guess: the header stays unmapped (and is kept as an attribute)
_ALTERNATIVE_MIN = 50.0  # weaker candidates are noise, not alternatives worth showing
_ELSEWHERE = "_elsewhere"  # the pseudo-column of headers that mean something the import has no column for


class MappingError(FileUnreadable):
    """A mapping that cannot be applied (unknown target column, two headers onto one column). A FileUnreadable,
    so an import given one fails as a whole, recorded, with exit status 2: no row could be read as meant."""

    code = "invalid_mapping"


@dataclass(frozen=True)
class HeaderSuggestion:
    """What one foreign header most likely means. `column` is None when nothing scored `THRESHOLD` or more (or the
    best column went to a header that fits it better); `score` (0-100) is the confidence in `column`, 0 when None;
    `alternatives` are other (column, score) candidates, best first, for a person to pick from."""

    header: str
    column: str | None
    score: float
    alternatives: tuple[tuple[str, float], ...] = ()


def import_columns(kind: str) -> tuple[str, ...]:
    """The columns an import of `kind` reads, in the contract's order (contract/cli.md)."""
    from turash.ingestion.service import SITE_EXTRA  # the service imports this module: import it when asked

    if kind == "flows":
        return (*fields.SITE_COLUMNS, *fields.FLOW_COLUMNS)
    if kind == "sites":
        return (*fields.SITE_COLUMNS, *SITE_EXTRA)
    raise MappingError(f"unknown import kind {kind!r}: expected 'flows' or 'sites'", details={"kind": kind})


# Words exports use for each column, beyond the column's own name. Matching folds case and accents, so each word
# is written once, as it is spelled.
# fmt: off
SYNONYMS: dict[str, tuple[str, ...]] = {
    "organization": (
        "organisation", "company", "company name", "organization name", "organisation name", "firm", "enterprise",
        "operator", "org",
        "firma", "firmenname", "unternehmen", "unternehmensname", "betreiber",
        "entreprise", "société", "raison sociale", "nom de l'entreprise", "exploitant",
        "virksomhed", "virksomhedsnavn", "firmanavn", "selskab",
        "empresa", "organización", "compañía", "razón social", "nombre de la empresa",
    ),
    "site": (
        "site name", "facility", "plant", "location", "installation", "establishment", "premises",
        "standort", "standortname", "werk", "anlage", "betriebsstätte",
        "nom du site", "établissement", "usine",
        "lokation", "anlæg", "fabrik",
        "planta", "instalación", "ubicación", "emplazamiento",
    ),
    "lat": (
        "latitude", "breitengrad", "geographische breite", "geografische breite", "geogr breite",
        "latitud", "breddegrad",
    ),
    "lon": (
        "lng", "long", "longitude", "längengrad", "geographische länge", "geografische länge", "geogr länge",
        "longitud", "længdegrad",
    ),
    "country": (
        "country code", "iso country", "land", "staat", "pays", "code pays", "país",
    ),
    "nace": (
        "nace code", "nace rev 2", "sector code", "industry code",
        "wz code", "wz 2008", "wirtschaftszweig",
        "code nace", "naf", "code naf", "code ape",
        "branchekode", "db07",
        "cnae", "código cnae",
    ),
    "direction": (
        "supply demand", "supply or demand", "offer need", "flow direction",
        "richtung", "angebot nachfrage", "angebot bedarf", "flussrichtung",
        "sens", "sens du flux", "offre demande",
        "retning", "udbud efterspørgsel",
        "oferta demanda", "sentido",
    ),
    "resource": (
        "material", "substance", "stream", "resource name", "waste", "waste type", "by product", "byproduct",
        "commodity", "medium",
        "ressource", "stoff", "abfall", "abfallart", "abfallbezeichnung", "nebenprodukt", "reststoff", "stoffstrom",
        "matière", "matériau", "déchet", "type de déchet", "sous produit",
        "materiale", "affald", "affaldstype", "restprodukt", "biprodukt",
        "recurso", "residuo", "tipo de residuo", "subproducto", "sustancia",
    ),
    "category": (
        "resource category", "kategorie", "catégorie", "kategori", "categoría",
    ),
    "ewc_code": (
        "ewc", "ewc no", "ewc nr", "ewc number", "low code", "list of waste code", "waste code",
        "european waste catalogue", "european waste catalogue code",
        "eak", "eak code", "eak nummer", "eak schlüssel", "avv", "avv nummer", "avv schlüssel", "avv code",
        "abfallschlüssel", "abfallschlüsselnummer", "abfallcode",
        "code déchet", "code déchets", "code ced", "code européen des déchets",
        "eak kode", "affaldskode",
        "ler", "código ler", "código de residuo", "código cer",
    ),
    "quantity": (
        "amount", "qty", "quantity per year", "annual quantity", "annual amount", "tonnage", "volume",
        "menge", "jahresmenge", "anfallmenge",
        "quantité", "quantité annuelle",
        "mængde", "årlig mængde",
        "cantidad", "cantidad anual",
    ),
    "unit": (
        "units", "uom", "unit of measure", "unit of measurement", "measurement unit",
        "einheit", "mengeneinheit", "maßeinheit", "me", "bme",
        "unité", "unité de mesure",
        "enhed", "måleenhed",
        "unidad", "unidad de medida",
    ),
    "temperature_c": (
        "temperature", "temp", "temperatur", "température", "temperatura",
    ),
    "pressure_bar": (
        "pressure", "druck", "pression", "tryk", "presión",
    ),
    "purity_pct": (
        "purity", "reinheit", "reinheitsgrad", "pureté", "renhed", "pureza",
    ),
    "hazardous": (
        "hazard", "hazardous waste", "dangerous", "hazmat",
        "gefährlich", "gefährlicher abfall", "gefahrstoff",
        "dangereux", "déchet dangereux",
        "farlig", "farligt affald",
        "peligroso", "residuo peligroso",
    ),
    "available_from": (
        "from", "start date", "valid from", "availability start",
        "verfügbar ab", "gültig ab", "von", "startdatum",
        "disponible à partir de", "disponible du", "date de début",
        "tilgængelig fra", "startdato",
        "disponible desde", "desde", "fecha de inicio",
    ),
    "available_to": (
        "available until", "until", "end date", "valid until", "valid to", "availability end",
        "verfügbar bis", "gültig bis", "bis", "enddatum",
        "disponible jusqu'à", "disponible jusqu'au", "date de fin",
        "tilgængelig til", "slutdato",
        "disponible hasta", "hasta", "fecha de fin",
    ),
    "schedule": (
        "availability", "operating hours", "time pattern",
        "zeitplan", "betriebszeiten", "verfügbarkeit",
        "horaire", "horaires", "calendrier", "disponibilité",
        "tidsplan", "tilgængelighed",
        "horario", "calendario", "disponibilidad",
    ),
    "price_eur_per_unit": (
        "price", "price eur", "price per unit", "unit price", "unit cost",
        "preis", "preis eur", "einzelpreis", "preis pro einheit",
        "prix", "prix unitaire",
        "pris", "enhedspris",
        "precio", "precio unitario",
    ),
    "precision": (
        "accuracy", "data quality",
        "genauigkeit", "präzision", "datenqualität",
        "précision",
        "præcision", "nøjagtighed",
        "precisión", "exactitud",
    ),
    "description": (
        "notes", "note", "comment", "comments", "remarks", "details",
        "beschreibung", "bemerkung", "bemerkungen", "kommentar", "anmerkung", "hinweis",
        "commentaire", "commentaires", "remarque", "remarques", "observations",
        "beskrivelse", "bemærkning", "bemærkninger",
        "descripción", "comentario", "comentarios", "observaciones", "notas",
    ),
    "employees": (
        "staff", "headcount", "number of employees", "workforce",
        "mitarbeiter", "beschäftigte", "mitarbeiterzahl", "anzahl mitarbeiter",
        "effectif", "effectifs", "salariés", "nombre de salariés",
        "ansatte", "medarbejdere", "antal ansatte",
        "empleados", "número de empleados", "plantilla",
    ),
    "address": (
        "street", "street address", "adresse", "anschrift", "straße", "rue", "dirección", "domicilio", "calle",
    ),
    "city": (
        "town", "municipality", "ort", "stadt", "gemeinde", "ville", "commune", "localité", "by", "kommune",
        "ciudad", "municipio", "localidad",
    ),
    # Not import columns: recognised so that they are not fuzzily taken for one ("code postal" is not "code pays").
    _ELSEWHERE: (
        "id", "postal code", "zip", "zip code", "postcode", "plz", "postleitzahl", "code postal", "postnummer",
        "código postal", "phone", "telephone", "telefon", "téléphone", "telefono", "email", "e mail", "website",
        "contact", "kontakt", "region", "bundesland", "département", "provincia",
    ),
}
# fmt: on

# Extra words in a header that barely change its meaning: units, periods, dates and little words
# ("Menge pro Jahr in Tonnen" is a quantity).
# fmt: off
_LIGHT_WORDS = frozenset({
    "a", "an", "ar", "ano", "annual", "annuelle", "anual", "arlig", "c", "d", "da", "date", "datum", "dato", "de",
    "del", "der", "des", "die", "du", "el", "en", "eur", "euro", "fecha", "grad", "h", "i", "in", "jahr",
    "jahrlich", "je", "kg", "kw", "kwh", "l", "la", "le", "m3", "mw", "mwh", "gwh", "per", "pct", "pr", "pro",
    "prozent", "percent", "t", "the", "to", "tonnen", "tonnes", "tons", "wgs84", "y", "year", "yr"
})
# Words that make a header an identifier of the thing, not the thing: "Standort-ID" is not a site name.
_IDENTIFIER_WORDS = frozenset({
    "id", "nr", "no", "num", "number", "nummer", "numero", "ref", "key", "code", "kode", "codigo", "schlussel"
})
# fmt: on
_BRACKETS = re.compile(r"[(\[{][^)\]}]*[)\]}]")
_WORD = re.compile(r"[a-z0-9]+")
_FOLDS = str.maketrans({"ß": "ss", "æ": "ae", "ø": "o", "œ": "oe", "ł": "l", "đ": "d"})


def _words(text: str) -> tuple[str, ...]:
    """Case- and accent-folded words, without bracketed parts (units): "Menge (t/a)" → ("menge",)."""
    folded = unicodedata.normalize("NFKD", text.casefold().translate(_FOLDS))
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = tuple(_WORD.findall(_BRACKETS.sub(" ", folded)))
    return words or tuple(_WORD.findall(folded))  # a header that is all brackets: use what is inside


@cache
def _terms() -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Column → its terms as (folded text, words): its own name and its synonyms."""
    every = {c: () for kind in KINDS for c in import_columns(kind)} | SYNONYMS
    terms: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {}
    for column, synonyms in every.items():
        own = () if column == _ELSEWHERE else (column.replace("_", " "),)
        folded = {(" ".join(w), w) for w in (_words(t) for t in (*own, *synonyms)) if w}
        terms[column] = tuple(sorted(folded))
    return terms


def _similar(a: str, b: str) -> float:
    """Spelling similarity of two words or phrases; short ones (lat, me, by) count only when equal, because one
    letter more or less makes another word of them ("lat" and "last")."""
    if a == b:
        return 100.0
    if min(len(a), len(b)) < 5:
        return 0.0
    return float(fuzz.ratio(a, b))


def _term_score(words: tuple[str, ...], term: tuple[str, ...]) -> float:
    text, term_text = " ".join(words), " ".join(term)
    if text == term_text:
        return 100.0
    if text.replace(" ", "") == term_text.replace(" ", ""):  # "EWCcode", "Supply-Demand", "StartDate"
        return 98.0
    # whole-string similarity for single words only ("quantite" and "quantity"): between phrases, it rates
    # "verfügbar ab" close to "verfügbar bis" and "code postal" to "code pays"; phrases are compared word by word
    best = _similar(text, term_text) if len(words) == 1 and len(term) == 1 else 0.0
    # word by word: every word of the term found (or nearly) among the header's words, the others cost a little
    # (units, little words) or a lot (identifier words)
    used: set[int] = set()
    matched = 0.0
    for word in term:
        score, at = max(((_similar(w, word), i) for i, w in enumerate(words) if i not in used), default=(0.0, -1))
        if score < 85:
            break
        used.add(at)
        matched += score
    else:
        extra = [w for i, w in enumerate(words) if i not in used]
        penalty = sum(30 if w in _IDENTIFIER_WORDS else 2 if w in _LIGHT_WORDS else 10 for w in extra)
        best = max(best, matched / len(term) - penalty)
    # a German or Danish compound ending in the term: "Jahresmenge", "Betriebstemperatur", "affaldsmaengde"
    if len(words) == 1 and len(term) == 1 and len(term_text) >= 5 and text.endswith(term_text):
        best = max(best, 88.0)
    return max(best, 0.0)


def _column_scores(header: str) -> dict[str, float]:
    words = _words(header)
    if not words:
        return {}
    return {column: max(_term_score(words, t) for _, t in terms) for column, terms in _terms().items()}


def suggest_mapping(headers: list[str], kind: str, *, threshold: float = THRESHOLD) -> list[HeaderSuggestion]:
    """One suggestion per header, in the headers' order. No column is suggested for two headers: the
    best-scoring header gets it (the earlier one on a tie), and the other may still get its next-best column."""
    allowed = set(import_columns(kind))
    candidates: list[list[tuple[str, float]]] = []
    for header in headers:
        scores = _column_scores(header)
        inside = sorted(((c, s) for c, s in scores.items() if c in allowed), key=lambda cs: -cs[1])
        outside = max((s for c, s in scores.items() if c not in allowed), default=0.0)
        if inside and outside > inside[0][1]:
            # it means something this kind of import has no column for: better an attribute than a wrong column
            inside = [(c, s) for c, s in inside if s >= 100.0]
        candidates.append(inside)
    pairs = sorted(
        ((s, i, c) for i, options in enumerate(candidates) for c, s in options if s >= threshold),
        key=lambda sic: (-sic[0], sic[1]),
    )
    chosen: dict[int, tuple[str | None, float]] = {}
    taken: set[str] = set()
    for score, index, candidate in pairs:
        if index not in chosen and candidate not in taken:
            chosen[index] = (candidate, score)
            taken.add(candidate)
    suggestions = []
    for index, header in enumerate(headers):
        column, score = chosen.get(index, (None, 0.0))
        others = [(c, round(s, 1)) for c, s in candidates[index] if c != column and s >= _ALTERNATIVE_MIN]
        alternatives = tuple(others[:3])
        suggestions.append(HeaderSuggestion(header, column, round(score, 1), alternatives))
    return suggestions


def mapping_of(suggestions: list[HeaderSuggestion]) -> dict[str, str]:
    """The suggestions as a mapping for `apply_mapping` / `save_mapping` (unmapped headers left out)."""
    return {s.header: s.column for s in suggestions if s.column is not None}


def check_mapping(mapping: dict[str, Any], kind: str | None = None) -> dict[str, str]:
    """The mapping with its targets normalised ("Temperature C" → temperature_c), or MappingError naming what is
    wrong: a target that is no import column of `kind` (of either kind when None), or two headers onto one
    column. A target of "" or None means: ignore that header."""
    if kind is not None:
        known = import_columns(kind)
    else:
        known = tuple(dict.fromkeys(c for k in KINDS for c in import_columns(k)))
    checked: dict[str, str] = {}
    sources: dict[str, str] = {}
    for header, target in mapping.items():
        if not isinstance(header, str) or not (target is None or isinstance(target, str)):
            raise MappingError(
                f"a mapping pairs header names with column names; got {header!r}: {target!r}",
                details={"header": str(header)},
            )
        column = normalise_header(target or "")
        if column and column not in known:
            raise MappingError(
                f"the mapping sends {header!r} to {target!r}, which is no {kind or 'import'} column; "
                f"the columns are: {', '.join(known)}",
                details={"header": header, "column": target, "columns": list(known)},
            )
        if column and column in sources:
            raise MappingError(
                f"the mapping sends both {sources[column]!r} and {header!r} to the column {column!r}",
                details={"headers": [sources[column], header], "column": column},
            )
        if column:
            sources[column] = header
        checked[header] = column
    return checked


def apply_mapping(file: DelimitedFile, mapping: dict[str, Any], *, kind: str | None = None) -> DelimitedFile:
    """`file` with its columns renamed by `mapping` ({foreign header: import column}); headers are matched as the
    import matches them (case, spaces and dashes do not matter). Headers the mapping names but the file lacks are
    noted, not an error: a saved mapping outlives one export's exact set of columns. A column the mapping would
    create twice (a mapped header and an unmapped one already called so) is a MappingError."""
    checked = check_mapping(mapping, kind)
    by_column = {normalise_header(header): target for header, target in checked.items()}
    header = list(file.header)
    renamed: list[str] = []
    for index, column in enumerate(file.header):
        if column in by_column:
            target = by_column[column]
            header[index] = target
            if target != column:
                renamed.append(f"{file.raw_header[index]} → {target or '(ignored)'}")
    origin: dict[str, int] = {}
    for index, column in enumerate(header):
        if not column:
            continue
        if column in origin:
            first = file.raw_header[origin[column]]
            raise MappingError(
                f"after mapping, {file.name} would have two {column!r} columns: {first!r} and "
                f"{file.raw_header[index]!r}; map one of them elsewhere, or to '' to ignore it",
                details={"column": column, "headers": [first, file.raw_header[index]]},
            )
        origin[column] = index
    notes = list(file.notes)
    if renamed:
        notes.append(f"columns mapped: {', '.join(renamed)}")
    absent = [h for h in checked if normalise_header(h) not in set(file.header)]
    if absent:
        notes.append(f"the mapping names headers this file does not have: {', '.join(absent)}")
    return dataclasses.replace(file, header=header, notes=notes)


# ------------------------------------------------------------------------------------------------ saved mappings
def _saved(session: Session, organization_id: str | None, source: str, kind: str) -> ColumnMapping | None:
    owner = (
        ColumnMapping.organization_id.is_(None)
        if organization_id is None
        else ColumnMapping.organization_id == organization_id
    )
    query = sa.select(ColumnMapping).where(owner, ColumnMapping.source == source, ColumnMapping.kind == kind)
    return session.scalars(query.order_by(ColumnMapping.created_at.desc()).limit(1)).first()


def _source(source: str) -> str:
    name = source.strip()
    if not name or len(name) > 200:
        raise MappingError("a mapping's source is a name of 1 to 200 characters, such as 'SAP export'")
    return name


def save_mapping(
    session: Session,
    organization_id: str | None,
    source: str,
    kind: str,
    mapping: dict[str, Any],
    user_id: str | None = None,
) -> ColumnMapping:
    """Save (or replace) the mapping of one organisation's source, checked first, so that the next file from it
    maps itself. No organisation (None) is the platform-wide mapping of a source. Flushes; the caller commits."""
    checked = check_mapping(mapping, kind)
    name = _source(source)
    row = _saved(session, organization_id, name, kind)
    if row is None:
        row = ColumnMapping(organization_id=organization_id, source=name, kind=kind, created_by=user_id)
        session.add(row)
    row.mapping = dict(checked)  # a new dict: the JSON column does not track changes inside the old one
    session.flush()
    return row


def load_mapping(session: Session, organization_id: str | None, source: str, kind: str) -> dict[str, str] | None:
    """The saved mapping of that organisation's source for `kind`, or None if there is none."""
    row = _saved(session, organization_id, _source(source), kind)
    return None if row is None else {str(k): str(v or "") for k, v in row.mapping.items()}
