"""File imports (`turash import flows|sites`), as the contract (contract/cli.md) specifies.

Every row ends as imported, skipped (already present: same organisation, site, direction, resource and content
fingerprint) or quarantined with its row number, column and reason, and the run's counts add up. Good rows go
in even when others fail. Organisations and sites are found by name (case- and space-insensitive) or created.
Rows are processed in batches; flows are written with one multi-row INSERT per batch, and `checkpoint()` is called
after each batch so a long import can commit as it goes (a re-run skips what already went in).
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.orm import Session

from turash.audit.service import record
from turash.flows import fields
from turash.flows.repository import existing_fingerprints
from turash.flows.service import fingerprint, prepare
from turash.ingestion.dedupe import propose_merges
from turash.ingestion.enrich import PLACE_COLUMNS, enrich_record
from turash.ingestion.formats import read_file
from turash.ingestion.mapping import apply_mapping
from turash.ingestion.quality import QualitySummary, record_quality
from turash.ingestion.reader import DelimitedFile, FileUnreadable
from turash.kit import tracing
from turash.kit.bulk import RowEncoder, insert_encoded, insert_rows, row_encoder
from turash.kit.geo import haversine_km
from turash.kit.metrics import IMPORT_SECONDS, IMPORTED_ROWS
from turash.models import ImportRun, Membership, Organization, QuarantinedRow, ResourceFlow, Site
from turash.models.base import name_key, new_id, new_ids, utcnow
from turash.search import index as _search_index  # noqa: F401 - indexes our bulk inserts in one statement
from turash.sectors.register import SiteToInfer, drop_superseded, infer_sites

log = structlog.get_logger(__name__)

BATCH_ROWS = 20000
ENRICHMENT_NOTES = 200  # enrichment notes kept in a run's report (the counts cover every record)
# Flows are written 5,000 at a time: the writing of one batch overlaps the parsing of the next (bench_import.py:
# 5,000 beat 10,000 and 20,000 at 20k rows and matched them at 100k).
FLOW_BATCH_ROWS = 5000
_FLOW_ROW = dict.fromkeys(c.key for c in ResourceFlow.__table__.columns)  # every column, so inserts take the fast path
SITE_EXTRA = {
    "employees": fields.bounded(0, 10_000_000, "employees"),
    "description": fields.text(5000),
    "address": fields.text(500),
    "city": fields.text(200),
}


@dataclass
class RowProblem:
    row: int | None
    column: str | None
    reason: str


@dataclass
class ImportReport:
    run_id: str
    file: str
    kind: str
    rows_total: int = 0
    imported: int = 0
    skipped: int = 0
    quarantined: int = 0
    organizations_created: int = 0
    sites_created: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    enriched: dict[str, int] = field(default_factory=dict)  # field → records the enrichment stage filled it in
    enrichments: list[RowProblem] = field(default_factory=list)  # the first ENRICHMENT_NOTES of its notes
    quality: QualitySummary = field(default_factory=QualitySummary)
    merges_proposed: int = 0
    started: float = field(default_factory=time.perf_counter, repr=False)  # for the duration metric
    span: Any = field(default=None, repr=False)  # the run's trace span (kit/tracing.py), None when off

    def enrichment(self, line: int, notes: list[tuple[str, str]]) -> None:
        for kind, text in notes:
            if " not set" not in text:
                self.enriched[kind] = self.enriched.get(kind, 0) + 1
            if len(self.enrichments) < ENRICHMENT_NOTES:
                self.enrichments.append(RowProblem(line, kind, text))

    @property
    def exit_code(self) -> int:
        if self.error is not None:
            return 2
        return 1 if self.quarantined else 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "file": self.file,
            "kind": self.kind,
            "rows_total": self.rows_total,
            "imported": self.imported,
            "skipped": self.skipped,
            "quarantined": self.quarantined,
            "organizations_created": self.organizations_created,
            "sites_created": self.sites_created,
            "merges_proposed": self.merges_proposed,
            "error": self.error,
            "notes": self.notes,
            "problems": [p.__dict__ for p in self.problems],
            "warnings": [w.__dict__ for w in self.warnings],
            "enriched": self.enriched,
            "enrichments": [e.__dict__ for e in self.enrichments],
            "quality": self.quality.as_dict(),
        }


@dataclass
class _Row:
    """A valid record waiting for its organisation and site ids."""

    line: int
    values: dict[str, Any]
    attributes: dict[str, Any]
    org_name: str
    site_name: str
    org_key: str = ""
    site_key: str = ""
    org_id: str = ""
    site_id: str = ""
    site_created: bool = False
    encoded: list[Any] | None = None  # flows: the INSERT tuple, with its id, organisation and site still to fill in


def _chunks(items: list[Any], size: int = 900) -> Iterator[list[Any]]:  # under SQLite's bound-parameter limit
    for start in range(0, len(items), size):
        yield items[start : start + size]


class _Places:
    """Finds or creates organisations and sites by name for a batch of rows with a few set-based queries, and
    remembers them for the rest of the run. New ones are written with multi-row INSERTs; the run's audit entry
    counts them."""

    def __init__(self, session: Session, report: ImportReport, owner_id: str | None, user_id: str | None) -> None:
        self.session = session
        self.report = report
        self.owner_id = owner_id
        self.user_id = user_id
        self.keys: dict[str, str] = {}  # name → name key
        self.orgs: dict[str, str] = {}  # name key → organisation id
        self.sites: dict[tuple[str, str], tuple[str, float, float]] = {}  # (org id, name key) → (id, lat, lon)
        self.created: list[str] = []  # ids of the organisations and sites this run created (for the dedupe stage)

    def key(self, name: str) -> str:
        key = self.keys.get(name)
        if key is None:
            key = self.keys[name] = name_key(name)
        return key

    def resolve(self, rows: list[_Row]) -> None:
        now = utcnow()
        for row in rows:
            row.org_key, row.site_key = self.key(row.org_name), self.key(row.site_name)
        wanted = {r.org_key: r for r in rows if r.org_key not in self.orgs}
        for chunk in _chunks(list(wanted)):
            found = self.session.execute(
                sa.select(Organization.name_key, Organization.id)
                .where(Organization.name_key.in_(chunk))
                .order_by(Organization.created_at.desc())
            )
            self.orgs.update({key: org_id for key, org_id in found})  # oldest of a name wins (written last)
        new_orgs: list[dict[str, Any]] = []
        for key, row in wanted.items():
            if key not in self.orgs:
                self.orgs[key] = new_id()
                new_orgs.append(
                    {
                        "id": self.orgs[key],
                        "name": row.org_name,
                        "name_key": key,
                        "kind": "sme",
                        "nace": row.values.get("nace"),
                        "country": row.values.get("country"),
                        "description": None,
                        "website": None,
                        "source": "import",
                        "source_ref": None,
                        "attributes": {},
                        "created_by": self.user_id,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
        if new_orgs:
            insert_rows(self.session, Organization.__table__, new_orgs)
            self.created.extend(o["id"] for o in new_orgs)
            if self.owner_id:
                insert_rows(
                    self.session,
                    Membership.__table__,
                    [
                        {
                            "id": new_id(),
                            "organization_id": o["id"],
                            "user_id": self.owner_id,
                            "role": "owner",
                            "created_at": now,
                            "updated_at": now,
                        }
                        for o in new_orgs
                    ],
                )
            self.report.organizations_created += len(new_orgs)
        for row in rows:
            row.org_id = self.orgs[row.org_key]
        wanted_sites = {(r.org_id, r.site_key): r for r in rows if (r.org_id, r.site_key) not in self.sites}
        for chunk in _chunks(list(wanted_sites), 400):
            org_ids, keys = {o for o, _ in chunk}, {k for _, k in chunk}
            for org_id, key, site_id, lat, lon in self.session.execute(
                sa.select(Site.organization_id, Site.name_key, Site.id, Site.lat, Site.lon).where(
                    Site.organization_id.in_(org_ids), Site.name_key.in_(keys)
                )
            ):
                self.sites[(org_id, key)] = (site_id, lat, lon)
        new_sites: list[dict[str, Any]] = []
        for (org_id, key), row in wanted_sites.items():
            if (org_id, key) in self.sites:
                continue
            v = row.values
            self.sites[(org_id, key)] = (new_id(), v["lat"], v["lon"])
            row.site_created = True
            new_sites.append(
                {
                    "id": self.sites[(org_id, key)][0],
                    "organization_id": org_id,
                    "name": row.site_name,
                    "name_key": key,
                    "lat": v["lat"],
                    "lon": v["lon"],
                    "country": v.get("country"),
                    "nace": v.get("nace"),
                    "address": v.get("address"),
                    "city": v.get("city"),
                    "employees": v.get("employees"),
                    "description": v.get("description"),
                    "permits": {},
                    "source": "import",
                    "source_ref": None,
                    "attributes": (
                        row.attributes
                        if self.report.kind == "sites"
                        else {"located_by": v["located_by"]}
                        if v.get("located_by")
                        else {}
                    ),
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if new_sites:
            insert_rows(self.session, Site.__table__, new_sites)
            self.created.extend(site["id"] for site in new_sites)
            self.report.sites_created += len(new_sites)
        for row in rows:
            site_id, lat, lon = self.sites[(row.org_id, row.site_key)]
            row.site_id = site_id
            if lat == row.values["lat"] and lon == row.values["lon"]:
                continue
            moved = haversine_km(lat, lon, row.values["lat"], row.values["lon"])
            if moved > 1.0:
                self.report.warnings.append(
                    RowProblem(
                        row.line,
                        "lat",
                        f"site {row.site_name!r} is stored at {lat:.5f}, {lon:.5f}; this row puts "
                        f"it {moved:.1f} km away - kept the stored location",
                    )
                )


_MEMO_LIMIT = 2048  # distinct cells remembered per column: units, directions, countries repeat; quantities do not
_BLANK = (True, None)


@dataclass(frozen=True)
class _RowParser:
    """Parses the cells of one file's records, with the column → parser plan worked out once from its header.

    Every parser is a pure function of its cell, and most columns repeat a few values (`t/yr`, `supply`, `DK`,
    `estimated`), so each column remembers the outcome (value or error) of its first distinct cells."""

    header: list[str]
    plan: list[tuple[int, str, Callable[[Any], Any], dict[str, tuple[bool, Any]]]]  # (index, column, parser, memo)
    free: list[tuple[int, str]]  # (cell index, column) of unknown columns, kept as attributes
    required: tuple[str, ...]

    @classmethod
    def for_file(
        cls, file: DelimitedFile, parsers: dict[str, Callable[[Any], Any]], required: tuple[str, ...]
    ) -> _RowParser:
        plan: list[tuple[int, str, Callable[[Any], Any], dict[str, tuple[bool, Any]]]] = [
            (i, h, parsers[h], {}) for i, h in enumerate(file.header) if h in parsers
        ]
        free = [(i, h) for i, h in enumerate(file.header) if h and h not in parsers]
        return cls(file.header, plan, free, required)

    @staticmethod
    def _parse_cell(cell: str, parser: Callable[[Any], Any]) -> tuple[bool, Any]:
        """(True, value) — value None for a blank cell — or (False, the problem)."""
        text = cell.strip()
        if not text:
            return _BLANK
        try:
            return True, parser(text)
        except ValueError as exc:
            return False, str(exc)

    def raw(self, cells: list[str]) -> dict[str, Any]:
        raw: dict[str, Any] = dict(zip(self.header, cells, strict=False))
        if len(cells) > len(self.header):
            raw["_extra_cells"] = cells[len(self.header) :]
        return raw

    def parse(self, cells: list[str]) -> tuple[dict[str, Any], dict[str, Any], list[tuple[str, str]]]:
        """(values, free attributes, [(column, problem)]). Trailing empty cells may be missing (spreadsheets drop
        them); extra non-empty cells are an error, not silently dropped data."""
        width = len(cells)
        if width > len(self.header) and any(c.strip() for c in cells[len(self.header) :]):
            return {}, {}, [("", f"row has {width} cells but the header has {len(self.header)} columns")]
        values: dict[str, Any] = {}
        errors: list[tuple[str, str]] = []
        for index, column, parser, memo in self.plan:
            if index >= width:
                continue
            cell = cells[index]
            outcome = memo.get(cell)
            if outcome is None:
                outcome = self._parse_cell(cell, parser)
                if len(memo) < _MEMO_LIMIT:
                    memo[cell] = outcome
            ok, result = outcome
            if not ok:
                errors.append((column, result))
            elif result is not None:
                values[column] = result
        attributes = {column: cell for index, column in self.free if index < width and (cell := cells[index].strip())}
        for column in self.required:
            if values.get(column) in (None, "") and not any(c == column for c, _ in errors):
                errors.append((column, "required value is missing"))
        return values, attributes, errors


def _quarantine(
    run: ImportRun, report: ImportReport, line: int | None, errors: list[tuple[str, str]], raw: dict[str, Any]
) -> QuarantinedRow:
    reason = "; ".join(f"{c}: {m}" for c, m in errors)
    row = QuarantinedRow(
        id=new_id(),
        import_run_id=run.id,
        organization_id=run.organization_id,
        file_name=run.file_name,
        row_number=line,
        column=errors[0][0] if errors else None,
        reason=reason,
        errors=[{"column": c, "message": m} for c, m in errors],
        raw=raw,
    )
    report.quarantined += 1
    for column, message in errors:
        report.problems.append(RowProblem(line, column, message))
    return row


def _start(session: Session, kind: str, file_name: str, user_id: str | None) -> tuple[ImportRun, ImportReport]:
    run = ImportRun(id=new_id(), kind=kind, file_name=file_name, status="running", created_by=user_id)
    session.add(run)
    session.flush()
    span = tracing.begin(f"import.{kind}", run_id=run.id, file=file_name)
    return run, ImportReport(run_id=run.id, file=file_name, kind=kind, span=span)


def _read(
    session: Session,
    run: ImportRun,
    path: Path | str | DelimitedFile,
    data: bytes | None,
    name: str,
    mapping: dict[str, str] | None = None,
) -> DelimitedFile:
    """Any supported format (ingestion/formats.py), or records already read (`formats.records_file`), with the
    foreign headers renamed by `mapping` when given (ingestion/mapping.py)."""
    file = path if isinstance(path, DelimitedFile) else read_file(path, data, name, kind=run.kind)
    if mapping:
        file = apply_mapping(file, mapping, kind=run.kind)
    run.file_sha256 = file.sha256
    # Rows quarantined by earlier imports of this very file are superseded: this run re-checks them all and
    # quarantines again whatever is still wrong, so re-importing a file does not pile up duplicates.
    session.execute(
        sa.update(QuarantinedRow)
        .where(
            QuarantinedRow.resolved_at.is_(None),
            QuarantinedRow.import_run_id.in_(
                sa.select(ImportRun.id).where(ImportRun.file_sha256 == file.sha256, ImportRun.id != run.id)
            ),
        )
        .values(resolved_at=utcnow())
    )
    return file


def _fail(session: Session, run: ImportRun, report: ImportReport, exc: FileUnreadable) -> ImportReport:
    report.error = exc.message
    run.status, run.error, run.finished_at = "failed", exc.message, utcnow()
    session.add(
        QuarantinedRow(
            id=new_id(),
            import_run_id=run.id,
            file_name=run.file_name,
            row_number=None,
            column=None,
            reason=f"file could not be read: {exc.message}",
            errors=[],
            raw={},
        )
    )
    IMPORTED_ROWS.labels(run.kind, "unreadable").inc()
    tracing.end(report.span, error=exc.message)
    return report


def _dedupe(session: Session, report: ImportReport, places: _Places) -> None:
    """The last stage: the organisations and sites this run created that look like ones already there (another
    spelling, a legal form more or less, a site a few hundred metres off) are proposed for merging
    (ingestion/dedupe.py), for a person to accept or reject; nothing is merged without one."""
    if not places.created:
        return
    created = set(places.created)
    for kind in ("organization", "site"):
        report.merges_proposed += len(propose_merges(session, kind, involving=created))


def _missing_columns(header: list[str], required: tuple[str, ...]) -> list[str]:
    """Required columns the file lacks; lat/lon may be left out when a place column (city, address, location) is
    there to geocode (ingestion/enrich.py)."""
    placed = any(c in header for c in PLACE_COLUMNS)
    return [c for c in required if c not in header and not (placed and c in ("lat", "lon"))]


def _locate(
    values: dict[str, Any], attributes: dict[str, Any], *, flows: bool
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """The enrichment stage for one record: (notes, problems). A record still without coordinates afterwards is a
    problem: the place it names is not in the offline gazetteer."""
    notes = enrich_record(values, attributes, flows=flows)
    if values.get("lat") is None or values.get("lon") is None:
        named = next((f"{c} {attributes[c]!r}" for c in PLACE_COLUMNS if attributes.get(c)), None)
        reason = "required value is missing" + (
            f"; {named} is not a place the offline gazetteer knows (GeoNames cities over 15,000 inhabitants)"
            if named
            else ""
        )
        return notes, [("lat" if values.get("lat") is None else "lon", reason)]
    for kind, text in notes:
        if kind == "coordinates":
            values["located_by"] = text
    return notes, []


def _finish(session: Session, run: ImportRun, report: ImportReport) -> ImportReport:
    run.rows_total, run.rows_imported = report.rows_total, report.imported
    run.rows_skipped, run.rows_quarantined = report.skipped, report.quarantined
    run.status, run.finished_at = "done", utcnow()
    record(
        session,
        action="import",
        entity="import_runs",
        entity_id=run.id,
        after={
            "file": run.file_name,
            "kind": run.kind,
            "rows_total": report.rows_total,
            "imported": report.imported,
            "skipped": report.skipped,
            "quarantined": report.quarantined,
            "merges_proposed": report.merges_proposed,
        },
    )
    for outcome in ("imported", "skipped", "quarantined"):
        IMPORTED_ROWS.labels(run.kind, outcome).inc(getattr(report, outcome))
    IMPORT_SECONDS.labels(run.kind).observe(time.perf_counter() - report.started)
    tracing.end(
        report.span,
        rows_total=report.rows_total,
        imported=report.imported,
        quarantined=report.quarantined,
        merges_proposed=report.merges_proposed,
    )
    return report


def _for_organization(session: Session, file: DelimitedFile, organization_id: str) -> DelimitedFile:
    """The file's rows as rows of this organisation only (an import through the API is scoped to one): an empty
    `organization` cell takes the organisation's name; a row naming another organisation is quarantined with the
    reason, so a member can never add flows to an organisation that is not theirs."""
    from turash.ingestion.formats import RecordFile

    org = session.get(Organization, organization_id)
    if org is None:
        raise FileUnreadable(f"organisation {organization_id} not found")
    header = list(file.header)
    raw_header = list(file.raw_header)
    if "organization" not in header:
        header.append("organization")
        raw_header.append("organization")
    at = header.index("organization")
    rows: list[tuple[int, list[str] | None, str | None]] = []
    for line, cells, problem in file.rows():
        if cells is not None and problem is None:
            cells = [*cells, *([""] * (len(header) - len(cells)))]
            named = cells[at].strip()
            if not named:
                cells[at] = org.name
            elif name_key(named) != org.name_key:
                cells, problem = (
                    None,
                    (
                        f"organization: the row names {named!r}, but this import is for {org.name!r}; "
                        "leave the column empty or import it into that organisation"
                    ),
                )
        rows.append((line, cells, problem))
    return RecordFile(
        name=file.name,
        sha256=file.sha256,
        encoding=file.encoding,
        delimiter=file.delimiter,
        header=header,
        raw_header=raw_header,
        text="",
        line_estimate=len(rows),
        notes=list(file.notes),
        records=rows,
    )


def import_flows(
    session: Session,
    path: Path | str | DelimitedFile,
    *,
    owner_id: str | None = None,
    user_id: str | None = None,
    data: bytes | None = None,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    parallel: bool | None = None,
    mapping: dict[str, str] | None = None,
    organization_id: str | None = None,
) -> ImportReport:
    """`organization_id`: every row is a row of that organisation (an API import; see `_for_organization`).
    `parallel`: parse in a second process while this one writes (None: when the file is large enough and the
    machine has a second core; the result is the same either way)."""
    display = name or (path.name if isinstance(path, DelimitedFile) else Path(path).name)
    run, report = _start(session, "flows", display, user_id)
    run.organization_id = organization_id
    try:
        file = _read(session, run, path, data, display, mapping)
        if organization_id is not None:
            file = _for_organization(session, file, organization_id)
        missing = _missing_columns(file.header, (*fields.REQUIRED_SITE, *fields.REQUIRED_FLOW))
        if missing:
            raise FileUnreadable(
                f"{display} lacks required column(s): {', '.join(missing)} "
                f"(found: {', '.join(h for h in file.header if h)})",
                details={"missing": missing},
            )
    except FileUnreadable as exc:
        return _fail(session, run, report, exc)
    report.notes.extend(file.notes)
    row_parser = _RowParser.for_file(
        file, {**fields.SITE_COLUMNS, **fields.FLOW_COLUMNS}, ("organization", *fields.REQUIRED_FLOW)
    )
    places = _Places(session, report, owner_id, user_id)
    if organization_id is not None:  # the rows name it (see _for_organization); never another of the same name
        forced = session.get(Organization, organization_id)
        assert forced is not None
        places.orgs[forced.name_key] = organization_id
    seen: dict[str, int] = {}
    encoder = row_encoder(ResourceFlow.__table__, session.get_bind().dialect.name)
    at = encoder.index
    now = utcnow()
    template = {
        **_FLOW_ROW,
        "inferred": False,
        "source": "import",
        "import_run_id": run.id,
        "created_by": user_id,
        "created_at": now,
        "updated_at": now,
    }
    stage = _FlowStage(file, row_parser, encoder, template)

    uncommitted = 0

    def write(rows: list[_Row], quarantine: list[QuarantinedRow], rows_done: int, commit: bool = True) -> None:
        nonlocal uncommitted
        places.resolve(rows)
        prints = [r.encoded[at["fingerprint"]] for r in rows if r.encoded is not None]
        present = existing_fingerprints(session, prints) if prints else set()
        fresh = []
        declared: dict[str, list[tuple[str, str | None]]] = {}
        for r, flow_id in zip(rows, new_ids(len(rows)), strict=True):
            encoded = r.encoded
            assert encoded is not None
            if encoded[at["fingerprint"]] in present:
                report.skipped += 1
                continue
            encoded[at["id"]], encoded[at["organization_id"]], encoded[at["site_id"]] = flow_id, r.org_id, r.site_id
            fresh.append(tuple(encoded))
            declared.setdefault(r.site_id, []).append((encoded[at["direction"]], encoded[at["resource_class"]]))
        report.imported += insert_encoded(session, ResourceFlow.__table__, fresh)
        drop_superseded(session, declared)  # a company's own flows replace what was inferred for its site
        session.add_all(quarantine)
        session.flush()
        uncommitted += len(rows)
        if checkpoint is not None and (commit or uncommitted >= FLOW_BATCH_ROWS):
            checkpoint()
            uncommitted = 0
        if progress is not None:
            progress(rows_done, file.line_estimate)

    pending: list[_Row] = []
    quarantine: list[QuarantinedRow] = []

    def hand_over(commit: bool = True) -> None:
        nonlocal pending, quarantine
        write(pending, quarantine, report.rows_total, commit)
        pending, quarantine = [], []

    if parallel is None:
        parallel = _worth_parallel(file)
    with _collector_paused(), session.no_autoflush:
        records = _parsed_in_parallel(stage) if parallel else stage.records()
        for outcome in records:
            if outcome is _IDLE:
                # the parser has nothing ready: write what it has delivered rather than wait (committed with
                # the next full batch), so that little is left to write when it finishes
                if len(pending) >= _IDLE_WRITE_ROWS:
                    hand_over(commit=False)
                continue
            report.rows_total += 1
            line = outcome[1]
            if outcome[0] is _BAD:
                quarantine.append(_quarantine(run, report, line, outcome[2], outcome[3]))
                continue
            site, encoded = outcome[2], outcome[3]
            if "notes" in site:
                report.enrichment(line, site.pop("notes"))
            quality = site.pop("quality")
            print_ = encoded[at["fingerprint"]]
            if print_ in seen:
                report.skipped += 1
                report.warnings.append(RowProblem(line, None, f"same flow as row {seen[print_]}; not imported twice"))
                continue
            seen[print_] = line
            report.quality.add(quality.score, quality.parts, quality.missing)
            org_name = site["organization"]
            pending.append(_Row(line, site, {}, org_name, site.get("site") or org_name, encoded=encoded))
            if len(pending) >= FLOW_BATCH_ROWS:
                hand_over()
        hand_over()
    _dedupe(session, report, places)
    return _finish(session, run, report)


# One record's outcome, from the parsing stage: (_GOOD, line, values, attributes) or (_BAD, line, errors, raw cells).
_GOOD, _BAD = 1, 0
ParsedRecord = tuple[int, int, Any, Any]
_PARALLEL_MIN_ROWS = 10000  # below this, a second process costs about what it saves
_IDLE: ParsedRecord = (-1, 0, None, None)  # from the parallel parser: nothing ready yet
_IDLE_WRITE_ROWS = 1000  # written while waiting for the parser when at least this many are pending
_SEND_ROWS = 2000
_QUEUED_SENDS = 16  # how far parsing may run ahead of writing: 32,000 rows, more than a write batch


_SITE_KEYS = ("organization", "site", "lat", "lon", "country", "nace", "employees", "description", "located_by")


@dataclass
class _FlowStage:
    """The pure stage of a flows import: parse, check, complete and fingerprint every record (the declared row,
    before derivations), and encode it as the INSERT tuple. Touches no database and no shared state but the
    parser's per-column memo, so it may run in another process."""

    file: DelimitedFile
    row_parser: _RowParser
    encoder: RowEncoder
    template: dict[str, Any]  # every column, with the values shared by the run's flows

    def records(self, skip: int = 0) -> Iterator[ParsedRecord]:
        """(_GOOD, line, the site's values, encoded flow) or (_BAD, line, errors, raw cells), for every record after
        the first `skip`."""
        row_parser, template, encode = self.row_parser, self.template, self.encoder.encode
        for number, (line, cells, parse_error) in enumerate(self.file.rows()):
            if number < skip:
                continue
            if parse_error is not None or cells is None:
                yield _BAD, line, [("", parse_error or "unreadable")], {}
                continue
            values, attributes, errors = row_parser.parse(cells)
            org_name = values.get("organization") or ""
            # the declared row, before enrichment and derivations
            print_ = fingerprint(org_name, values.get("site") or org_name, values, attributes) if not errors else ""
            notes: list[tuple[str, str]] = []
            if not errors:
                notes, errors = _locate(values, attributes, flows=True)
            if not errors:
                errors = fields.check_site(values)
            if not errors:
                errors = prepare(values, nace=values.get("nace"))
            if errors:
                yield _BAD, line, errors, row_parser.raw(cells)
                continue
            site = {key: values.get(key) for key in _SITE_KEYS}
            site["city"], site["address"] = attributes.get("city"), attributes.get("address")
            site["quality"] = record_quality(values, values.get("nace"))
            if notes:
                site["notes"] = notes
            row = {**template, **values}
            row["fingerprint"], row["attributes"] = print_, attributes
            row["precision"] = values.get("precision") or "estimated"
            yield _GOOD, line, site, encode(row)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while an import runs. An import allocates millions of small dicts,
    lists and tuples that form no cycles; every so many allocations the collector walks the whole heap looking
    for cycles anyway, about a tenth of the import's time (measured by bench/bench_import.py). Re-enabled when the
    import ends, whatever happens; the next collection finds any cycle it left."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _worth_parallel(file: DelimitedFile) -> bool:
    return (
        sys.platform == "linux"  # fork is cheap and safe for this pure stage there; elsewhere run in-process
        and (os.cpu_count() or 1) > 1
        and file.line_estimate >= _PARALLEL_MIN_ROWS
    )


