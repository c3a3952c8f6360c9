"""Search queries: text hits from the engine's index, then candidates with their facet values from the source
tables, scoped by `visible_to` exactly as the list routes of organisations, sites, flows and services are."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy import Engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased

from turash.auth.service import Principal
from turash.kit import spatial
from turash.kit.filters import nace_matches
from turash.kit.geo import bbox_around
from turash.models import Organization, ResourceFlow, SearchDocument, ServiceOffering, Site
from turash.organizations.repository import visible_to
from turash.search import index

# bm25 column weights (title, body, classes): a word in the name counts ten times one in the description.
BM25_WEIGHTS = (10.0, 1.0, 2.0)
TRIGRAM_THRESHOLD = 0.5  # pg_trgm word_similarity a fuzzy PostgreSQL hit needs (the default 0.6 misses `gypsun`)


@dataclass(frozen=True)
class Filters:
    kinds: tuple[str, ...] = ()
    lat: float | None = None
    lon: float | None = None
    radius_km: float | None = None
    direction: str | None = None
    category: str | None = None
    resource_classes: tuple[str, ...] = ()
    country: str | None = None
    nace: str | None = None
    precision: str | None = None
    hazardous: bool | None = None

    @property
    def flow_only(self) -> bool:
        """A filter only flows have (direction, category, class, precision, hazard) leaves only flows."""
        return any(v is not None for v in (self.direction, self.category, self.precision, self.hazardous)) or bool(
            self.resource_classes
        )


@dataclass(frozen=True)
class Candidate:
    kind: str
    id: str
    relevance: float
    organization_id: str | None
    lat: float | None
    lon: float | None
    distance_km: float | None
    facets: dict[str, Any]
    title: str | None = None  # the document's title, when a text query found it


# ------------------------------------------------------------------------------------------------- text hits
def sqlite_hits(match: str) -> sa.CTE:
    """Documents matching an FTS5 expression, relevance = -bm25 (bm25 is better when lower)."""
    w_title, w_body, w_classes = BM25_WEIGHTS
    return (
        sa.text(
            f"SELECT d.kind AS kind, d.ref_id AS ref_id, -bm25(search_fts, {w_title}, {w_body}, {w_classes}) "  # noqa: S608 - constants  # nosec B608
            "AS relevance, d.title AS title FROM search_fts JOIN search_documents d ON d.id = search_fts.rowid "
            "WHERE search_fts MATCH :match"
        )
        .bindparams(match=match)
        .columns(kind=sa.String, ref_id=sa.String, relevance=sa.Float, title=sa.Text)
        .cte("hits")
    )


def postgres_hits(session: Session, tsquery: str | None, text: str, classes: Sequence[str], *, fuzzy: bool) -> sa.CTE:
    """Documents whose tsvector matches, of a class the catalogue read in the query, or (`fuzzy`) whose text is
    trigram-close to the query. Relevance: ts_rank (weighted title A, body B) + word_similarity + a class bonus."""
    session.execute(
        sa.text("SELECT set_config('pg_trgm.word_similarity_threshold', :t, true)"), {"t": str(TRIGRAM_THRESHOLD)}
    )
    tsv, trgm, cls = index.PG_TSVECTOR, index.PG_TRGM_TEXT, index.PG_CLASSES
    ts = "to_tsquery('simple'::regconfig, :tsq)"
    conditions = [f"turash_unaccent(:q) <% {trgm}"] if fuzzy else []
    # word similarity is worth its cost (trigrams of every hit's text) only when it is what found the hits
    rank = [f"word_similarity(turash_unaccent(:q), {trgm})"] if fuzzy else ["0"]
    params: dict[str, Any] = {"q": text} if fuzzy else {}
    if tsquery:
        conditions.append(f"{tsv} @@ {ts}")
        rank.append(f"2 * ts_rank({tsv}, {ts}, 1)")  # 1: divided by 1 + log(length)
        params["tsq"] = tsquery
    if classes:
        conditions.append(f"{cls} && CAST(:classes AS text[])")
        rank.append(f"CASE WHEN {cls} && CAST(:classes AS text[]) THEN 0.5 ELSE 0 END")
        params["classes"] = list(classes)
    return (
        sa.text(
            f"SELECT d.kind AS kind, d.ref_id AS ref_id, {' + '.join(rank)} AS relevance, d.title AS title "  # noqa: S608 - constants; values are bound  # nosec B608
            f"FROM search_documents d WHERE {' OR '.join(conditions) or 'false'}"
        )
        .bindparams(**params)
        .columns(kind=sa.String, ref_id=sa.String, relevance=sa.Float, title=sa.Text)
        .cte("hits")
    )


# --------------------------------------------------------------------------------------------- vocabulary
_SOURCE_TABLES = ("organizations", "sites", "resource_flows", "service_offerings", "search_documents")
_source_writes = 0


@event.listens_for(Engine, "before_cursor_execute")
def _count_source_writes(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
    """Writes to the indexed tables from this process (`INSERT INTO sites`, `UPDATE resource_flows`, ...): the
    vocabulary cache is stale after one. Other tables' writes (meter readings, audit) leave it be."""
    global _source_writes
    head = statement.lstrip()[:60].lower()
    if head.startswith(("insert", "update", "delete")) and any(f" {t}" in head for t in _SOURCE_TABLES):
        _source_writes += 1


