"""Resource flow use cases. `prepare` is the one pipeline every new or changed flow goes through, whether it
comes from the REST API or a file import: cross-column checks, EWC-derived hazard, SI normalisation with pint,
classification with the catalogue, and the fingerprint that makes re-imports idempotent."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.flows import fields, repository
from turash.flows.classify import classify
from turash.flows.fields import FieldErrors
from turash.flows.repository import FlowFilter, FlowRow
from turash.flows.schemas import FlowCreate, FlowUpdate
from turash.kit.errors import Conflict, ValidationFailed
from turash.kit.units import unit_info
from turash.models import ResourceFlow, Site
from turash.models.base import new_id

# Columns that make up a flow's identity for the import fingerprint (every contract column but the site's).
FINGERPRINT_COLUMNS = tuple(fields.FLOW_COLUMNS)


def prepare(values: dict[str, Any], *, nace: str | None) -> list[tuple[str, str]]:
    """Complete parsed flow values in place; return cross-column problems (empty when the flow is valid)."""
    problems = fields.check_flow(values)
    if problems:
        return problems
    if values.get("quantity") is not None and values.get("unit"):
        info = unit_info(values["unit"])
        values["quantity_kind"] = info.kind.value
        values["quantity_si"] = values["quantity"] * info.factor
        values["si_unit"] = info.si_unit
    else:
        values["quantity_kind"] = values["quantity_si"] = values["si_unit"] = None
    values["category"], values["resource_class"], candidates = classify(
        values["resource"], values.get("ewc_code"), nace, values.get("category"), values.get("direction")
    )
    values["resource_classes"] = [list(c) for c in candidates]
    return problems


def fingerprint(organization: str, site: str, values: dict[str, Any], attributes: dict[str, Any] | None) -> str:
    """SHA-256 of the declared content of a flow (as parsed, before derivations), so that importing the same row
    again finds the flow it made the first time. The reprs of the values, in a fixed column order, joined with a
    unit separator: cheap on the import's hot path, and unambiguous (repr quotes text, keeps floats exact)."""
    parts = [organization.casefold(), site.casefold(), *map(repr, map(values.get, FINGERPRINT_COLUMNS))]
    if attributes:
        parts.append(json.dumps(attributes, sort_keys=True, default=str))
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def create(
    session: Session, site: Site, data: FlowCreate, *, organization_name: str, user_id: str | None, source: str = "api"
) -> ResourceFlow:
    values = data.values()
    print_ = fingerprint(organization_name, site.name, values, values["attributes"])
    problems = prepare(values, nace=site.nace)
    if problems:
        raise ValidationFailed("the flow is not valid", details=[{"field": c, "message": m} for c, m in problems])
    existing = repository.by_fingerprint(session, site.id, print_)
    if existing is not None:
        raise Conflict(
            "an identical flow already exists at this site", code="duplicate_flow", details={"flow_id": existing.id}
        )
    flow = ResourceFlow(
        id=new_id(),
        organization_id=site.organization_id,
        site_id=site.id,
        fingerprint=print_,
        source=source,
        created_by=user_id,
        **values,
    )
    session.add(flow)
    session.flush()
    if source != "inferred":
        from turash.sectors.register import drop_superseded  # sectors builds on flows: import here, not at the top

        drop_superseded(session, {site.id: [(flow.direction, flow.resource_class)]})
    return flow


def update(
    session: Session, flow: ResourceFlow, site: Site, data: FlowUpdate, *, organization_name: str
) -> ResourceFlow:
    current = {c: getattr(flow, c) for c in FINGERPRINT_COLUMNS} | {"attributes": dict(flow.attributes or {})}
    changes = data.model_dump(exclude_unset=True)
    values = {**current, **changes}
    if "ewc_code" in changes and "hazardous" not in changes:
        values["hazardous"] = None  # derived from the new code by prepare()
    if "attributes" in changes:
        values["attributes"] = {**current["attributes"], **changes["attributes"]}
    for name in fields.REQUIRED_FLOW:
        if values.get(name) in (None, ""):
            raise ValidationFailed(f"{name} cannot be emptied", details=[{"field": name, "message": "required"}])
    print_ = fingerprint(organization_name, site.name, values, values["attributes"])
    problems = prepare(values, nace=site.nace)
    if problems:
        raise ValidationFailed("the flow is not valid", details=[{"field": c, "message": m} for c, m in problems])
    for column, value in values.items():
        setattr(flow, column, value)
    flow.fingerprint = print_
    return flow


def delete(session: Session, flow: ResourceFlow) -> None:
    session.delete(flow)


def search(
    session: Session, principal: Principal | None, flt: FlowFilter, limit: int | None, offset: int = 0
) -> tuple[list[FlowRow], int]:
    return repository.search(session, principal, flt, limit, offset)


__all__ = ["FieldErrors", "create", "delete", "fingerprint", "prepare", "search", "update"]
