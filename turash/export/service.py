"""Bulk export: every organisation, site, flow, service, match or proposal the caller may read, streamed as
NDJSON (one JSON object a line) or CSV, with bounded memory.

The query is built while the request is authorised (its scope fixed from the caller's principal), then read in its
own short read-only session by the response's generator, `BATCH` rows at a time (`yield_per`: a server-side cursor
on PostgreSQL, SQLite's stepping cursor): one batch of rows and one chunk of output are in memory at a time,
whatever the table's size. Each batch is one chunk of the response.

Disclosure is the listings': matches show another private organisation as "private organisation" with its sector
and the distance in whole km until a proposal with it is accepted under NDA (turash.proposals.disclosure);
proposals show the other party's name only from the named stage on (turash.proposals.service.stage).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, cast

import orjson
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.export import repository
from turash.kit.db import UnitOfWork
from turash.kit.tabular import csv_safe
from turash.models import Proposal
from turash.proposals.disclosure import ANONYMOUS, visible_organizations
from turash.proposals.service import stage

ENTITIES = ("organizations", "sites", "flows", "services", "matches", "proposals")
FORMATS = ("ndjson", "csv")
BATCH = 1000
MATCH_COLUMNS = (
    "id",
    "run_id",
    "supply_flow_id",
    "demand_flow_id",
    "category",
    "supply_organization",
    "supply_sector",
    "supply_resource",
    "demand_organization",
    "demand_sector",
    "demand_resource",
    "score",
    "distance_km",
    "route",
    "npv_eur",
    "irr",
    "payback_years",
    "co2_avoided_t_per_year",
    "computed_at",
)
PROPOSAL_COLUMNS = (
    "id",
    "match_id",
    "status",
    "my_role",
    "disclosure",
    "category",
    "supply_resource",
    "demand_resource",
    "counterpart",
    "facilitator_org_id",
    "npv_eur",
    "co2_avoided_t_per_year",
    "nda_at",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class Export:
    """A prepared export: the scoped query, its columns, and how a batch of rows becomes records."""

    entity: str
    columns: tuple[str, ...]
    query: sa.Select[Any]
    shape: Callable[[Session, list[Any]], list[dict[str, Any]]]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _rows_as_dicts(_session: Session, rows: list[Any]) -> list[dict[str, Any]]:
    # datetimes stay objects: orjson writes them (naive ones from SQLite as UTC), the CSV cell writer too
    return [row._asdict() for row in rows]


def _match_shape(shown: set[str] | None) -> Callable[[Session, list[Any]], list[dict[str, Any]]]:
    def side(row: Any, prefix: str) -> tuple[str, str | None, bool]:
        org_id = getattr(row, f"{prefix}_org_id")
        visible = shown is None or org_id in shown or getattr(row, f"{prefix}_org_source") == "register"
        name = getattr(row, f"{prefix}_org_name") if visible else ANONYMOUS
        return name, getattr(row, f"{prefix}_org_nace"), visible

    def shape(_session: Session, rows: list[Any]) -> list[dict[str, Any]]:
        out = []
        for r in rows:
            s_name, s_sector, s_vis = side(r, "supply")
            d_name, d_sector, d_vis = side(r, "demand")
            economics = r.economics or {}
            out.append(
                {
                    "id": r.id,
                    "run_id": r.run_id,
                    "supply_flow_id": r.supply_flow_id,
                    "demand_flow_id": r.demand_flow_id,
                    "category": r.category,
                    "supply_organization": s_name,
                    "supply_sector": s_sector,
                    "supply_resource": r.supply_resource,
                    "demand_organization": d_name,
                    "demand_sector": d_sector,
                    "demand_resource": r.demand_resource,
                    "score": r.score,
                    # the exact distance would place a hidden party: whole km, as the listings give it
                    "distance_km": r.distance_km if s_vis and d_vis else float(round(r.distance_km)),
                    "route": r.route,
                    "npv_eur": economics.get("npv_eur"),
                    "irr": economics.get("irr"),
                    "payback_years": economics.get("payback_years"),
                    "co2_avoided_t_per_year": economics.get("co2_avoided_t_per_year"),
                    "computed_at": _plain(r.computed_at),
                }
            )
        return out

    return shape


def _proposal_shape(own: set[str]) -> Callable[[Session, list[Any]], list[dict[str, Any]]]:
    def role_of(r: Any) -> str:
        for role, org in (("proposer", r.proposer_org_id), ("receiver", r.receiver_org_id)):
            if org in own:
                return role
        return "facilitator"

    def shape(session: Session, rows: list[Any]) -> list[dict[str, Any]]:
        roles = [role_of(r) for r in rows]
        levels = [stage(cast(Proposal, r), role) for r, role in zip(rows, roles, strict=True)]
        counterpart_ids = {
            (r.receiver_org_id if role == "proposer" else r.proposer_org_id)
            for r, role, level in zip(rows, roles, levels, strict=True)
            if level != "anonymous" and role != "facilitator"
        }
        names = repository.organization_names(session, counterpart_ids)  # one query per batch
        out = []
        for r, role, level in zip(rows, roles, levels, strict=True):
            snap = r.snapshot or {}
            economics = snap.get("economics") or {}
            other = r.receiver_org_id if role == "proposer" else r.proposer_org_id
            out.append(
                {
                    "id": r.id,
                    "match_id": r.match_id,
                    "status": r.status,
                    "my_role": role,
                    "disclosure": level,
                    "category": snap.get("category"),
                    "supply_resource": (snap.get("supply") or {}).get("resource"),
                    "demand_resource": (snap.get("demand") or {}).get("resource"),
                    "counterpart": names.get(other) if level != "anonymous" and role != "facilitator" else None,
                    "facilitator_org_id": r.facilitator_org_id,
                    "npv_eur": economics.get("npv_eur"),
                    "co2_avoided_t_per_year": economics.get("co2_avoided_t_per_year"),
                    "nda_at": _plain(r.nda_at),
                    "created_at": _plain(r.created_at),
                    "updated_at": _plain(r.updated_at),
                }
            )
        return out

    return shape


def prepare(session: Session, principal: Principal, entity: str, since: datetime | None) -> Export:
    """The scoped export of `entity` for this caller (the caller's organisations are read now, in the request)."""
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    if entity in repository.OWNED:
        columns = tuple(repository.table_columns(entity))
        return Export(entity, columns, repository.owned(entity, principal, since), _rows_as_dicts)
    if entity == "matches":
        own = repository.mine(session, principal)
        shown = None if own is None else visible_organizations(session, own)
        return Export(entity, MATCH_COLUMNS, repository.matches(session, principal, since), _match_shape(shown))
    # proposals are listed by membership (GET /proposals), an administrator's included
    own_orgs = repository.member_orgs(session, principal)
    return Export(entity, PROPOSAL_COLUMNS, repository.proposals(session, principal, since), _proposal_shape(own_orgs))


def _csv_cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, date):
        return _plain(value)
    return csv_safe(value)