def _produce(stage: _FlowStage, sender: Any) -> None:
    """In the forked parser process: send the parsed records in pickled batches, then an empty message."""
    batch: list[ParsedRecord] = []
    try:
        for record in stage.records():
            batch.append(record)
            if len(batch) >= _SEND_ROWS:
                sender.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
                batch = []
        if batch:
            sender.send_bytes(pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL))
        sender.send_bytes(b"")
    finally:
        sender.close()


def _parsed_in_parallel(stage: _FlowStage) -> Iterator[ParsedRecord]:
    """`stage.records()` run in a forked process while this one writes to the database: on two cores, parsing
    and writing overlap. The child shares nothing with the database session (it never touches it and leaves with
    os._exit, as multiprocessing's forked children do, so no connection is closed twice); a thread here drains its
    pipe into a bounded queue so that it keeps parsing while this process writes. If the child fails or dies, the
    records it did not deliver are parsed here: the outcome is the same either way."""
    import multiprocessing
    import queue
    import threading

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_produce, args=(stage, sender), name="turash-import-parser", daemon=True)
    child.start()
    sender.close()
    batches: queue.Queue[bytes | None] = queue.Queue(maxsize=_QUEUED_SENDS)
    finished = threading.Event()

    def drain() -> None:
        try:
            while data := receiver.recv_bytes():
                batches.put(data)
            finished.set()
        except (EOFError, OSError):  # the child ended without its final message
            pass
        finally:
            batches.put(None)

    reader = threading.Thread(target=drain, name="turash-import-reader", daemon=True)
    reader.start()
    delivered = 0
    try:
        while True:
            if batches.empty():
                yield _IDLE
            if (data := batches.get()) is None:
                break
            for record in pickle.loads(data):  # noqa: S301 - our own child's output, through a private pipe  # nosec B301
                delivered += 1
                yield record
    finally:
        if child.is_alive():
            child.terminate()
        child.join()
        receiver.close()
        reader.join(timeout=5)
    if not finished.is_set():
        log.warning("import_parser_failed", exitcode=child.exitcode, delivered=delivered)
        yield from stage.records(skip=delivered)


