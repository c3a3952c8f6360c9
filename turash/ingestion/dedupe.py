"""De-duplication (entity resolution) of organisations and sites, with reviewed, reversible merges.

`find_duplicates` proposes pairs that look like one entity; `propose_merges` stores them as `MergeProposal`s; a
person accepts (`apply_merge`), rejects (`reject_merge`) or later undoes (`revert_merge`) one.

Finding pairs without comparing every record with every other (blocking): organisations are compared only when
their normalised names (legal forms such as GmbH, A/S, S.A., Ltd, SpA, AB stripped) share a blocking key (the first
four letters of their first word, or all their words sorted); sites only when, in addition, they lie in the same or
a neighbouring 0.1° grid cell. Keys shared by more than `MAX_BLOCK` records ("stadtwerke") are not used for
blocking: every pair there is unlikely to be a duplicate, and comparing them all would be quadratic. Names with
different numbers in them ("Plant 2" / "Plant 3") are never duplicates. Name measures
and the site score are those of register entity resolution (`turash.registers.resolution`): names via
`names_alike`, sites via `score_pair` (0.6 name, 0.3 distance, 0.1 sector; weights and threshold chosen on the
hand-labelled sample in tests/registers/resolution_sample.csv).

A merge moves every row that references the merged entity (found from the foreign keys of the schema, so a table
added later is moved too) to the kept one. A row that would then break a unique constraint has a twin on the kept
side (the same user's membership, the same-named site): what references it is moved to the twin, recursively, and
the row itself is deleted. The merged entity is then deleted; organisations and sites have no status column to
mark it merged. `undo` keeps every step with full values, so `revert_merge` recreates exactly what was there.
The functions never commit: the caller's unit of work does.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlalchemy.orm import Session

from turash.audit.service import record
from turash.kit.errors import Conflict, NotFound, ValidationFailed
from turash.kit.geo import haversine_km
from turash.models import Base, MergeProposal, Organization, Site
from turash.models.base import utcnow
from turash.registers.resolution import (
    GENERIC_TOKENS,
    SiteRecord,
    comparison_tokens,
    names_alike,
    normalise_name,
    score_pair,
)

Kind = Literal["organization", "site"]
ORGANIZATION_THRESHOLD = 0.9
# Register resolution's threshold (turash/registers/resolution.py, chosen on its labelled sample).
SITE_THRESHOLD = 0.6
SITE_MAX_KM = 5.0  # beyond this two sites are two places, whatever their names
GRID_DEG = 0.1  # ~11 km north-south: a neighbouring cell reaches every site within SITE_MAX_KM
MAX_BLOCK = 200
_TABLES = {"organization": "organizations", "site": "sites"}


@dataclass(frozen=True, slots=True)
class Candidate:
    """Two records that look like one. `keep_id` is the older (by `created_at`, then id: the import too finds an
    organisation by name as the oldest of that name), `merge_id` the one to fold into it."""

    kind: Kind
    keep_id: str
    merge_id: str
    score: float
    reasons: list[str] = field(default_factory=list)
    keep_name: str = ""
    merge_name: str = ""
    distance_km: float | None = None


# -- finding candidates ---------------------------------------------------------------------------------------------


def _name_keys(name: str) -> set[str]:
    words = normalise_name(name).split()
    tokens = comparison_tokens(name)
    keys: set[str] = set()
    if words:
        keys.add("f:" + words[0][:4])
        keys.add("s:" + " ".join(sorted(words)))
    if tokens:
        keys.add("f:" + tokens[0][:4])
    return keys


def _blocked_pairs(keys_of: Sequence[Iterable[str]]) -> set[tuple[int, int]]:
    blocks: dict[str, list[int]] = defaultdict(list)
    for index, keys in enumerate(keys_of):
        for key in keys:
            blocks[key].append(index)
    pairs: set[tuple[int, int]] = set()
    for members in blocks.values():
        if len(members) < 2 or len(members) > MAX_BLOCK:
            continue
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                if a != b:
                    pairs.add((min(a, b), max(a, b)))
    return pairs


_NUMBER = re.compile(r"\d+")


def _numbers_differ(a: str, b: str) -> bool:
    """Names that differ in their numbers name different things ("Plant 2" / "Plant 3", "Brewer 1" / "Brewer 12",
    "Rørdal" / "Rørdal 2"), however alike their letters are."""
    return set(_NUMBER.findall(a)) != set(_NUMBER.findall(b))


def _distinctive(name: str) -> bool:
    """Whether a site's name says which plant it is ("Kalundborg Refinery") rather than what it is ("Site 2",
    "Works", "Werk"): only such names can tell that two organisations' records are one site."""
    return any(not t.isdigit() and t not in GENERIC_TOKENS for t in normalise_name(name).split())