_vocab_lock = threading.Lock()
_vocab: dict[str, tuple[tuple[Any, ...], float, list[str]]] = {}
VOCAB_TTL_S = 60.0


def vocabulary(session: Session) -> list[str]:
    """The FTS5 index's terms (SQLite), sorted. Cached per database until this process writes to an indexed table,
    a document is added (another process's import), or a minute passes (another process's edits)."""
    bind = session.get_bind()
    url = str(bind.engine.url if isinstance(bind, sa.Connection) else bind.url)
    newest = session.scalar(sa.select(sa.func.max(SearchDocument.id)))
    key = (_source_writes, newest)
    with _vocab_lock:
        cached = _vocab.get(url)
        if cached and cached[0] == key and time.monotonic() - cached[1] < VOCAB_TTL_S:
            return cached[2]
    terms = list(session.scalars(sa.text("SELECT term FROM search_vocab ORDER BY term")))
    with _vocab_lock:
        _vocab[url] = (key, time.monotonic(), terms)
    return terms


# --------------------------------------------------------------------------------------------- candidates
def _scope(principal: Principal | None, column: Any) -> sa.ColumnElement[bool]:
    return sa.true() if principal is None else visible_to(principal, column)


def _relevance(hits: sa.CTE | None) -> sa.ColumnElement[Any]:
    return hits.c.relevance if hits is not None else sa.literal(1.0, sa.Float)


_NULL_TEXT = sa.cast(sa.null(), sa.String)
_NULL_FLOAT = sa.cast(sa.null(), sa.Float)
_NULL_BOOL = sa.cast(sa.null(), sa.Boolean)


def _title(hits: sa.CTE | None) -> sa.ColumnElement[Any]:
    return hits.c.title if hits is not None else _NULL_TEXT


def _join_hits(query: sa.Select[Any], hits: sa.CTE | None, kind: str, id_column: Any) -> sa.Select[Any]:
    if hits is None:
        return query
    return query.join(hits, sa.and_(hits.c.kind == kind, hits.c.ref_id == id_column))


def _near(session: Session, flt: Filters, table: sa.Table) -> tuple[Any, sa.ColumnElement[bool] | None]:
    if flt.lat is None or flt.lon is None:
        return _NULL_FLOAT, None
    distance = spatial.distance_km(session, table, flt.lat, flt.lon)
    within = None if flt.radius_km is None else spatial.within_km(session, table, flt.lat, flt.lon, flt.radius_km)
    return distance, within


def _flows(session: Session, principal: Principal | None, flt: Filters, hits: sa.CTE | None) -> sa.Select[Any]:
    sites = Site.__table__
    distance, within = _near(session, flt, sites)  # type: ignore[arg-type]
    query = sa.select(
        sa.literal("flow").label("kind"),
        ResourceFlow.id,
        _relevance(hits).label("relevance"),
        ResourceFlow.organization_id,
        Site.lat,
        Site.lon,
        distance.label("distance_km"),
        ResourceFlow.direction,
        ResourceFlow.category,
        ResourceFlow.resource_class,
        Site.country,
        Site.nace,
        ResourceFlow.precision,
        ResourceFlow.hazardous,
        _title(hits).label("title"),
    ).select_from(ResourceFlow)
    query = _join_hits(query, hits, "flow", ResourceFlow.id).join(Site, Site.id == ResourceFlow.site_id)
    query = query.where(_scope(principal, ResourceFlow.organization_id))
    for column, value in (
        (ResourceFlow.direction, flt.direction),
        (ResourceFlow.category, flt.category),
        (ResourceFlow.precision, flt.precision),
        (ResourceFlow.hazardous, flt.hazardous),
        (Site.country, flt.country),
    ):
        if value is not None:
            query = query.where(column == value)
    if flt.resource_classes:
        query = query.where(ResourceFlow.resource_class.in_(flt.resource_classes))
    if flt.nace:
        query = query.where(nace_matches(Site.nace, flt.nace))
    if within is not None:
        query = query.where(within)
    return query