def import_sites(
    session: Session,
    path: Path | str | DelimitedFile,
    *,
    owner_id: str | None = None,
    user_id: str | None = None,
    data: bytes | None = None,
    name: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    mapping: dict[str, str] | None = None,
    organization_id: str | None = None,
) -> ImportReport:
    """`organization_id`: as for `import_flows`.
    Sites without declared flows (contract: organization, site, lat, lon, country, nace, employees,
    description). An existing site of the same organisation and name is left as it is and counted as skipped."""
    display = name or (path.name if isinstance(path, DelimitedFile) else Path(path).name)
    run, report = _start(session, "sites", display, user_id)
    run.organization_id = organization_id
    try:
        file = _read(session, run, path, data, display, mapping)
        if organization_id is not None:
            file = _for_organization(session, file, organization_id)
        missing = _missing_columns(file.header, fields.REQUIRED_SITE)
        if missing:
            raise FileUnreadable(
                f"{display} lacks required column(s): {', '.join(missing)}", details={"missing": missing}
            )
    except FileUnreadable as exc:
        return _fail(session, run, report, exc)
    report.notes.extend(file.notes)
    row_parser = _RowParser.for_file(file, {**fields.SITE_COLUMNS, **SITE_EXTRA}, ("organization",))
    places = _Places(session, report, owner_id, user_id)
    if organization_id is not None:  # the rows name it (see _for_organization); never another of the same name
        forced = session.get(Organization, organization_id)
        assert forced is not None
        places.orgs[forced.name_key] = organization_id
    pending: list[_Row] = []

    def flush() -> None:
        places.resolve(pending)
        # New sites get the likely flows of their sector (inferred, rough): the contract of `import sites`.
        infer_sites(
            session,
            (
                SiteToInfer(
                    r.site_id, r.org_id, r.org_name, r.site_name, r.values.get("nace"), r.values.get("employees")
                )
                for r in pending
                if r.site_created
            ),
        )
        created = sum(r.site_created for r in pending)
        report.imported += created
        report.skipped += len(pending) - created
        pending.clear()
        session.flush()
        if checkpoint is not None:
            checkpoint()
        if progress is not None:
            progress(report.rows_total, file.line_estimate)

    with session.no_autoflush:
        for line, cells, parse_error in file.rows():
            report.rows_total += 1
            if parse_error is not None or cells is None:
                session.add(_quarantine(run, report, line, [("", parse_error or "unreadable")], {}))
                continue
            values, attributes, errors = row_parser.parse(cells)
            if not errors:
                notes, errors = _locate(values, attributes, flows=False)
                if notes and not errors:
                    report.enrichment(line, notes)
            if not errors:
                errors = fields.check_site(values)
            if errors:
                session.add(_quarantine(run, report, line, errors, row_parser.raw(cells)))
                continue
            if located := values.pop("located_by", None):
                attributes["located_by"] = located
            org_name = values["organization"]
            pending.append(_Row(line, values, attributes, org_name, values.get("site") or org_name))
            if len(pending) >= BATCH_ROWS:
                flush()
        flush()
    _dedupe(session, report, places)
    return _finish(session, run, report)


def quarantined(session: Session, *, include_resolved: bool = False, limit: int | None = None) -> list[QuarantinedRow]:
    query = sa.select(QuarantinedRow)
    if not include_resolved:
        query = query.where(QuarantinedRow.resolved_at.is_(None))
    query = query.order_by(QuarantinedRow.created_at, QuarantinedRow.file_name, QuarantinedRow.row_number)
    if limit is not None:
        query = query.limit(limit)
    return list(session.scalars(query))