def _organizations_alike(a: str, b: str) -> bool:
    return not _numbers_differ(a, b) and names_alike(a, b) >= ORGANIZATION_THRESHOLD


def _domain(url: str | None) -> str | None:
    if not url:
        return None
    host = re.sub(r"^[a-z]+://", "", url.strip().lower()).split("/")[0].split(":")[0]
    return host.removeprefix("www.") or None


def _organization_pair(a: Any, b: Any) -> tuple[float, list[str]]:
    """Name similarity, nudged by what else the two records say: the same website is strong evidence, a different
    NACE division weak evidence against."""
    na, nb = normalise_name(a.name), normalise_name(b.name)
    reasons: list[str] = []
    if na and na == nb:
        score = 1.0
        reasons.append(f"same name without legal form: {na!r}")
    else:
        alike = names_alike(a.name, b.name)
        strict = fuzz.token_sort_ratio(na, nb) / 100.0
        # One name inside the other ("Aalborg" / "Aalborg Portland") is not as sure as two spellings of one name.
        score = (alike + strict) / 2.0
        reasons.append(f"names alike {alike:.2f} (word order ignored), {strict:.2f} (all words)")
    da, db = _domain(a.website), _domain(b.website)
    if da and db and da == db:
        score = min(1.0, score + 0.1)
        reasons.append(f"same website {da}")
    if a.nace and b.nace:
        if a.nace[:2] == b.nace[:2]:
            reasons.append(f"same NACE division {a.nace[:2]}")
        else:
            score -= 0.1
            reasons.append(f"different NACE divisions {a.nace[:2]} / {b.nace[:2]}")
    if a.country and a.country == b.country:
        reasons.append(f"same country {a.country}")
    return round(max(0.0, score), 4), reasons


def _find_organizations(session: Session, threshold: float, involving: Collection[str] | None) -> list[Candidate]:
    rows = session.execute(
        sa.select(
            Organization.id, Organization.name, Organization.country, Organization.nace, Organization.website
        ).order_by(Organization.created_at, Organization.id)
    ).all()
    found: list[Candidate] = []
    for i, j in sorted(_blocked_pairs([_name_keys(r.name) for r in rows])):
        a, b = rows[i], rows[j]
        if involving is not None and a.id not in involving and b.id not in involving:
            continue
        if _numbers_differ(a.name, b.name):
            continue
        if a.country and b.country and a.country != b.country:
            continue  # one company's subsidiaries in two countries are two organisations
        score, reasons = _organization_pair(a, b)
        if score >= threshold:
            found.append(Candidate("organization", a.id, b.id, score, reasons, a.name, b.name))
    return found


def _site_keys(name: str, organization: str) -> set[str]:
    """A site's blocking keys: those of its name when the name says which plant it is; for a generic name ("Site
    2", "Works") its organisation's all-words key with it, so that only the sites of one organisation, or of two
    spellings of one, are compared (every "Works" of a region would otherwise be compared with every other)."""
    if _distinctive(name):
        return _name_keys(name)
    words = normalise_name(organization).split()
    return {f"{normalise_name(name)}|{' '.join(sorted(words))}"}


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / GRID_DEG), math.floor(lon / GRID_DEG)


