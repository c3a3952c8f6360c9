"""Facilitators and their marketplace: the matches the hybrid router sends to a facilitator become cases in a queue;
a facilitator organisation whose regions and specialities cover a case claims it, has `sla_hours` to take the
first step (open the proposal between the parties, or record an outcome), is reminded once when the time runs out,
and records the outcome (agreed, or failed with the reason). Outcomes feed the per-facilitator and per-rule
statistics and the matching engine's learned trust (turash.matching.outcomes).

Before a claim the queue shows a case anonymised (country, category, classes, bands, the router's reasons, the
economics); the claiming facilitator then sees both parties as a facilitator of a proposal does (in full).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.catalog import get_catalog
from turash.kit.bus import DomainEvent
from turash.kit.codes import normalise_country
from turash.kit.db import UnitOfWork
from turash.kit.errors import Conflict, Forbidden, NotFound, ValidationFailed
from turash.models import (
    CATEGORIES,
    FacilitationCase,
    FacilitatorProfile,
    MatchRecord,
    Membership,
    Organization,
    Proposal,
    ResourceFlow,
    Site,
)
from turash.models.base import as_utc, new_id, utcnow
from turash.notifications.inbox import notify_members
from turash.organizations.service import effective_role
from turash.proposals.bands import distance_band

WRITE_ROLES = ("owner", "admin", "member")
ADMIN_ROLES = ("owner", "admin")
OPEN, CLAIMED = "open", "claimed"
OUTCOMES = ("agreed", "failed")


# --- profiles -------------------------------------------------------------------------------------------------------
def _facilitator_org(session: Session, org_id: str) -> Organization:
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound.of("organization", org_id)
    if org.kind != "facilitator":
        raise ValidationFailed(
            f"organisation '{org.name}' is of kind '{org.kind}': only a facilitator organisation has a profile",
            details=[{"field": "kind", "message": "not a facilitator organisation"}],
        )
    return org


def clean_regions(regions: list[str]) -> list[str]:
    out = []
    for i, text in enumerate(regions):
        try:
            out.append(normalise_country(text))
        except ValueError as exc:
            raise ValidationFailed(str(exc), details=[{"field": f"regions[{i}]", "message": str(exc)}]) from None
    return sorted(set(out))


def clean_specialities(specialities: list[str]) -> list[str]:
    catalog = get_catalog()
    out = []
    for i, text in enumerate(specialities):
        value = text.strip()
        if value not in CATEGORIES and value not in catalog:
            message = f"'{value}' is neither a category ({', '.join(CATEGORIES)}) nor a resource class of the catalogue"
            raise ValidationFailed(message, details=[{"field": f"specialities[{i}]", "message": message}])
        out.append(value)
    return sorted(set(out))


def set_profile(session: Session, principal: Principal, org_id: str, values: dict[str, Any]) -> FacilitatorProfile:
    """Create or update a facilitator organisation's profile (its owners and admins)."""
    org = _facilitator_org(session, org_id)
    if effective_role(session, principal, org) not in ADMIN_ROLES:
        raise Forbidden("only an owner or admin of the facilitator organisation may change its profile")
    profile = session.get(FacilitatorProfile, org_id) or FacilitatorProfile(organization_id=org_id)
    if "regions" in values:
        values["regions"] = clean_regions(values["regions"])
    if "specialities" in values:
        values["specialities"] = clean_specialities(values["specialities"])
    for key, value in values.items():
        setattr(profile, key, value)
    session.add(profile)
    session.flush()
    return profile


def profile_view(session: Session, profile: FacilitatorProfile) -> dict[str, Any]:
    org = session.get(Organization, profile.organization_id)
    return {
        "organization_id": profile.organization_id,
        "organization": org.name if org else None,
        "regions": profile.regions,
        "specialities": profile.specialities,
        "fee_model": profile.fee_model,
        "fee_eur": profile.fee_eur,
        "fee_note": profile.fee_note,
        "sla_hours": profile.sla_hours,
        "active": profile.active,
    }


def facilitators(session: Session, country: str | None = None, speciality: str | None = None) -> list[dict[str, Any]]:
    """The active facilitators (public: organisations that offer their services), optionally those covering a
    country and a speciality."""
    rows = session.scalars(sa.select(FacilitatorProfile).where(FacilitatorProfile.active.is_(True))).all()
    out = []
    for p in rows:
        if country and p.regions and normalise_country(country) not in p.regions:
            continue
        if speciality and p.specialities and speciality not in p.specialities:
            continue
        out.append(profile_view(session, p))
    return sorted(out, key=lambda v: str(v["organization"]))


