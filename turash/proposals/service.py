"""Proposals: from a match to an implemented exchange, with a state machine, permissions per party, an audit
trail, comments, the NDA record, staged disclosure, events and in-app notifications.

States (contract/api.md): draft → sent → (accepted | rejected | withdrawn); accepted → in_negotiation →
(agreed | failed); agreed → implemented. Who may move which: the proposer sends and withdraws, the receiver
accepts or rejects, either party records negotiation outcomes and implementation; a facilitator assigned to the
proposal, and a platform administrator, may do all.

Staged disclosure of the other party: before acceptance and a recorded NDA, only its sector, a distance band and
a quantity band (never its name or exact location); after acceptance and an NDA, its name, site and contacts;
after agreement, its full flow data.

Chain proposals (turash.chains) have more than two parties: every party is a row of `proposal_parties`
(supplier, service provider, receiver). The service provider then sees the proposal (role `service`), is
notified like the others, and accepts or rejects it like the receiver: the proposal becomes `accepted` when every
party but the proposer has accepted (each acceptance before the last is recorded in the trail).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.audit.service import actor_of
from turash.auth.service import Principal
from turash.kit.bus import DomainEvent
from turash.kit.db import UnitOfWork
from turash.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from turash.matching import repository as matching_repository
from turash.matching import service as matching
from turash.models import (
    PARTY_ROLES,
    Membership,
    Organization,
    Proposal,
    ProposalDocument,
    ProposalEvent,
    ProposalParty,
    ResourceFlow,
    Site,
    User,
)
from turash.models.base import new_id, utcnow
from turash.notifications.inbox import notify_members
from turash.organizations.repository import membership_of
from turash.proposals.bands import band, distance_band

NEXT = {
    "draft": ("sent",),
    "sent": ("accepted", "rejected", "withdrawn"),
    "accepted": ("in_negotiation",),
    "in_negotiation": ("agreed", "failed"),
    "agreed": ("implemented",),
    "rejected": (),
    "withdrawn": (),
    "failed": (),
    "implemented": (),
}
# Who may move into each state.
MOVERS = {
    "sent": {"proposer"},
    "withdrawn": {"proposer"},
    "accepted": {"receiver", "service"},
    "rejected": {"receiver", "service"},
    "in_negotiation": {"proposer", "receiver", "service"},
    "agreed": {"proposer", "receiver", "service"},
    "failed": {"proposer", "receiver", "service"},
    "implemented": {"proposer", "receiver", "service"},
}
ACTIVE = ("draft", "sent", "accepted", "in_negotiation", "agreed")
NAMED_STATES = ("accepted", "in_negotiation", "agreed", "implemented", "failed")
FULL_STATES = ("agreed", "implemented")
WRITE_ROLES = ("owner", "admin", "member")
OTHER_PARTY = "the other party"


@dataclass(frozen=True)
class ProposalAccess:
    proposal: Proposal
    role: str  # proposer | receiver | service | facilitator | admin


def _member(session: Session, principal: Principal, org_id: str | None, roles: tuple[str, ...] = WRITE_ROLES) -> bool:
    if org_id is None:
        return False
    if principal.api_key_organization_id is not None and principal.api_key_organization_id != org_id:
        return False
    membership = membership_of(session, org_id, principal.user.id)
    return membership is not None and membership.role in roles


def access(session: Session, principal: Principal, proposal_id: str) -> ProposalAccess:
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound.of("proposal", proposal_id)
    viewer = ("owner", "admin", "member", "viewer")
    for role, org in (
        ("proposer", proposal.proposer_org_id),
        ("receiver", proposal.receiver_org_id),
        ("facilitator", proposal.facilitator_org_id),
    ):
        if _member(session, principal, org, viewer):
            return ProposalAccess(proposal, role)
    for org in service_orgs(session, proposal):
        if _member(session, principal, org, viewer):
            return ProposalAccess(proposal, "service")
    if principal.is_admin:
        return ProposalAccess(proposal, "admin")
    raise Forbidden("you are not a party to this proposal")


def parties(session: Session, proposal: Proposal) -> list[ProposalParty]:
    """The parties of a multi-party (chain) proposal; empty for a two-party proposal."""
    rows = session.scalars(sa.select(ProposalParty).where(ProposalParty.proposal_id == proposal.id))
    return sorted(rows, key=lambda p: (PARTY_ROLES.index(p.role), p.organization_id))


def service_orgs(session: Session, proposal: Proposal) -> list[str]:
    return [p.organization_id for p in parties(session, proposal) if p.role == "service"]


def _record(
    session: Session,
    proposal: Proposal,
    kind: str,
    *,
    from_status: str | None = None,
    to_status: str | None = None,
    body: str | None = None,
) -> ProposalEvent:
    actor = actor_of(session)
    event = ProposalEvent(
        id=new_id(),
        proposal_id=proposal.id,
        at=utcnow(),
        actor_id=actor.user_id,
        actor=actor.label,
        kind=kind,
        from_status=from_status,
        to_status=to_status,
        body=body,
    )
    session.add(event)
    return event


def _pair(session: Session, match_id: str) -> tuple[ResourceFlow, ResourceFlow]:
    pair = matching_repository.flows_of_match(match_id)
    if pair is None:
        raise ValidationFailed(
            f"match_id {match_id!r} is not a match id (as `turash match` prints them)",
            details=[{"field": "match_id", "message": "unknown match id"}],
        )
    flows = {f.id: f for f in session.scalars(sa.select(ResourceFlow).where(ResourceFlow.id.in_(pair)))}
    if len(flows) != 2:
        raise NotFound(f"match '{match_id}' refers to a flow that no longer exists", details={"id": match_id})
    return flows[pair[0]], flows[pair[1]]


def create(uow: UnitOfWork, holder: dict[str, Any], principal: Principal, match_id: str) -> Proposal:
    """A party proposes a match to the other party."""
    supply, demand = _pair(uow.session, match_id)
    if _member(uow.session, principal, supply.organization_id):
        proposer, receiver = supply.organization_id, demand.organization_id
    elif _member(uow.session, principal, demand.organization_id):
        proposer, receiver = demand.organization_id, supply.organization_id
    else:
        raise Forbidden("only a member of one of the two parties can propose this match")
    return _open(uow, holder, principal, match_id, (supply, demand), proposer, receiver, None)


def open_facilitated(
    uow: UnitOfWork, holder: dict[str, Any], principal: Principal, match_id: str, facilitator_org_id: str
) -> Proposal:
    """A facilitator opens the proposal between the parties: the supplier proposes to the receiver, and the
    facilitator is assigned to it (turash.facilitation checks that it holds the case)."""
    supply, demand = _pair(uow.session, match_id)
    proposal = _open(
        uow,
        holder,
        principal,
        match_id,
        (supply, demand),
        supply.organization_id,
        demand.organization_id,
        facilitator_org_id,
    )
    _record(uow.session, proposal, "assignment", body=f"facilitator {_org_label(uow.session, facilitator_org_id)}")
    return proposal


def _open(
    uow: UnitOfWork,
    holder: dict[str, Any],
    principal: Principal,
    match_id: str,
    flows: tuple[ResourceFlow, ResourceFlow],
    proposer: str,
    receiver: str,
    facilitator: str | None,
    snapshot: dict[str, Any] | None = None,
) -> Proposal:
    session = uow.session
    supply, demand = flows
    existing = session.scalar(
        sa.select(Proposal.id).where(
            Proposal.match_id == match_id, Proposal.proposer_org_id == proposer, Proposal.status.in_(ACTIVE)
        )
    )
    if existing is not None:
        raise Conflict(
            "an open proposal for this match already exists", code="proposal_exists", details={"proposal_id": existing}
        )
    snapshot = {
        **(snapshot if snapshot is not None else matching.match_for_pair(session, holder, match_id)),
        "_orgs": {"supply": supply.organization_id, "demand": demand.organization_id},
    }
    proposal = Proposal(
        id=new_id(),
        match_id=match_id,
        supply_flow_id=supply.id,
        demand_flow_id=demand.id,
        proposer_org_id=proposer,
        receiver_org_id=receiver,
        facilitator_org_id=facilitator,
        status="draft",
        snapshot=snapshot,
        created_by=principal.user.id,
    )
    session.add(proposal)
    session.flush()
    _record(session, proposal, "created", to_status="draft")
    uow.collect(DomainEvent("proposal.created", {"proposal_id": proposal.id, "status": "draft"}))
    return proposal


def open_chain(
    uow: UnitOfWork,
    principal: Principal,
    key: str,
    chain: dict[str, Any],
    flows: tuple[ResourceFlow, ResourceFlow],
    service_org_id: str,
    service_id: str,
) -> Proposal:
    """A party of a chain (supplier → service → receiver) proposes it to the two others. The proposal's receiver
    is the receiving organisation (or the supplier, when the receiver proposes); all three are its parties."""
    supply, demand = flows
    roles = (("supplier", supply.organization_id), ("receiver", demand.organization_id), ("service", service_org_id))
    proposer = next((org for _, org in roles if _member(uow.session, principal, org)), None)
    if proposer is None:
        raise Forbidden("only a member of one of the chain's three parties can propose it")
    receiver = demand.organization_id if proposer != demand.organization_id else supply.organization_id
    snapshot = {
        "chain_id": chain["id"],
        "chain": chain,
        "supply": chain["supply"],
        "demand": chain["demand"],
        "service": chain["service"],
        "score": chain["score"],
        "scores": chain["legs"][1].get("scores"),
        "distance_km": chain["distance_km"],
        "economics": chain["economics"],
        "explanation": chain["explanation"],
    }
    proposal = _open(uow, {}, principal, key, flows, proposer, receiver, None, snapshot)
    now = utcnow()
    for role, org in roles:
        uow.session.add(
            ProposalParty(
                id=new_id(),
                proposal_id=proposal.id,
                organization_id=org,
                role=role,
                service_id=service_id if role == "service" else None,
                created_at=now,
            )
        )
    uow.session.flush()
    event = DomainEvent("proposal.chain_opened", {"proposal_id": proposal.id, "chain_id": chain["id"]})
    uow.collect(event)
    notify(
        uow.session,
        proposal,
        ProposalAccess(proposal, "proposer"),
        "A chain is proposed to you",
        f"{_org_label(uow.session, proposer)} proposes an exchange through {chain['service']['name']}.",
        {"chain_id": chain["id"]},
        event,
    )
    return proposal


def _org_label(session: Session, org_id: str) -> str:
    org = session.get(Organization, org_id)
    return org.name if org else org_id


def assign_facilitator(uow: UnitOfWork, acc: ProposalAccess, organization_id: str | None) -> Proposal:
    """Either party (or an administrator) assigns a facilitator organisation to the proposal, or removes it."""
    from turash.models import FacilitatorProfile

    if acc.role not in ("proposer", "receiver", "admin"):
        raise Forbidden("only a party to the proposal assigns its facilitator")
    proposal = acc.proposal
    if organization_id is not None:
        profile = uow.session.get(FacilitatorProfile, organization_id)
        if profile is None or not profile.active:
            raise ValidationFailed(
                f"organisation {organization_id!r} is no active facilitator",
                details=[{"field": "organization_id", "message": "not an active facilitator"}],
            )
    previous = proposal.facilitator_org_id
    proposal.facilitator_org_id = organization_id
    proposal.updated_at = utcnow()
    label = _org_label(uow.session, organization_id) if organization_id else "none"
    _record(uow.session, proposal, "assignment", body=f"facilitator {label}")
    event = DomainEvent(
        "proposal.facilitator_assigned",
        {"proposal_id": proposal.id, "facilitator_org_id": organization_id, "previous": previous},
    )
    uow.collect(event)
    notify(uow.session, proposal, acc, "Facilitator assigned", f"Facilitator: {label}.", {}, event)
    return proposal


def allowed_for(role: str, status: str) -> list[str]:
    return [s for s in NEXT[status] if role in ("facilitator", "admin") or role in MOVERS[s]]


def transition(uow: UnitOfWork, acc: ProposalAccess, status: str, note: str | None) -> Proposal:
    proposal = acc.proposal
    current = proposal.status
    if status not in NEXT:
        raise ValidationFailed(
            f"unknown status {status!r}; states are {', '.join(NEXT)}",
            details=[{"field": "status", "message": "unknown status"}],
        )
    if status not in NEXT[current]:
        raise Conflict(
            f"a proposal cannot go from {current} to {status}",
            code="illegal_transition",
            details={
                "status": current,
                "requested": status,
                "allowed": list(NEXT[current]),
                "allowed_for_you": allowed_for(acc.role, current),
            },
        )
    if status not in allowed_for(acc.role, current):
        who = " or ".join(sorted(MOVERS[status]))
        raise Forbidden(
            f"only the {who} may move a proposal to {status}",
            details={
                "status": current,
                "requested": status,
                "role": acc.role,
                "allowed_for_you": allowed_for(acc.role, current),
            },
        )
    if status == "accepted" and not _all_accepted(uow, acc, note):
        return proposal
    proposal.status = status
    proposal.updated_at = utcnow()
    _record(uow.session, proposal, "status", from_status=current, to_status=status, body=note)
    event = DomainEvent("proposal.status_changed", {"proposal_id": proposal.id, "from": current, "to": status})
    uow.collect(event)
    from turash.facilitation.service import on_proposal_status

    on_proposal_status(uow, proposal)  # a proposal opened from a facilitation case closes the case
    notify(
        uow.session,
        proposal,
        acc,
        f"Proposal {status.replace('_', ' ')}",
        f"A proposal you take part in moved from {current} to {status}.",
        {"status": status},
        event,
    )
    return proposal


def _acting_orgs(session: Session, acc: ProposalAccess) -> set[str]:
    proposal = acc.proposal
    if acc.role == "receiver":
        return {proposal.receiver_org_id}
    if acc.role == "service":
        return set(service_orgs(session, proposal))
    return set()


def _all_accepted(uow: UnitOfWork, acc: ProposalAccess, note: str | None) -> bool:
    """For a multi-party proposal, record the acting party's acceptance; True when every party but the proposer
    has accepted (a facilitator or administrator accepts for all). A two-party proposal: always True."""
    session, proposal = uow.session, acc.proposal
    rows = parties(session, proposal)
    if not rows:
        return True
    now = utcnow()
    acting = _acting_orgs(session, acc)
    for row in rows:
        if row.accepted_at is None and (acc.role in ("facilitator", "admin") or row.organization_id in acting):
            row.accepted_at = now
    session.flush()
    waiting = [r for r in rows if r.organization_id != proposal.proposer_org_id and r.accepted_at is None]
    if not waiting:
        return True
    labels = ", ".join(sorted({f"{_org_label(session, r.organization_id)} ({r.role})" for r in waiting}))
    by = ", ".join(sorted(_org_label(session, o) for o in acting))
    body = f"accepted by {by}; waiting for {labels}" + (f": {note}" if note else "")
    _record(session, proposal, "acceptance", body=body)
    proposal.updated_at = now
    waiting_ids = [r.organization_id for r in waiting]
    event = DomainEvent("proposal.party_accepted", {"proposal_id": proposal.id, "waiting": waiting_ids})
    uow.collect(event)
    notify(session, proposal, acc, "A party accepted a proposal", f"Still waiting for {labels}.", {}, event)
    return False


def comment(uow: UnitOfWork, acc: ProposalAccess, body: str) -> ProposalEvent:
    event = _record(uow.session, acc.proposal, "comment", body=body)
    ev = DomainEvent("proposal.commented", {"proposal_id": acc.proposal.id})
    uow.collect(ev)
    notify(uow.session, acc.proposal, acc, "New comment on a proposal", body[:200], {}, ev)
    return event


DOCUMENT_MAX_BYTES = 20 * 1024 * 1024


def attach(
    uow: UnitOfWork,
    acc: ProposalAccess,
    file_name: str,
    content_type: str | None,
    content: bytes,
    description: str | None,
) -> ProposalDocument:
    """Attach a file to the proposal: its parties (and facilitator) see and download it; recorded in the trail."""
    name = "".join(c for c in Path(file_name or "").name if c.isprintable()).strip()[:255]
    if not name:
        raise ValidationFailed("the document has no file name", details=[{"field": "file", "message": "no name"}])
    if not content:
        raise ValidationFailed(f"'{name}' is empty", details=[{"field": "file", "message": "empty file"}])
    if len(content) > DOCUMENT_MAX_BYTES:
        raise ValidationFailed(
            f"'{name}' has {len(content) / 1e6:.1f} MB; a document may have at most {DOCUMENT_MAX_BYTES // 2**20} MB",
            details=[{"field": "file", "message": "too large"}],
        )
    actor = actor_of(uow.session)
    document = ProposalDocument(
        id=new_id(),
        proposal_id=acc.proposal.id,
        file_name=name,
        content_type=(content_type or "application/octet-stream")[:100],
        size=len(content),
        sha256=hashlib.sha256(content).hexdigest(),
        description=description,
        content=content,
        uploaded_by=actor.user_id,
        actor=actor.label,
    )
    uow.session.add(document)
    _record(uow.session, acc.proposal, "document", body=f"{name} ({len(content):,} bytes)")
    event = DomainEvent("proposal.document_attached", {"proposal_id": acc.proposal.id, "document_id": document.id})
    uow.collect(event)
    notify(uow.session, acc.proposal, acc, "New document on a proposal", name, {"document_id": document.id}, event)
    return document


def documents(session: Session, proposal: Proposal) -> list[dict[str, Any]]:
    rows = session.scalars(
        sa.select(ProposalDocument)
        .where(ProposalDocument.proposal_id == proposal.id)
        .order_by(ProposalDocument.created_at, ProposalDocument.id)
    )
    return [
        {
            "id": d.id,
            "file_name": d.file_name,
            "content_type": d.content_type,
            "size": d.size,
            "sha256": d.sha256,
            "description": d.description,
            "actor": d.actor,
            "actor_id": d.uploaded_by,
            "at": d.created_at.isoformat(),
        }
        for d in rows
    ]


def record_nda(uow: UnitOfWork, acc: ProposalAccess, note: str | None) -> Proposal:
    proposal = acc.proposal
    if proposal.status not in NAMED_STATES:
        raise Conflict(
            "an NDA is recorded after the proposal is accepted",
            code="not_accepted",
            details={"status": proposal.status},
        )
    if proposal.nda_at is None:
        proposal.nda_at = utcnow()
        _record(uow.session, proposal, "nda", body=note)
        event = DomainEvent("proposal.nda_recorded", {"proposal_id": proposal.id})
        uow.collect(event)
        notify(uow.session, proposal, acc, "NDA recorded", "Names and contacts are now shared.", {}, event)
    return proposal


def notify(
    session: Session,
    proposal: Proposal,
    acc: ProposalAccess,
    title: str,
    body: str,
    data: dict[str, Any],
    event: DomainEvent | None = None,
) -> None:
    """In-app notifications for the members of the parties other than the one acting; tied to the domain event, whose
    handler then e-mails them and pushes them live (turash.notifications)."""
    orgs = {proposal.proposer_org_id, proposal.receiver_org_id, proposal.facilitator_org_id} - {None}
    orgs |= {p.organization_id for p in parties(session, proposal)}
    by_role: dict[str, set[str | None]] = {
        "proposer": {proposal.proposer_org_id},
        "receiver": {proposal.receiver_org_id},
        "facilitator": {proposal.facilitator_org_id},
        "service": set(service_orgs(session, proposal)),
    }
    acting = by_role.get(acc.role, set())
    notify_members(session, orgs - acting, "proposal", title, body, {"proposal_id": proposal.id, **data}, event)


def list_for(
    session: Session, principal: Principal, status: str | None, limit: int, offset: int
) -> tuple[list[tuple[Proposal, str]], int]:
    mine = sa.select(Membership.organization_id).where(Membership.user_id == principal.user.id)
    query = sa.select(Proposal).where(
        sa.or_(
            Proposal.proposer_org_id.in_(mine),
            Proposal.receiver_org_id.in_(mine),
            Proposal.facilitator_org_id.in_(mine),
            Proposal.id.in_(sa.select(ProposalParty.proposal_id).where(ProposalParty.organization_id.in_(mine))),
        )
    )
    if principal.api_key_organization_id is not None:
        key_org = principal.api_key_organization_id
        query = query.where(
            sa.or_(
                Proposal.proposer_org_id == key_org,
                Proposal.receiver_org_id == key_org,
                Proposal.id.in_(sa.select(ProposalParty.proposal_id).where(ProposalParty.organization_id == key_org)),
            )
        )
    if status:
        query = query.where(Proposal.status == status)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Proposal.updated_at.desc(), Proposal.id).limit(limit).offset(offset))
    out = []
    for proposal in rows:
        out.append((proposal, access(session, principal, proposal.id).role))
    return out, total


# --- staged disclosure ------------------------------------------------------------------------------------------




def stage(proposal: Proposal, role: str) -> str:
    if role in ("facilitator", "admin") or proposal.status in FULL_STATES:
        return "full"
    if proposal.status in NAMED_STATES and proposal.nda_at is not None:
        return "named"
    return "anonymous"


def _counterpart(session: Session, proposal: Proposal, side: str, level: str) -> dict[str, Any]:
    """One side as the other party may see it at this stage of the proposal."""
    flow_id = proposal.supply_flow_id if side == "supply" else proposal.demand_flow_id
    return side_view(
        session,
        flow_id,
        _org_of_flow(proposal, side),
        proposal.snapshot.get(side) or {},
        proposal.snapshot.get("distance_km"),
        level,
    )


def side_view(
    session: Session,
    flow_id: str | None,
    org_id: str | None,
    snap: dict[str, Any],
    distance_km: float | None,
    level: str,
) -> dict[str, Any]:
    """One side of an exchange at a disclosure level: anonymous (sector, distance band, quantity band), named
    (+ organisation, site, contacts) or full (+ the flow's data and the site's location)."""
    flow = session.get(ResourceFlow, flow_id) if flow_id else None
    site = session.get(Site, flow.site_id) if flow else None
    org = session.get(Organization, org_id) if org_id else None
    out: dict[str, Any] = {
        "resource": snap.get("resource"),
        "resource_class": snap.get("resource_class"),
        "sector": (site.nace if site else None) or (org.nace if org else None),
        "distance_band": distance_band(distance_km),
        "quantity_band": _quantity_band(flow),
    }
    if level == "anonymous":
        return {"organization": None, **out}
    out.update(
        organization=org.name if org else snap.get("organization"),
        site=site.name if site else None,
        contacts=_contacts(session, org.id) if org else [],
    )
    if level == "full" and flow is not None:
        out["flow"] = {
            c: getattr(flow, c)
            for c in (
                "id",
                "direction",
                "resource",
                "category",
                "ewc_code",
                "quantity",
                "unit",
                "temperature_c",
                "pressure_bar",
                "purity_pct",
                "hazardous",
                "available_from",
                "available_to",
                "schedule",
                "price_eur_per_unit",
                "precision",
                "description",
            )
        }
        out["location"] = {"lat": site.lat, "lon": site.lon, "address": site.address} if site else None
    return out


def _org_of_flow(proposal: Proposal, side: str) -> str | None:
    return (proposal.snapshot.get("_orgs") or {}).get(side)


def _quantity_band(flow: ResourceFlow | None) -> str | None:
    if flow is None or flow.quantity is None or not flow.unit:
        return None
    edges = (10, 100, 1_000, 10_000, 100_000, 1_000_000)
    return band(abs(flow.quantity), edges, flow.unit)


def _contacts(session: Session, org_id: str) -> list[dict[str, str]]:
    rows = session.execute(
        sa.select(User.name, User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organization_id == org_id, Membership.role.in_(("owner", "admin")))
    )
    return [{"name": name, "email": email} for name, email in rows]


def view(session: Session, acc: ProposalAccess, *, detail: bool = True) -> dict[str, Any]:
    proposal = acc.proposal
    level = stage(proposal, acc.role)
    supply_org = _org_of_flow(proposal, "supply")
    mine = {"proposer": proposal.proposer_org_id, "receiver": proposal.receiver_org_id}.get(acc.role)
    sides = {}
    for side in ("supply", "demand"):
        own = mine is not None and (supply_org == mine) == (side == "supply")
        sides[side] = _counterpart(session, proposal, side, "full" if own else level)
    snap = proposal.snapshot
    out: dict[str, Any] = {
        "id": proposal.id,
        "match_id": proposal.match_id,
        "status": proposal.status,
        "my_role": acc.role,
        "disclosure": level,
        "supply": sides["supply"],
        "demand": sides["demand"],
        "score": snap.get("score"),
        "scores": snap.get("scores"),
        "distance_km": snap.get("distance_km") if level != "anonymous" else None,
        "economics": snap.get("economics"),
        "allowed": list(NEXT[proposal.status]),
        "allowed_for_me": allowed_for(acc.role, proposal.status),
        "nda_recorded_at": proposal.nda_at.isoformat() if proposal.nda_at else None,
        "created_at": proposal.created_at.isoformat(),
        "updated_at": proposal.updated_at.isoformat(),
    }
    rows = parties(session, proposal)
    if rows:  # a chain: every party, named from the named stage on (one's own always)
        own_orgs = {mine} if mine else set(service_orgs(session, proposal) if acc.role == "service" else ())

        def named(org_id: str) -> bool:
            return level != "anonymous" or org_id in own_orgs
        out["parties"] = [
            {
                "role": r.role,
                "organization_id": r.organization_id if named(r.organization_id) else None,
                "organization": _org_label(session, r.organization_id) if named(r.organization_id) else OTHER_PARTY,
                "service_id": r.service_id,
                "accepted": r.accepted_at is not None,
                "accepted_at": r.accepted_at.isoformat() if r.accepted_at else None,
            }
            for r in rows
        ]
        out["chain"] = snap.get("chain_id")
    if detail:
        events = session.scalars(
            sa.select(ProposalEvent)
            .where(ProposalEvent.proposal_id == proposal.id)
            .order_by(ProposalEvent.at, ProposalEvent.id)
        ).all()
        # Before the named stage the other party's people are not named either: "the other party".
        own_people: set[str] | None = None
        acting_orgs = [mine] if mine is not None else (service_orgs(session, proposal) if acc.role == "service" else [])
        if level == "anonymous" and acting_orgs:
            own_people = set(
                session.scalars(sa.select(Membership.user_id).where(Membership.organization_id.in_(acting_orgs)))
            )

        def who(actor_id: str | None, label: str) -> str:
            if own_people is None or actor_id is None or actor_id in own_people:
                return label
            return OTHER_PARTY

        out["history"] = [
            {
                "at": e.at.isoformat(),
                "actor": who(e.actor_id, e.actor),
                "kind": e.kind,
                "from_status": e.from_status,
                "to_status": e.to_status,
                "note": e.body if e.kind != "comment" else None,
            }
            for e in events
            if e.kind != "comment"
        ]
        out["documents"] = [{**d, "actor": who(d.pop("actor_id"), d["actor"])} for d in documents(session, proposal)]
        out["comments"] = [
            {"at": e.at.isoformat(), "actor": who(e.actor_id, e.actor), "body": e.body}
            for e in events
            if e.kind == "comment"
        ]
    return out