def _sites(session: Session, principal: Principal | None, flt: Filters, hits: sa.CTE | None) -> sa.Select[Any]:
    distance, within = _near(session, flt, Site.__table__)  # type: ignore[arg-type]
    query = sa.select(
        sa.literal("site").label("kind"),
        Site.id,
        _relevance(hits).label("relevance"),
        Site.organization_id,
        Site.lat,
        Site.lon,
        distance.label("distance_km"),
        _NULL_TEXT.label("direction"),
        _NULL_TEXT.label("category"),
        _NULL_TEXT.label("resource_class"),
        Site.country,
        Site.nace,
        _NULL_TEXT.label("precision"),
        _NULL_BOOL.label("hazardous"),
        _title(hits).label("title"),
    ).select_from(Site)
    query = _join_hits(query, hits, "site", Site.id).where(_scope(principal, Site.organization_id))
    if flt.country is not None:
        query = query.where(Site.country == flt.country)
    if flt.nace:
        query = query.where(nace_matches(Site.nace, flt.nace))
    if within is not None:
        query = query.where(within)
    return query


def _organizations(session: Session, principal: Principal | None, flt: Filters, hits: sa.CTE | None) -> sa.Select[Any]:
    """Organisations have no position of their own: near a point means one of their sites is; the distance is the
    nearest site's."""
    distance: Any = _NULL_FLOAT
    if flt.lat is not None and flt.lon is not None:
        near = aliased(Site, name="near_site")
        distance = (
            sa.select(sa.func.min(sa.func.turash_distance_km(near.lat, near.lon, flt.lat, flt.lon)))
            .where(near.organization_id == Organization.id)
            .scalar_subquery()
        )
    query = sa.select(
        sa.literal("organization").label("kind"),
        Organization.id,
        _relevance(hits).label("relevance"),
        Organization.id.label("organization_id"),
        _NULL_FLOAT.label("lat"),
        _NULL_FLOAT.label("lon"),
        distance.label("distance_km"),
        _NULL_TEXT.label("direction"),
        _NULL_TEXT.label("category"),
        _NULL_TEXT.label("resource_class"),
        Organization.country,
        Organization.nace,
        _NULL_TEXT.label("precision"),
        _NULL_BOOL.label("hazardous"),
        _title(hits).label("title"),
    ).select_from(Organization)
    query = _join_hits(query, hits, "organization", Organization.id).where(_scope(principal, Organization.id))
    if flt.country is not None:
        query = query.where(Organization.country == flt.country)
    if flt.nace:
        query = query.where(nace_matches(Organization.nace, flt.nace))
    if flt.radius_km is not None and flt.lat is not None and flt.lon is not None:
        box = bbox_around(flt.lat, flt.lon, flt.radius_km)
        near_site = aliased(Site, name="radius_site")
        query = query.where(
            sa.exists().where(
                near_site.organization_id == Organization.id,
                near_site.lat.between(box.min_lat, box.max_lat),
                near_site.lon.between(box.min_lon, box.max_lon),
                sa.func.turash_distance_km(near_site.lat, near_site.lon, flt.lat, flt.lon) <= flt.radius_km,
            )
        )
    return query