def covers(profile: FacilitatorProfile, case: FacilitationCase) -> bool:
    """Whether the profile's regions and specialities take in the case (empty lists take in everything)."""
    if not profile.active:
        return False
    if profile.regions and case.country not in profile.regions:
        return False
    if profile.specialities:
        wanted = set(profile.specialities)
        classes = {case.category, case.supply_class, case.demand_class} - {None}
        catalog = get_catalog()
        for cid in (case.supply_class, case.demand_class):
            if cid and cid in catalog:
                classes |= set(catalog.ancestors(cid))
        if not wanted & classes:
            return False
    return True


def my_profiles(
    session: Session, principal: Principal, roles: tuple[str, ...] = WRITE_ROLES
) -> list[FacilitatorProfile]:
    """The facilitator profiles of the organisations the caller works for (with one of `roles`)."""
    query = sa.select(FacilitatorProfile).join(
        Membership, Membership.organization_id == FacilitatorProfile.organization_id
    )
    if not principal.is_admin:
        query = query.where(Membership.user_id == principal.user.id, Membership.role.in_(roles))
    if principal.api_key_organization_id is not None:
        query = query.where(FacilitatorProfile.organization_id == principal.api_key_organization_id)
    return list(session.scalars(query.distinct()).all())


# --- the queue --------------------------------------------------------------------------------------------------------
def refresh_queue(session: Session) -> int:
    """Open a case for every stored match the router sent to a facilitator and that has none yet. Returns how many
    were opened. (Matches are stored with each run: `turash match --store`, and every API listing.)"""
    known = sa.select(FacilitationCase.match_id)
    rows = session.scalars(
        sa.select(MatchRecord).where(MatchRecord.route == "facilitated", MatchRecord.id.not_in(known))
    ).all()
    if not rows:
        return 0
    flows = {
        f.id: f
        for f in session.scalars(sa.select(ResourceFlow).where(ResourceFlow.id.in_({r.supply_flow_id for r in rows})))
    }
    sites = {s.id: s for s in session.scalars(sa.select(Site).where(Site.id.in_({f.site_id for f in flows.values()})))}
    for r in rows:
        details = r.details or {}
        supply = flows.get(r.supply_flow_id)
        site = sites.get(supply.site_id) if supply else None
        session.add(
            FacilitationCase(
                id=new_id(),
                match_id=r.id,
                supply_flow_id=r.supply_flow_id,
                demand_flow_id=r.demand_flow_id,
                country=site.country if site else None,
                category=details.get("category"),
                supply_class=(details.get("supply") or {}).get("resource_class"),
                demand_class=(details.get("demand") or {}).get("resource_class"),
                reasons=list(details.get("route_reasons") or []),
                snapshot={
                    "score": r.score,
                    "distance_km": r.distance_km,
                    "economics": r.economics,
                    "supply": details.get("supply") or {},
                    "demand": details.get("demand") or {},
                    "explanation": r.explanation,
                },
                status=OPEN,
            )
        )
    session.flush()
    return len(rows)


def case_view(session: Session, case: FacilitationCase, mine: set[str]) -> dict[str, Any]:
    """A case as a facilitator sees it: anonymised unless the caller's organisation holds it."""
    snap = case.snapshot or {}
    holder = session.get(Organization, case.facilitator_org_id) if case.facilitator_org_id else None
    out: dict[str, Any] = {
        "id": case.id,
        "match_id": case.match_id,
        "status": case.status,
        "country": case.country,
        "category": case.category,
        "supply_class": case.supply_class,
        "demand_class": case.demand_class,
        "reasons": case.reasons,
        "score": snap.get("score"),
        "distance_band": distance_band(snap.get("distance_km")),
        "economics": snap.get("economics"),
        "facilitator": holder.name if holder else None,
        "claimed_at": case.claimed_at.isoformat() if case.claimed_at else None,
        "due_at": case.due_at.isoformat() if case.due_at else None,
        "overdue": bool(case.status == CLAIMED and case.due_at and as_utc(case.due_at) < utcnow()),
        "proposal_id": case.proposal_id,
        "outcome_reason": case.outcome_reason,
        "created_at": case.created_at.isoformat(),
    }
    if case.facilitator_org_id in mine:
        out["supply"] = snap.get("supply")
        out["demand"] = snap.get("demand")
        out["distance_km"] = snap.get("distance_km")
        out["explanation"] = snap.get("explanation")
    return out