def _find_sites(
    session: Session, threshold: float, max_km: float, involving: Collection[str] | None
) -> list[Candidate]:
    rows = session.execute(
        sa.select(
            Site.id,
            Site.name,
            Site.lat,
            Site.lon,
            Site.country,
            Site.nace,
            Site.city,
            Site.organization_id,
            Organization.name.label("organization"),
        )
        .join(Organization, Organization.id == Site.organization_id)
        .order_by(Site.created_at, Site.id)
    ).all()
    reach = max(1, math.ceil(max_km / (GRID_DEG * 111.0)))
    # Each site sits in its own cell's block under each of its name keys and looks into the neighbouring cells.
    blocks: dict[tuple[int, int, str], list[int]] = defaultdict(list)
    keys_of = [_site_keys(r.name, r.organization) for r in rows]
    for index, r in enumerate(rows):
        cy, cx = _cell(r.lat, r.lon)
        for key in keys_of[index]:
            blocks[(cy, cx, key)].append(index)
    pairs: set[tuple[int, int]] = set()
    for index, r in enumerate(rows):
        if involving is not None and r.id not in involving:
            continue  # pairs of two old sites were proposed (or not) before; an involved site looks at all
        cy, cx = _cell(r.lat, r.lon)
        for key in keys_of[index]:
            for dy in range(-reach, reach + 1):
                for dx in range(-reach, reach + 1):
                    members = blocks.get((cy + dy, cx + dx, key), ())
                    if len(members) > MAX_BLOCK:
                        continue
                    if involving is None:
                        pairs.update((index, m) for m in members if m > index)
                    else:
                        pairs.update((min(index, m), max(index, m)) for m in members if m != index)
    found: list[Candidate] = []
    for i, j in sorted(pairs):
        a, b = rows[i], rows[j]
        if involving is not None and a.id not in involving and b.id not in involving:
            continue
        if _numbers_differ(a.name, b.name):
            continue
        if a.country and b.country and a.country != b.country:
            continue
        if a.organization_id != b.organization_id and not (
            (_distinctive(a.name) and _distinctive(b.name)) or _organizations_alike(a.organization, b.organization)
        ):
            continue  # "Site 1" of one company and "Site 1" of its neighbour are two sites
        km = haversine_km(a.lat, a.lon, b.lat, b.lon)
        if km > max_km:
            continue
        pair = score_pair(
            SiteRecord("site", a.id, a.name, a.lat, a.lon, a.country, a.nace, a.city),
            SiteRecord("site", b.id, b.name, b.lat, b.lon, b.country, b.nace, b.city),
        )
        if pair.confidence < threshold:
            continue
        reasons = [f"names alike {pair.name:.2f}", f"{km * 1000:.0f} m apart"]
        if a.nace and b.nace:
            reasons.append("same NACE division" if pair.sector == 1.0 else "different NACE divisions")
        found.append(Candidate("site", a.id, b.id, pair.confidence, reasons, a.name, b.name, round(km, 3)))
    return found


def find_duplicates(
    session: Session,
    kind: Kind = "organization",
    *,
    threshold: float | None = None,
    max_km: float = SITE_MAX_KM,
    involving: Collection[str] | None = None,
) -> list[Candidate]:
    """Pairs of organisations (or sites) that are probably one, best first; with `involving`, only the pairs with
    at least one of those ids (the records an import has just created). Nothing is changed."""
    if kind == "organization":
        found = _find_organizations(session, ORGANIZATION_THRESHOLD if threshold is None else threshold, involving)
    elif kind == "site":
        found = _find_sites(session, SITE_THRESHOLD if threshold is None else threshold, max_km, involving)
    else:
        raise ValidationFailed(f"kind must be 'organization' or 'site', not {kind!r}")
    return sorted(found, key=lambda c: (-c.score, c.keep_id, c.merge_id))


