"""Staged disclosure in match listings: a private organisation the caller does not belong to is shown by its
sector only, until a proposal between the two has been accepted and an NDA recorded (turash.proposals.service);
the distance to it is then given in whole kilometres. Organisations from public registers are public data and keep
their names."""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.matching.service import MatchingState
from turash.models import Membership, Proposal
from turash.proposals.service import NAMED_STATES

ANONYMOUS = "private organisation"


def _named_partners(session: Session, mine: set[str]) -> set[str]:
    """Organisations that reached the named stage with one of `mine` in some proposal."""
    rows = session.execute(
        sa.select(Proposal.proposer_org_id, Proposal.receiver_org_id).where(
            Proposal.status.in_(NAMED_STATES),
            Proposal.nda_at.is_not(None),
            sa.or_(Proposal.proposer_org_id.in_(mine), Proposal.receiver_org_id.in_(mine)),
        )
    )
    return {org for pair in rows for org in pair} - mine


def visible_organizations(session: Session, mine: set[str]) -> set[str]:
    """The private organisations a member of `mine` sees by name: its own and partners named in a proposal."""
    return mine | _named_partners(session, mine)


def disclose(
    session: Session, principal: Principal, st: MatchingState, matches: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    if principal.is_admin:
        return matches
    mine = set(session.scalars(sa.select(Membership.organization_id).where(Membership.user_id == principal.user.id)))
    shown = visible_organizations(session, mine)  # and the public organisations (not copied: thousands)
    public = st.public_orgs
    info, rows = st.flows.info, st.flows.row_of_flow
    out = []
    for match in matches:
        copy = dict(match)
        hidden = False
        for side in ("supply", "demand"):
            key = rows.get(match[side]["flow_id"])
            if key is None or info[key].organization_id in shown or info[key].organization_id in public:
                continue
            flow = info[key]
            hidden = True
            copy[side] = {**match[side], "organization": ANONYMOUS, "site": "", "sector": flow.nace}
            copy["explanation"] = copy["explanation"].replace(flow.organization, f"a {ANONYMOUS}")
        if hidden:  # the exact distance and one's own location would place the other party: whole km only
            km = round(float(match["distance_km"]))
            copy["distance_km"] = float(km)
            copy["explanation"] = _DISTANCE.sub(f"about {km} km apart", copy["explanation"])
        out.append(copy)
    return out


_DISTANCE = re.compile(r"\b\d+(?:\.\d+)? km apart")