def queue(
    session: Session, principal: Principal, status: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Cases for the caller's facilitator organisations: the open ones their profiles cover, and the ones they hold."""
    profiles = my_profiles(session, principal, ("owner", "admin", "member", "viewer"))
    if not profiles and not principal.is_admin:
        raise Forbidden("the marketplace is for members of a facilitator organisation with a profile")
    refresh_queue(session)
    remind_overdue(session)
    mine = {p.organization_id for p in profiles}
    query = sa.select(FacilitationCase)
    if status:
        query = query.where(FacilitationCase.status == status)
    cases = [
        c
        for c in session.scalars(query.order_by(FacilitationCase.created_at.desc(), FacilitationCase.id))
        if principal.is_admin
        or c.facilitator_org_id in mine
        or (c.status == OPEN and any(covers(p, c) for p in profiles))
    ]
    return [case_view(session, c, mine) for c in cases[offset : offset + limit]], len(cases)


def _case(session: Session, case_id: str) -> FacilitationCase:
    case = session.get(FacilitationCase, case_id)
    if case is None:
        raise NotFound.of("facilitation case", case_id)
    return case


def _holder_role(session: Session, principal: Principal, case: FacilitationCase) -> None:
    holder = session.get(Organization, case.facilitator_org_id) if case.facilitator_org_id else None
    if holder is None or effective_role(session, principal, holder) not in WRITE_ROLES:
        raise Forbidden("only the facilitator holding this case may do that")


def claim(uow: UnitOfWork, principal: Principal, case_id: str, org_id: str | None = None) -> FacilitationCase:
    session = uow.session
    case = _case(session, case_id)
    if case.status != OPEN:
        raise Conflict(f"the case is {case.status}, not open", code="not_open", details={"status": case.status})
    profiles = [p for p in my_profiles(session, principal) if covers(p, case)]
    if org_id is not None:
        profiles = [p for p in profiles if p.organization_id == org_id]
    if not profiles:
        raise Forbidden("none of your facilitator organisations covers this case (regions, specialities, active)")
    if len(profiles) > 1:
        raise ValidationFailed(
            "you work for several facilitators that cover this case: say which with organization_id",
            details=[{"field": "organization_id", "message": "required"}],
        )
    profile = profiles[0]
    now = utcnow()
    case.status, case.facilitator_org_id, case.claimed_by = CLAIMED, profile.organization_id, principal.user.id
    case.claimed_at, case.due_at, case.reminded_at = now, now + timedelta(hours=profile.sla_hours), None
    event = DomainEvent("facilitation.claimed", {"case_id": case.id, "facilitator_org_id": profile.organization_id})
    uow.collect(event)
    _notify_parties(
        session, case, "A facilitator takes on your match", f"{_org_name(session, profile)} will help.", event
    )
    return case


def release(uow: UnitOfWork, principal: Principal, case_id: str) -> FacilitationCase:
    case = _case(uow.session, case_id)
    if case.status != CLAIMED:
        raise Conflict(f"the case is {case.status}, not claimed", code="not_claimed", details={"status": case.status})
    _holder_role(uow.session, principal, case)
    case.status, case.facilitator_org_id, case.claimed_by = OPEN, None, None
    case.claimed_at = case.due_at = case.reminded_at = None
    uow.collect(DomainEvent("facilitation.released", {"case_id": case.id}))
    return case


def propose(uow: UnitOfWork, holder: dict[str, Any], principal: Principal, case_id: str) -> Proposal:
    """The facilitator opens the proposal between the two parties (supplier proposes, receiver receives), and is
    its assigned facilitator: it may move every state."""
    from turash.proposals import service as proposals

    session = uow.session
    case = _case(session, case_id)
    if case.status != CLAIMED:
        raise Conflict("claim the case first", code="not_claimed", details={"status": case.status})
    _holder_role(session, principal, case)
    if case.proposal_id is not None:
        raise Conflict("the case has a proposal", code="proposal_exists", details={"proposal_id": case.proposal_id})
    assert case.facilitator_org_id is not None
    proposal = proposals.open_facilitated(uow, holder, principal, case.match_id, case.facilitator_org_id)
    case.proposal_id = proposal.id
    case.due_at = None  # the first step is taken
    return proposal


def record_outcome(
    uow: UnitOfWork, principal: Principal | None, case_id: str, outcome: str, reason: str | None
) -> FacilitationCase:
    """Close a case: agreed, or failed with the reason. `principal` None: recorded from its proposal's outcome."""
    session = uow.session
    case = _case(session, case_id)
    if outcome not in OUTCOMES:
        raise ValidationFailed(
            f"outcome must be one of {', '.join(OUTCOMES)}", details=[{"field": "outcome", "message": "unknown"}]
        )
    if outcome == "failed" and not (reason or "").strip():
        raise ValidationFailed(
            "say why it failed: the reason improves matching and the statistics",
            details=[{"field": "reason", "message": "required when the outcome is failed"}],
        )
    if case.status != CLAIMED:
        raise Conflict(f"the case is {case.status}, not claimed", code="not_claimed", details={"status": case.status})
    if principal is not None:
        _holder_role(session, principal, case)
    case.status, case.outcome_reason, case.closed_at, case.due_at = outcome, reason, utcnow(), None
    uow.collect(DomainEvent("facilitation.outcome", {"case_id": case.id, "outcome": outcome}))
    return case


def on_proposal_status(uow: UnitOfWork, proposal: Proposal) -> None:
    """A proposal opened from a case reached agreed or failed: the case records the same outcome."""
    if proposal.status not in OUTCOMES:
        return
    case = uow.session.scalar(sa.select(FacilitationCase).where(FacilitationCase.proposal_id == proposal.id))
    if case is not None and case.status == CLAIMED:
        reason = "the proposal failed" if proposal.status == "failed" else None
        record_outcome(uow, None, case.id, proposal.status, reason)


def remind_overdue(session: Session, now: datetime | None = None, collect: Any = None) -> int:
    """One in-app reminder to the holding facilitator's members for each claimed case past its SLA without a first
    step. Returns how many cases were reminded (run by the queue, `turash facilitation remind` or a scheduler)."""
    now = now or utcnow()
    cases = session.scalars(
        sa.select(FacilitationCase).where(
            FacilitationCase.status == CLAIMED,
            FacilitationCase.due_at.is_not(None),
            FacilitationCase.reminded_at.is_(None),
        )
    ).all()
    count = 0
    for case in cases:
        if case.due_at is None or as_utc(case.due_at) > now:
            continue
        event = DomainEvent("facilitation.overdue", {"case_id": case.id})
        if collect is not None:
            collect(event)  # then e-mailed and pushed live like any notification
        notify_members(
            session,
            [case.facilitator_org_id],
            "facilitation",
            "A facilitation case is overdue",
            f"The response time for case {case.id} ({case.category}, {case.country}) has passed: open the proposal "
            "or record the outcome.",
            {"case_id": case.id},
            event,
        )
        case.reminded_at = now
        count += 1
    session.flush()
    return count


def _org_name(session: Session, profile: FacilitatorProfile) -> str:
    org = session.get(Organization, profile.organization_id)
    return org.name if org else "a facilitator"


def _notify_parties(session: Session, case: FacilitationCase, title: str, body: str, event: DomainEvent) -> None:
    flows = [f for f in (case.supply_flow_id, case.demand_flow_id) if f]
    orgs = session.scalars(sa.select(ResourceFlow.organization_id).where(ResourceFlow.id.in_(flows)))
    notify_members(session, orgs, "facilitation", title, body, {"case_id": case.id}, event)


# --- statistics -------------------------------------------------------------------------------------------------------
def stats(session: Session) -> dict[str, Any]:
    """Per facilitator and per router rule: cases, open, claimed, agreed, failed, success rate, SLA reminders, and
    the median hours from claim to outcome."""
    cases = session.scalars(sa.select(FacilitationCase)).all()
    by_org: dict[str | None, list[FacilitationCase]] = defaultdict(list)
    by_rule: dict[str, list[FacilitationCase]] = defaultdict(list)
    for c in cases:
        by_org[c.facilitator_org_id].append(c)
        for reason in c.reasons or ["(none)"]:
            by_rule[_rule(reason)].append(c)
    names: dict[str | None, str] = {
        org_id: name
        for org_id, name in session.execute(
            sa.select(Organization.id, Organization.name).where(Organization.kind == "facilitator")
        )
    }
    return {
        "facilitators": [
            {"organization_id": org, "organization": names.get(org), **_summary(group)}
            for org, group in sorted(by_org.items(), key=lambda kv: str(names.get(kv[0]) or ""))
            if org is not None
        ],
        "rules": [{"rule": rule, **_summary(group)} for rule, group in sorted(by_rule.items())],
        "total": _summary(list(cases)),
    }


def _rule(reason: str) -> str:
    """The rule behind a router reason: "large capital project: 4.2 km of heat pipe" → "large capital project"."""
    return reason.split(":")[0].split("(")[0].strip()


def _summary(group: list[FacilitationCase]) -> dict[str, Any]:
    counts = {s: sum(c.status == s for c in group) for s in ("open", "claimed", "agreed", "failed")}
    closed = counts["agreed"] + counts["failed"]
    hours = sorted(
        (as_utc(c.closed_at) - as_utc(c.claimed_at)).total_seconds() / 3600.0
        for c in group
        if c.closed_at is not None and c.claimed_at is not None
    )
    return {
        "cases": len(group),
        **counts,
        "success_rate": round(counts["agreed"] / closed, 3) if closed else None,
        "reminded": sum(c.reminded_at is not None for c in group),
        "median_hours_to_outcome": round(hours[len(hours) // 2], 2) if hours else None,
    }