def propose_merges(
    session: Session,
    kind: Kind = "organization",
    *,
    threshold: float | None = None,
    max_km: float = SITE_MAX_KM,
    involving: Collection[str] | None = None,
) -> list[MergeProposal]:
    """Store the candidates not yet proposed as `proposed` MergeProposals and return the new ones. A pair with a
    proposal in any state and either order (proposed, merged, rejected, reverted) is not proposed again: a
    person's decision stands."""
    existing = {
        frozenset(pair)
        for pair in session.execute(
            sa.select(MergeProposal.keep_id, MergeProposal.merge_id).where(MergeProposal.kind == kind)
        ).all()
    }
    created: list[MergeProposal] = []
    for c in find_duplicates(session, kind, threshold=threshold, max_km=max_km, involving=involving):
        if frozenset((c.keep_id, c.merge_id)) in existing:
            continue
        proposal = MergeProposal(
            kind=kind, keep_id=c.keep_id, merge_id=c.merge_id, score=c.score, reasons=list(c.reasons), undo={}
        )
        session.add(proposal)
        existing.add(frozenset((c.keep_id, c.merge_id)))
        created.append(proposal)
    session.flush()
    return created


# -- applying and undoing -------------------------------------------------------------------------------------------


def _table(name: str) -> sa.Table:
    return Base.metadata.tables[name]


