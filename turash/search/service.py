"""Full-text and faceted search over organisations, sites, flows and service offerings.

1. The query is folded (lower case, no diacritics) and split into words.
2. Typo tolerance. SQLite: each word becomes a group of alternatives read from the FTS5 vocabulary: the word, the
   words it starts (`gyps` → `gyps*`), and, when the index does not know it, the index terms within a small edit
   distance (`rapidfuzz`, `gypsun` → `gypsum`, `grian` → `grain`) and the two index words it glues together
   (`flyash` → "fly ash"); two query words the index knows glued (`fly ash` → `flyash`) are an alternative too.
   A word with no alternative at all cannot match and is left out. PostgreSQL: the words as prefixes in a tsquery,
   OR `pg_trgm` `word_similarity` of the whole query to the document text.
3. Synonyms: the resource catalogue (turash.catalog) reads the query as resource classes (`Flugasche`,
   `cendres volantes` → fly_ash); documents of those classes or their descendants match too.
4. All groups must match; when nothing does, any group may (ranked by how many and how well).
5. Candidates are the matches that pass the filters and the caller may read (the `visible_to` rule of every list
   route). Relevance is bm25 (SQLite) or ts_rank + word similarity (PostgreSQL); near a point it is divided by
   `1 + distance / scale` (scale: the radius, or 50 km), so a close good match beats a far one.
6. Facet counts are over all candidates; a page of them is returned with a snippet and highlight offsets.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz, process
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.catalog import get_catalog
from turash.catalog.text import fold_a, fold_b
from turash.kit.errors import ValidationFailed
from turash.models import CATEGORIES, DIRECTIONS, PRECISIONS, SEARCH_KINDS
from turash.search import repository
from turash.search.repository import Candidate, Filters

MAX_QUERY_WORDS = 12
MAX_ALTERNATIVES = 5
DISTANCE_SCALE_KM = 50.0
SNIPPET_CHARS = 160
CLASS_KEEP_RATIO = 0.5  # catalogue classes weighing at least this share of the best one are searched for
MAX_CLASSES = 40
_WORD = re.compile(r"[^\W_]+")


def fold(text: str) -> str:
    """Lower case without diacritics, as FTS5's `unicode61 remove_diacritics 2` folds."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


@dataclass(frozen=True)
class SearchQuery:
    q: str | None = None
    kinds: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    direction: str | None = None
    category: str | None = None
    resource_class: str | None = None
    country: str | None = None
    nace: str | None = None
    precision: str | None = None
    hazardous: bool | None = None
    limit: int = 50
    offset: int = 0


@dataclass
class Hit:
    kind: str
    id: str
    title: str
    snippet: str
    highlights: dict[str, list[tuple[int, int]]]
    score: float
    distance_km: float | None
    lat: float | None
    lon: float | None
    organization_id: str | None
    organization: str | None
    facets: dict[str, Any]


@dataclass
class SearchResult:
    items: list[Hit]
    total: int
    limit: int
    offset: int
    facets: dict[str, dict[str, int]]
    classes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------------ validation