def _services(session: Session, principal: Principal | None, flt: Filters, hits: sa.CTE | None) -> sa.Select[Any]:
    """A service is placed at the centre of the area it serves; one without a centre has no distance."""
    distance: Any = _NULL_FLOAT
    lat, lon = ServiceOffering.center_lat, ServiceOffering.center_lon
    if flt.lat is not None and flt.lon is not None:
        distance = sa.func.turash_distance_km(lat, lon, flt.lat, flt.lon)
    query = sa.select(
        sa.literal("service").label("kind"),
        ServiceOffering.id,
        _relevance(hits).label("relevance"),
        ServiceOffering.organization_id,
        lat.label("lat"),
        lon.label("lon"),
        distance.label("distance_km"),
        _NULL_TEXT.label("direction"),
        _NULL_TEXT.label("category"),
        _NULL_TEXT.label("resource_class"),
        _NULL_TEXT.label("country"),
        _NULL_TEXT.label("nace"),
        _NULL_TEXT.label("precision"),
        _NULL_BOOL.label("hazardous"),
        _title(hits).label("title"),
    ).select_from(ServiceOffering)
    query = _join_hits(query, hits, "service", ServiceOffering.id)
    query = query.where(_scope(principal, ServiceOffering.organization_id))
    if flt.country is not None:
        if session.get_bind().dialect.name == "postgresql":
            served = sa.cast(ServiceOffering.countries, JSONB).contains([flt.country])
        else:
            served = sa.exists(
                sa.select(1)
                .select_from(sa.func.json_each(ServiceOffering.countries).table_valued("value"))
                .where(sa.literal_column("value") == flt.country)
            )
        query = query.where(served)
    if flt.radius_km is not None and flt.lat is not None and flt.lon is not None:
        box = bbox_around(flt.lat, flt.lon, flt.radius_km)
        query = query.where(
            lat.between(box.min_lat, box.max_lat),
            lon.between(box.min_lon, box.max_lon),
            sa.func.turash_distance_km(lat, lon, flt.lat, flt.lon) <= flt.radius_km,
        )
    return query


_KIND_QUERIES = {"organization": _organizations, "site": _sites, "flow": _flows, "service": _services}
FACET_COLUMNS = ("direction", "category", "resource_class", "country", "nace", "precision", "hazardous")


def candidates(session: Session, principal: Principal | None, flt: Filters, hits: sa.CTE | None) -> list[Candidate]:
    """Every record of the requested kinds that the text matched (all of them without text), passes the filters and
    the caller may read."""
    kinds = flt.kinds or tuple(_KIND_QUERIES)
    if flt.flow_only:
        kinds = tuple(k for k in kinds if k == "flow")
    if flt.nace:
        kinds = tuple(k for k in kinds if k != "service")  # services have no NACE code
    selects = [_KIND_QUERIES[k](session, principal, flt, hits) for k in kinds]
    if not selects:
        return []
    query = selects[0] if len(selects) == 1 else sa.union_all(*selects)
    rows = session.execute(query)
    found = []
    for row in rows:
        kind, ident, relevance, org_id, lat, lon, distance = row[:7]
        facets = dict(zip(FACET_COLUMNS, row[7:-1], strict=True))
        if facets["hazardous"] is not None:
            facets["hazardous"] = bool(facets["hazardous"])
        found.append(
            Candidate(
                kind=kind,
                id=ident,
                relevance=float(relevance),
                organization_id=org_id,
                lat=lat,
                lon=lon,
                distance_km=None if distance is None else float(distance),
                facets=facets,
                title=row[-1],
            )
        )
    return found


# ----------------------------------------------------------------------------------------------- details
def documents(session: Session, refs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], tuple[str, str]]:
    """(kind, id) → (title, body) of the indexed documents."""
    found: dict[tuple[str, str], tuple[str, str]] = {}
    by_kind: dict[str, list[str]] = {}
    for kind, ident in refs:
        by_kind.setdefault(kind, []).append(ident)
    for kind, ids in by_kind.items():
        rows = session.execute(
            sa.select(SearchDocument.ref_id, SearchDocument.title, SearchDocument.body).where(
                SearchDocument.kind == kind, SearchDocument.ref_id.in_(ids)
            )
        )
        for ref_id, title, body in rows:
            found[(kind, ref_id)] = (title, body)
    return found


def organization_names(session: Session, ids: Sequence[str]) -> dict[str, str]:
    if not ids:
        return {}
    rows = session.execute(sa.select(Organization.id, Organization.name).where(Organization.id.in_(set(ids))))
    return {ident: name for ident, name in rows}


def rebuild(session: Session) -> int:
    return index.rebuild(session.connection())