def _encode(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    """A row as JSON for `undo`: dates and times in ISO form (decoded by column type on the way back)."""
    return {k: v.isoformat() if isinstance(v, datetime | date) else v for k, v in row.items() if k in table.c}


def _decode(table: sa.Table, values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        column = table.c[key]
        if value is None:
            out[key] = sa.null() if isinstance(column.type, sa.JSON) else None
        elif isinstance(column.type, sa.DateTime):
            out[key] = datetime.fromisoformat(value)
        elif isinstance(column.type, sa.Date):
            out[key] = date.fromisoformat(value)
        else:
            out[key] = value
    return out


def _pk(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    return {c.name: row[c.name] for c in table.primary_key.columns}


def _where(table: sa.Table, values: dict[str, Any]) -> sa.ColumnElement[bool]:
    return sa.and_(*(table.c[k] == v for k, v in values.items()))


def _unique_sets(table: sa.Table, column: str) -> list[tuple[str, ...]]:
    sets = [
        tuple(c.name for c in con.columns)
        for con in table.constraints
        if isinstance(con, sa.UniqueConstraint | sa.PrimaryKeyConstraint) and column in con.columns
    ]
    sets += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique and column in ix.columns]
    return sets


def _references(table: sa.Table) -> list[tuple[sa.Table, str, str]]:
    """(referencing table, its column, referenced column of `table`) for every foreign key to `table`."""
    out = []
    for other in Base.metadata.sorted_tables:
        for fk in other.foreign_keys:
            if fk.column.table is table:
                out.append((other, fk.parent.name, fk.column.name))
    return out


class _Merger:
    """Records every step in `ops` as it makes it: ("update", table, pk, old values, new values) or ("delete",
    table, full row). Undo replays them backwards."""

    def __init__(self, session: Session, now: datetime) -> None:
        self.session = session
        self.now = now
        self.ops: list[dict[str, Any]] = []
        self.moved: dict[str, int] = defaultdict(int)
        self.deleted: dict[str, int] = defaultdict(int)

    def update(self, table: sa.Table, row: dict[str, Any], new: dict[str, Any]) -> None:
        old = {k: row[k] for k in new}
        if "updated_at" in table.c:
            old["updated_at"] = row["updated_at"]
            new = {**new, "updated_at": self.now}
        pk = _pk(table, row)
        self.session.execute(sa.update(table).where(_where(table, pk)).values(**new))
        self.ops.append(
            {"op": "update", "table": table.name, "pk": pk, "old": _encode(table, old), "new": _encode(table, new)}
        )
        self.moved[table.name] += 1

    def delete(self, table: sa.Table, row: dict[str, Any]) -> None:
        self.session.execute(sa.delete(table).where(_where(table, _pk(table, row))))
        self.ops.append({"op": "delete", "table": table.name, "row": _encode(table, row)})
        self.deleted[table.name] += 1

    def absorb(self, table: sa.Table, row: dict[str, Any], twin: dict[str, Any], also: dict[str, Any]) -> None:
        """`row` duplicates `twin`: what references it now references the twin; then it goes."""
        for other, column, target in _references(table):
            if row[target] != twin[target]:
                self.repoint(other, column, row[target], twin[target], also)
        self.delete(table, row)

    def repoint(self, table: sa.Table, column: str, old: Any, new: Any, also: dict[str, Any]) -> None:
        """Every row of `table` whose `column` is `old` gets `new`; with `also` (column → value) set as well where
        the table has that column (a flow moved to a site of another organisation joins that organisation)."""
        rows = [dict(r) for r in self.session.execute(sa.select(table).where(table.c[column] == old)).mappings()]
        if not rows:
            return
        order = [c.name for c in table.primary_key.columns]
        rows.sort(key=lambda r: tuple(str(r[k]) for k in order))
        extra = {k: v for k, v in also.items() if k in table.c and k != column}
        unique = _unique_sets(table, column)
        taken: dict[tuple[str, ...], set[tuple[Any, ...]]] = {}
        for names in unique:
            cols = [table.c[n] for n in names]
            taken[names] = {tuple(r) for r in self.session.execute(sa.select(*cols).where(table.c[column] == new))}
        for row in rows:
            target = {**row, column: new, **extra}
            twin_key: tuple[tuple[str, ...], tuple[Any, ...]] | None = None
            for names in unique:
                key = tuple(target[n] for n in names)
                if None not in key and key in taken[names]:
                    twin_key = (names, key)
                    break
            if twin_key is not None:
                names, key = twin_key
                twin = self.session.execute(sa.select(table).where(_where(table, dict(zip(names, key, strict=True)))))
                self.absorb(table, row, dict(twin.mappings().one()), also)
                continue
            changes = {column: new, **{k: v for k, v in extra.items() if row[k] != v}}
            self.update(table, row, changes)
            for names in unique:
                taken[names].add(tuple(target[n] for n in names))


def _proposal(session: Session, proposal_id: str) -> MergeProposal:
    session.flush()
    proposal = session.get(MergeProposal, proposal_id)
    if proposal is None:
        raise NotFound(f"merge proposal {proposal_id} not found")
    return proposal


def _row(session: Session, table: sa.Table, entity_id: str) -> dict[str, Any] | None:
    found = session.execute(sa.select(table).where(table.c.id == entity_id)).mappings().first()
    return dict(found) if found is not None else None


def _forget(session: Session, tables: set[str], ops: Sequence[dict[str, Any]] = ()) -> None:
    """ORM objects of rows changed behind the session's back: reloaded on next access, or dropped if deleted."""
    gone = {
        (op["table"], tuple(op["row"][c.name] for c in _table(op["table"]).primary_key.columns))
        for op in ops
        if op["op"] == "delete"
    }
    for obj in list(session.identity_map.values()):
        name = getattr(obj, "__tablename__", None)
        if name not in tables:
            continue
        if (name, tuple(sa.inspect(obj).identity or ())) in gone:
            session.expunge(obj)
        else:
            session.expire(obj)


def _organization_of(session: Session, kind: str, entity_id: str) -> str | None:
    if kind == "organization":
        return entity_id
    return session.scalar(sa.select(Site.organization_id).where(Site.id == entity_id))


def apply_merge(session: Session, proposal_id: str, user_id: str | None) -> MergeProposal:
    """Fold the proposal's `merge_id` into its `keep_id`: every referencing row moves (memberships, sites, flows,
    services, meters, API keys, proposals... whatever has a foreign key to it), duplicates on the kept side are
    folded into their twins, and the emptied entity is deleted. `undo` records every step; audited."""
    proposal = _proposal(session, proposal_id)
    if proposal.status not in ("proposed", "reverted"):
        raise Conflict(f"merge proposal {proposal_id} is {proposal.status}; only a proposed merge can be applied")
    table = _table(_TABLES[proposal.kind])
    keep, merge = _row(session, table, proposal.keep_id), _row(session, table, proposal.merge_id)
    if keep is None or merge is None:
        missing = proposal.keep_id if keep is None else proposal.merge_id
        raise Conflict(f"{proposal.kind} {missing} no longer exists (merged or deleted since it was proposed)")
    also = {"organization_id": keep["organization_id"]} if proposal.kind == "site" else {}
    now = utcnow()
    merger = _Merger(session, now)
    with session.begin_nested():
        for other, column, target in _references(table):
            merger.repoint(other, column, merge[target], keep[target], also)
        merger.delete(table, merge)
    _forget(session, {other.name for other, _c, _t in _references(table)} | {table.name, *merger.deleted}, merger.ops)
    proposal.undo = {"ops": merger.ops, "moved": dict(merger.moved), "deleted": dict(merger.deleted)}
    proposal.status, proposal.decided_by, proposal.decided_at = "merged", user_id, now
    record(
        session,
        action="merge",
        entity=table.name,
        entity_id=proposal.keep_id,
        organization_id=_organization_of(session, proposal.kind, proposal.keep_id),
        after={
            "proposal_id": proposal.id,
            "merged_id": proposal.merge_id,
            "merged_name": merge.get("name"),
            "moved": dict(merger.moved),
            "deleted": dict(merger.deleted),
            "by": user_id,
        },
    )
    session.flush()
    return proposal


def revert_merge(session: Session, proposal_id: str, user_id: str | None) -> MergeProposal:
    """Undo an applied merge step by step, last first: deleted rows are recreated with all their values and moved
    rows moved back (with their former `updated_at`). Refuses (Conflict, nothing changed) when a row has changed
    since in a way that makes the undo unsafe. Audited."""
    proposal = _proposal(session, proposal_id)
    if proposal.status != "merged":
        raise Conflict(f"merge proposal {proposal_id} is {proposal.status}; only a merged one can be reverted")
    ops: list[dict[str, Any]] = list((proposal.undo or {}).get("ops", []))
    touched: set[str] = set()
    with session.begin_nested():
        for op in reversed(ops):
            table = _table(op["table"])
            touched.add(table.name)
            if op["op"] == "delete":
                values = _decode(table, op["row"])
                pk = {c.name: op["row"][c.name] for c in table.primary_key.columns}
                if session.execute(sa.select(sa.func.count()).select_from(table).where(_where(table, pk))).scalar():
                    raise Conflict(f"cannot revert: {table.name} {pk} was created again since the merge")
                session.execute(sa.insert(table).values(**values))
                continue
            pk, new = op["pk"], _decode(table, op["new"])
            current = session.execute(sa.select(table).where(_where(table, pk))).mappings().first()
            if current is None:
                raise Conflict(f"cannot revert: {table.name} {pk} was deleted since the merge")
            changed = [k for k in new if k != "updated_at" and current[k] != op["new"][k]]
            if changed:
                raise Conflict(f"cannot revert: {table.name} {pk} changed {', '.join(changed)} since the merge")
            session.execute(sa.update(table).where(_where(table, pk)).values(**_decode(table, op["old"])))
    _forget(session, touched)
    now = utcnow()
    proposal.status, proposal.decided_by, proposal.decided_at = "reverted", user_id, now
    record(
        session,
        action="unmerge",
        entity=_TABLES[proposal.kind],
        entity_id=proposal.keep_id,
        organization_id=_organization_of(session, proposal.kind, proposal.keep_id),
        after={"proposal_id": proposal.id, "restored_id": proposal.merge_id, "steps": len(ops), "by": user_id},
    )
    session.flush()
    return proposal


def reject_merge(session: Session, proposal_id: str, user_id: str | None) -> MergeProposal:
    """Mark a proposal rejected: the pair is not the same, and is not proposed again."""
    proposal = _proposal(session, proposal_id)
    if proposal.status != "proposed":
        raise Conflict(f"merge proposal {proposal_id} is {proposal.status}; only a proposed merge can be rejected")
    proposal.status, proposal.decided_by, proposal.decided_at = "rejected", user_id, utcnow()
    session.flush()
    return proposal
