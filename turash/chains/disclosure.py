"""Staged disclosure in chain listings, as for matches (turash.proposals.disclosure): a private organisation the
caller does not belong to (supplier, service provider or receiver) is shown by its sector only, until a proposal
with it has been accepted under NDA; organisations from public registers keep their names."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.models import Membership, Organization, ProposalParty
from turash.proposals.disclosure import ANONYMOUS, visible_organizations
from turash.proposals.service import NAMED_STATES


def _shown(session: Session, principal: Principal) -> set[str] | None:
    """Organisations the caller sees by name (None: all, for an administrator)."""
    if principal.is_admin:
        return None
    mine = set(session.scalars(sa.select(Membership.organization_id).where(Membership.user_id == principal.user.id)))
    shown = visible_organizations(session, mine) | set(
        session.scalars(sa.select(Organization.id).where(Organization.source == "register"))
    )
    # parties of a chain proposal at the named stage with one of mine
    from turash.models import Proposal

    named = sa.select(Proposal.id).where(Proposal.status.in_(NAMED_STATES), Proposal.nda_at.is_not(None))
    with_me = sa.select(ProposalParty.proposal_id).where(ProposalParty.organization_id.in_(mine))
    shown |= set(
        session.scalars(
            sa.select(ProposalParty.organization_id).where(
                ProposalParty.proposal_id.in_(named), ProposalParty.proposal_id.in_(with_me)
            )
        )
    )
    return shown


def disclose(session: Session, principal: Principal, chains: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = _shown(session, principal)
    if shown is None:
        return chains
    out = []
    for chain in chains:
        copy = dict(chain)
        hidden = False
        for part in ("supply", "service", "demand"):
            side = chain[part]
            if side["organization_id"] in shown:
                continue
            hidden = True
            name = side["organization"]
            copy[part] = {**side, "organization": ANONYMOUS, "organization_id": None}
            if "site" in side:
                copy[part]["site"] = ""
            copy["explanation"] = copy["explanation"].replace(name, f"a {ANONYMOUS}")
            copy["legs"] = [
                {**leg, "explanation": leg["explanation"].replace(name, f"a {ANONYMOUS}")} for leg in copy["legs"]
            ]
        if hidden:  # exact distances would place the other parties: whole km only
            copy["distance_km"] = float(round(chain["distance_km"]))
            copy["legs"] = [{**leg, "distance_km": float(round(leg["distance_km"]))} for leg in copy["legs"]]
        out.append(copy)
    return out


def disclose_cycles(session: Session, principal: Principal, cycles: list[dict[str, Any]]) -> list[dict[str, Any]]:
    shown = _shown(session, principal)
    if shown is None:
        return cycles
    out = []
    for cycle in cycles:
        steps = []
        for step in cycle["steps"]:
            s = dict(step)
            for end in ("from", "to"):
                if s[f"{end}_organization_id"] not in shown:
                    s[end], s[f"{end}_organization_id"] = ANONYMOUS, None
            steps.append(s)
        out.append({**cycle, "steps": steps, "organizations": [s["from"] for s in steps]})
    return out