def _choice(name: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if value not in allowed:
        raise ValidationFailed(
            f"{name} must be one of {', '.join(allowed)}, not {value!r}",
            details=[{"field": name, "message": f"one of {', '.join(allowed)}"}],
        )
    return value


def _invalid(name: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{name}: {message}", details=[{"field": name, "message": message}])


def validate(query: SearchQuery) -> tuple[str, Filters]:
    """The query text and the filters, or a 422 naming the parameter at fault."""
    from turash.kit.codes import normalise_country, normalise_nace

    text = (query.q or "").strip()
    if len(text) > 200:
        raise _invalid("q", "at most 200 characters")
    kinds = tuple(dict.fromkeys(_choice("kind", k, SEARCH_KINDS) or "" for k in query.kinds))
    if (query.lat is None) != (query.lon is None):
        raise _invalid("lat" if query.lat is None else "lon", "a point needs both lat and lon")
    if query.radius_km is not None and query.lat is None:
        raise _invalid("radius_km", "a radius needs a point: give lat and lon too")
    if query.lat is not None and not -90 <= query.lat <= 90:
        raise _invalid("lat", "between -90 and 90")
    if query.lon is not None and not -180 <= query.lon <= 180:
        raise _invalid("lon", "between -180 and 180")
    if query.radius_km is not None and not 0 < query.radius_km <= 2000:
        raise _invalid("radius_km", "greater than 0 and at most 2000")
    try:
        country = normalise_country(query.country) if query.country else None
    except ValueError as exc:
        raise _invalid("country", str(exc)) from None
    try:
        nace = normalise_nace(query.nace) if query.nace else None
    except ValueError as exc:
        raise _invalid("nace", str(exc)) from None
    classes: tuple[str, ...] = ()
    if query.resource_class:
        catalog = get_catalog()
        cid = query.resource_class.strip()
        if cid not in catalog:
            raise _invalid("resource_class", f"unknown resource class {cid!r}")
        classes = (cid, *catalog.descendants(cid))
    flt = Filters(
        kinds=kinds,
        lat=query.lat,
        lon=query.lon,
        radius_km=query.radius_km,
        direction=_choice("direction", query.direction, DIRECTIONS),
        category=_choice("category", query.category, CATEGORIES),
        resource_classes=classes,
        country=country,
        nace=nace,
        precision=_choice("precision", query.precision, PRECISIONS),
        hazardous=query.hazardous,
    )
    filtered = kinds or flt.lat is not None or flt.flow_only or country or nace
    if not text and not filtered:
        raise _invalid("q", "give search text, or at least one filter (kind, lat/lon, direction, category, ...)")
    if text and not words(text):
        raise _invalid("q", "the search text has no letters or digits")
    return text, flt


# ------------------------------------------------------------------------------------------- query planning
def query_classes(text: str) -> list[str]:
    """Resource classes the catalogue reads in the query, with their descendants (`ash` finds fly ash)."""
    catalog = get_catalog()
    resolution = catalog.resolve(text)
    if not resolution.candidates:
        return []
    best = resolution.candidates[0].weight
    found: list[str] = []
    for candidate in resolution.candidates:
        if candidate.weight < CLASS_KEEP_RATIO * best:
            continue
        for cid in (candidate.class_id, *catalog.descendants(candidate.class_id)):
            if cid not in found:
                found.append(cid)
    return found[:MAX_CLASSES]


def _quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _starts(vocab: list[str], prefix: str) -> bool:
    i = bisect.bisect_left(vocab, prefix)
    return i < len(vocab) and vocab[i].startswith(prefix)


def _known(vocab: list[str], term: str) -> bool:
    i = bisect.bisect_left(vocab, term)
    return i < len(vocab) and vocab[i] == term


def _fuzzy_cutoff(word: str) -> float | None:
    if len(word) < 5:
        return None  # a short word has too many neighbours one edit away
    return 80.0


@dataclass
class Plan:
    groups: list[str]  # FTS5 sub-expressions (SQLite) or tsquery groups (PostgreSQL), all of which should match
    classes: list[str]
    terms: set[str]  # folded words a highlight marks
    prefixes: set[str]  # folded prefixes a highlight marks


class Vocabulary:
    """The index's terms, sorted (prefix look-ups), and by their two folds (`rørdal` under `rordal` and
    `roerdal`, turash.catalog.text), for matching the spellings the tokenizer keeps apart."""

    def __init__(self, terms: list[str]) -> None:
        self.terms = terms
        self.known = frozenset(terms)
        by_fold: dict[str, list[str]] = {}
        for term in terms:
            if "_" in term:  # class ids are matched through the catalogue instead
                continue
            for key in {fold_a(term), fold_b(term)}:
                by_fold.setdefault(key, []).append(term)
        self.by_fold = by_fold
        self.fold_keys = list(by_fold)


_vocabulary_cache: list[Vocabulary] = []


def _vocabulary(session: Session) -> Vocabulary:
    terms = repository.vocabulary(session)
    cached = _vocabulary_cache[0] if _vocabulary_cache else None
    if cached is None or cached.terms is not terms:
        cached = Vocabulary(terms)
        _vocabulary_cache[:] = [cached]
    return cached


def _word_alternatives(vocab: Vocabulary, word: str) -> tuple[list[str], set[str]]:
    """FTS5 alternatives for one query word, and the index terms they stand for (for highlighting)."""
    alternatives: list[str] = []
    terms: set[str] = set()
    if _known(vocab.terms, word) or (len(word) >= 3 and _starts(vocab.terms, word)):
        alternatives.append(_quote(word) + ("*" if len(word) >= 3 else ""))
        terms.add(word)
        return alternatives, terms
    variants = {fold_a(word), fold_b(word)}
    for key in variants:
        for term in vocab.by_fold.get(key, ()):
            terms.add(term)
    cutoff = _fuzzy_cutoff(word)
    if not terms and cutoff is not None:
        for key in variants:
            for found, _score, _i in process.extract(
                key, vocab.fold_keys, scorer=fuzz.ratio, score_cutoff=cutoff, limit=MAX_ALTERNATIVES
            ):
                terms.update(vocab.by_fold[found])
    alternatives.extend(_quote(t) for t in sorted(terms))
    if len(word) >= 6:
        for cut in range(3, len(word) - 2):
            left, right = word[:cut], word[cut:]
            if left in vocab.known and right in vocab.known:
                alternatives.append(_quote(f"{left} {right}"))
                terms.update((left, right))
    return alternatives, terms


def plan_sqlite(session: Session, text: str, classes: list[str]) -> Plan:
    vocab = _vocabulary(session)
    query_words = words(text)[:MAX_QUERY_WORDS]
    groups: list[str] = []
    terms: set[str] = set()
    i = 0
    while i < len(query_words):
        word = query_words[i]
        alternatives, found = _word_alternatives(vocab, word)
        if i + 1 < len(query_words) and word + query_words[i + 1] in vocab.known:
            # `fly ash` typed apart, `flyash` in the index: either form
            glued = word + query_words[i + 1]
            nxt, nxt_found = _word_alternatives(vocab, query_words[i + 1])
            both = f"({' OR '.join(alternatives)}) AND ({' OR '.join(nxt)})" if alternatives and nxt else None
            groups.append(f"({both} OR {_quote(glued)})" if both else _quote(glued))
            terms.update(found | nxt_found | {glued})
            i += 2
            continue
        if alternatives:
            groups.append("(" + " OR ".join(alternatives) + ")")
            terms.update(found)
        i += 1
    prefixes = {w for w in query_words if len(w) >= 3}
    return Plan(groups=groups, classes=classes, terms=terms, prefixes=prefixes)


def _fts_expression(plan: Plan, conjunction: str) -> str | None:
    parts = []
    if plan.groups:
        parts.append("(" + f" {conjunction} ".join(plan.groups) + ")")
    if plan.classes:
        parts.append("classes : (" + " OR ".join(_quote(c) for c in plan.classes) + ")")
    return " OR ".join(parts) if parts else None


def plan_postgres(text: str, classes: list[str]) -> Plan:
    query_words = words(text)[:MAX_QUERY_WORDS]
    # `words` yields letters and digits only, so the tsquery text needs no escaping (and is bound as a parameter).
    groups = [f"{w}:*" for w in query_words]
    return Plan(
        groups=groups, classes=classes, terms=set(query_words), prefixes={w for w in query_words if len(w) >= 3}
    )


def _text_candidates(
    session: Session, principal: Principal | None, text: str, flt: Filters
) -> tuple[list[Candidate], Plan]:
    classes = query_classes(text)
    if session.get_bind().dialect.name == "postgresql":
        plan = plan_postgres(text, classes)
        # all words as written first; trigram closeness only when they find nothing (`fly ash` must not bring
        # `bottom ash` along, which shares half its trigrams); then any word
        stages = [(" & ", False), (" & ", True)] + ([(" | ", True)] if len(plan.groups) > 1 else [])
        found: list[Candidate] = []
        for conjunction, fuzzy in stages:
            tsquery = conjunction.join(plan.groups) if plan.groups else None
            hits = repository.postgres_hits(session, tsquery, fold(text), classes, fuzzy=fuzzy)
            found = repository.candidates(session, principal, flt, hits)
            if found:
                break
        return found, plan
    plan = plan_sqlite(session, text, classes)
    found = []
    for conjunction in ("AND", "OR"):
        expression = _fts_expression(plan, conjunction)
        if expression is None:
            return [], plan
        found = repository.candidates(session, principal, flt, repository.sqlite_hits(expression))
        if found or len(plan.groups) < 2:
            break
    return found, plan


# ----------------------------------------------------------------------------------------------- the search
def _title_coverage(title: str | None, plan: Plan | None) -> float:
    """Share of the title's words the query matched: `fly ash` is a better answer to "fly ash" than `fly ash from
    straw boiler` (FTS5's bm25 normalises by the length of the whole document, not of the title)."""
    if not title or plan is None:
        return 0.0
    title_words = _WORD.findall(title)
    if not title_words:
        return 0.0
    return len(_marks(title, plan)) / len(title_words)


def _score(candidate: Candidate, flt: Filters, plan: Plan | None) -> float:
    relevance = candidate.relevance * (1.0 + _title_coverage(candidate.title, plan))
    if candidate.distance_km is None or flt.lat is None:
        return relevance
    scale = flt.radius_km or DISTANCE_SCALE_KM
    return relevance / (1.0 + candidate.distance_km / scale)


def _facets(found: list[Candidate]) -> dict[str, dict[str, int]]:
    counts: dict[str, Counter[str]] = {"kind": Counter(c.kind for c in found)}
    for name in repository.FACET_COLUMNS:
        counter: Counter[str] = Counter()
        for c in found:
            value = c.facets.get(name)
            if value is not None:
                counter[str(value).lower() if isinstance(value, bool) else str(value)] += 1
        counts[name] = counter
    return {name: dict(counter.most_common()) for name, counter in counts.items()}


def _marks(text: str, plan: Plan | None) -> list[tuple[int, int]]:
    if plan is None:
        return []
    spans = []
    for match in _WORD.finditer(text):
        word = fold(match.group())
        if word in plan.terms or any(word.startswith(p) for p in plan.prefixes):
            spans.append((match.start(), match.end()))
    return spans


def _snippet(body: str, plan: Plan | None) -> tuple[str, list[tuple[int, int]]]:
    body = " ".join(body.split())
    marks = _marks(body, plan)
    start = 0
    if marks and len(body) > SNIPPET_CHARS:
        start = max(0, marks[0][0] - SNIPPET_CHARS // 4)
        space = body.rfind(" ", 0, start)
        start = space + 1 if space >= 0 and start > 0 else start
    snippet = body[start : start + SNIPPET_CHARS]
    shown = [(a - start, b - start) for a, b in marks if a >= start and b <= start + len(snippet)]
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + SNIPPET_CHARS < len(body) else ""
    offset = len(prefix)
    return prefix + snippet + suffix, [(a + offset, b + offset) for a, b in shown]


def search(session: Session, principal: Principal | None, query: SearchQuery) -> SearchResult:
    """Ranked, filtered, faceted results the caller may read. `principal=None` is the system itself (CLI)."""
    text, flt = validate(query)
    plan: Plan | None = None
    if text:
        found, plan = _text_candidates(session, principal, text, flt)
    else:
        found = repository.candidates(session, principal, flt, None)
    scored = sorted(((round(_score(c, flt, plan), 6), c) for c in found), key=lambda sc: (-sc[0], sc[1].kind, sc[1].id))
    if not text and flt.lat is not None:
        # no text: nearest first
        scored.sort(key=lambda sc: (sc[1].distance_km is None, sc[1].distance_km or 0.0, sc[1].kind, sc[1].id))
    page = scored[query.offset : query.offset + query.limit]
    docs = repository.documents(session, [(c.kind, c.id) for _s, c in page])
    names = repository.organization_names(session, [c.organization_id for _s, c in page if c.organization_id])
    items = []
    for score, c in page:
        title, body = docs.get((c.kind, c.id), ("", ""))
        snippet, marks = _snippet(body, plan)
        items.append(
            Hit(
                kind=c.kind,
                id=c.id,
                title=title,
                snippet=snippet,
                highlights={"title": _marks(title, plan), "snippet": marks},
                score=score,
                distance_km=None if c.distance_km is None else round(c.distance_km, 3),
                lat=c.lat,
                lon=c.lon,
                organization_id=c.organization_id,
                organization=names.get(c.organization_id or ""),
                facets={k: v for k, v in c.facets.items() if v is not None},
            )
        )
    return SearchResult(
        items=items,
        total=len(found),
        limit=query.limit,
        offset=query.offset,
        facets=_facets(found),
        classes=plan.classes if plan else [],
    )


def reindex(session: Session) -> int:
    """Rebuild the whole index from the source tables (the caller commits); returns the number of documents."""
    return repository.rebuild(session)