_NDJSON = orjson.OPT_APPEND_NEWLINE | orjson.OPT_NAIVE_UTC


def encode(export: Export, fmt: str, records: list[dict[str, Any]], header: bool) -> bytes:
    if fmt == "ndjson":
        out = bytearray()
        for r in records:  # appended one by one: orjson's output buffers are freed as we go
            out += orjson.dumps(r, option=_NDJSON)
        return bytes(out)
    buf = io.StringIO()
    writer = csv.writer(buf)
    if header:
        writer.writerow(export.columns)
    for r in records:
        writer.writerow([_csv_cell(r.get(c)) for c in export.columns])
    return buf.getvalue().encode("utf-8")


def stream(open_uow: Callable[[], Any], export: Export, fmt: str, batch: int = BATCH) -> Iterator[bytes]:
    """The export's bytes, one chunk per batch of `batch` rows, read in a session of its own (the request's has
    closed by the time a streamed body is sent)."""
    uow: UnitOfWork
    with open_uow() as uow:
        result = uow.session.execute(export.query.execution_options(yield_per=batch))
        header = True
        if fmt == "csv":
            yield encode(export, fmt, [], header=True)
            header = False
        for part in result.partitions(batch):
            yield encode(export, fmt, export.shape(uow.session, list(part)), header)
        result.close()
