"""Quarantine: every record an import, a bulk job, a webhook or a stream could not take, kept with where and why.

A row can be listed, corrected (its raw values edited), replayed through the same pipeline it failed in, or
dismissed with a reason. A replay that still fails keeps the row in quarantine with the new reasons; one that
succeeds resolves it ("imported"). Nothing is deleted: a resolved row stays, with its resolution, for the audit.
Who sees a row: members of its organisation; for a CLI import (no organisation), the user who ran it; platform
admins see all.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.ingestion.meters import take_readings
from turash.ingestion.readings import Reading
from turash.kit.errors import Conflict, NotFound, ValidationFailed
from turash.models import ImportRun, Membership, QuarantinedRow
from turash.models.base import as_utc, utcnow

KINDS = ("flows", "sites", "readings")
EDIT_ROLES = ("member", "admin", "owner")


def row_kind(row: QuarantinedRow, run: ImportRun | None) -> str:
    return row.kind or (run.kind if run is not None else "flows")


def _visible(principal: Principal | None, *, roles: tuple[str, ...] | None = None) -> Any:
    """The WHERE clause of the rows this principal may see (or, with `roles`, change); None is the operator at the
    command line, who sees everything."""
    if principal is None:
        return sa.true()
    memberships = sa.select(Membership.organization_id).where(Membership.user_id == principal.user.id)
    if roles is not None:
        memberships = memberships.where(Membership.role.in_(roles))
    if principal.api_key_organization_id is not None:  # a key limited to one organisation sees only its rows
        return QuarantinedRow.organization_id == principal.api_key_organization_id
    own_runs = sa.select(ImportRun.id).where(ImportRun.created_by == principal.user.id)
    mine = sa.or_(
        QuarantinedRow.organization_id.in_(memberships),
        sa.and_(QuarantinedRow.organization_id.is_(None), QuarantinedRow.import_run_id.in_(own_runs)),
    )
    return sa.true() if principal.is_admin else mine


def list_rows(
    session: Session,
    principal: Principal | None,
    *,
    kind: str | None = None,
    include_resolved: bool = False,
    import_run_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[QuarantinedRow], int]:
    query = sa.select(QuarantinedRow).where(_visible(principal))
    if not include_resolved:
        query = query.where(QuarantinedRow.resolved_at.is_(None))
    if import_run_id is not None:
        query = query.where(QuarantinedRow.import_run_id == import_run_id)
    if kind == "readings":
        query = query.where(QuarantinedRow.kind == "readings")
    elif kind is not None:
        runs = sa.select(ImportRun.id).where(ImportRun.kind == kind)
        query = query.where(
            sa.or_(
                QuarantinedRow.kind == kind,
                sa.and_(QuarantinedRow.kind.is_(None), QuarantinedRow.import_run_id.in_(runs)),
            )
        )
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.order_by(QuarantinedRow.created_at, QuarantinedRow.row_number).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def get_row(session: Session, principal: Principal | None, row_id: str, *, edit: bool = False) -> QuarantinedRow:
    row = session.scalar(
        sa.select(QuarantinedRow).where(
            QuarantinedRow.id == row_id, _visible(principal, roles=EDIT_ROLES if edit else None)
        )
    )
    if row is None:
        raise NotFound.of("quarantined row", row_id)
    return row


def view(row: QuarantinedRow, run: ImportRun | None = None) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row_kind(row, run),
        "file": row.file_name,
        "row": row.row_number,
        "column": row.column,
        "reason": row.reason,
        "errors": row.errors,
        "raw": row.raw,
        "import_run_id": row.import_run_id,
        "organization_id": row.organization_id,
        "quarantined_at": as_utc(row.created_at).isoformat(),
        "replays": row.replays,
        "resolved": row.resolved_at is not None,
        "resolved_at": as_utc(row.resolved_at).isoformat() if row.resolved_at else None,
        "resolution": row.resolution,
    }


def _open(row: QuarantinedRow) -> None:
    if row.resolved_at is not None:
        raise Conflict(f"quarantined row {row.id} is already resolved ({row.resolution})", code="already_resolved")


def correct(row: QuarantinedRow, changes: dict[str, Any]) -> QuarantinedRow:
    """Edit the raw values (None removes a value); the row stays quarantined until it is replayed."""
    _open(row)
    if row.row_number is None:
        raise ValidationFailed("this entry stands for a whole file that could not be read; fix the file and import it")
    raw = dict(row.raw or {})
    for key, value in changes.items():
        if value is None:
            raw.pop(key, None)
        else:
            raw[key] = value if isinstance(value, str) else str(value) if row.kind != "readings" else value
    row.raw = raw
    return row


def dismiss(row: QuarantinedRow, reason: str, user_email: str, now: datetime | None = None) -> QuarantinedRow:
    _open(row)
    row.resolved_at = now or utcnow()
    row.resolution = f"dismissed by {user_email}: {reason}"[:200]
    return row


@dataclass
class ReplayOutcome:
    row: QuarantinedRow
    resolved: bool
    detail: dict[str, Any]


def replay(session: Session, row: QuarantinedRow, *, user_id: str | None, collect: Any = None) -> ReplayOutcome:
    """Run the (corrected) row through its pipeline again. The caller commits."""
    _open(row)
    if row.row_number is None:
        raise ValidationFailed("this entry stands for a whole file that could not be read; fix the file and import it")
    run = session.get(ImportRun, row.import_run_id) if row.import_run_id else None
    kind = row_kind(row, run)
    row.replays += 1
    if kind == "readings":
        return _replay_reading(session, row, collect)
    return _replay_record(session, row, kind, run, user_id)


def _replay_reading(session: Session, row: QuarantinedRow, collect: Any) -> ReplayOutcome:
    raw = row.raw or {}
    organization_id = row.organization_id or raw.get("organization_id")
    if not organization_id:
        raise ValidationFailed("the reading does not say which organisation it belongs to")
    try:
        ts = datetime.fromisoformat(str(raw.get("ts")))
        value = float(raw["value"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValidationFailed(f"correct the reading first: {exc}") from None
    reading = Reading(str(raw.get("meter", "")), ts, value, raw.get("unit"))
    result = take_readings(session, organization_id, [reading], source="replay", collect=collect, quarantine=False)
    if result.batch.quarantined:  # still wrong: the row stays, with the new reason
        problem = result.batch.problems[0]
        row.column, row.reason = problem["column"], problem["reason"]
        row.errors = [{"column": problem["column"], "reason": problem["reason"]}]
        return ReplayOutcome(row, False, result.as_dict())
    row.resolved_at = utcnow()
    row.resolution = "imported" if result.batch.stored else "already stored (duplicate)"
    return ReplayOutcome(row, True, result.as_dict())


def _replay_record(
    session: Session, row: QuarantinedRow, kind: str, run: ImportRun | None, user_id: str | None
) -> ReplayOutcome:
    from turash.ingestion.formats import records_file
    from turash.ingestion.service import import_flows, import_sites

    name = f"replay of {row.file_name} row {row.row_number}"
    file = records_file([row.raw or {}], name, first=row.row_number or 1)
    importer = import_flows if kind == "flows" else import_sites
    report = importer(session, file, user_id=user_id, name=name, organization_id=row.organization_id)
    detail = report.as_dict()
    if report.error is not None or report.quarantined:
        fresh = session.scalars(
            sa.select(QuarantinedRow)
            .where(QuarantinedRow.import_run_id == report.run_id)
            .order_by(QuarantinedRow.row_number)
        ).all()
        if fresh:
            row.column, row.reason, row.errors = fresh[0].column, fresh[0].reason, fresh[0].errors
            for copy in fresh:
                session.delete(copy)
        elif report.error is not None:
            row.reason = report.error
        session.flush()
        return ReplayOutcome(row, False, detail)
    row.resolved_at = utcnow()
    row.resolution = "imported" if report.imported else "already present (skipped)"
    session.flush()
    return ReplayOutcome(row, True, detail)
