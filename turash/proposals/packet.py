"""Partner packets: per proposal or per match, one document (JSON, HTML, PDF) for both parties' decision-makers.

It holds both flows' specifications and the contacts as far as the disclosure stage allows (the same rules as
`GET /proposals/{id}`: anonymous → named after acceptance and an NDA → full after agreement), the economics and
risk summary of the match, the next steps for the caller's party, and template clauses for a mutual NDA and a
supply agreement (turash.proposals.templates; marked as templates to be checked by a lawyer).

Before the named stage the packet shows no names, sites, exact distance or risk reasons (which quote distances).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.auth.service import Principal
from turash.economics import service as economics_service
from turash.kit.cache import Cache
from turash.kit.document import Bullets, Document, Figures, Heading, Paragraph, Table, money, years
from turash.kit.errors import TurashError
from turash.matching import repository as matching_repository
from turash.matching import service as matching
from turash.models import Membership, ResourceFlow
from turash.proposals import service, templates
from turash.proposals.disclosure import visible_organizations

NEXT_STEPS: dict[str, dict[str, str]] = {
    "match": {
        "any": "Propose the match (POST /api/v1/proposals with its match_id): the other party sees it anonymously "
        "and may accept.",
    },
    "draft": {
        "proposer": "Check the figures and send the proposal (status sent); the receiver is told at once.",
        "any": "The proposer has not sent the proposal yet.",
    },
    "sent": {
        "receiver": "Accept the proposal to talk, or reject it (with a note saying why: it improves matching).",
        "any": "Waiting for the receiver to accept or reject; the proposer may withdraw.",
    },
    "accepted": {
        "any": "Sign a mutual NDA (template below) and record it (POST /api/v1/proposals/{id}/nda): names, sites "
        "and contacts are then shared; then open the negotiation (status in_negotiation).",
    },
    "in_negotiation": {
        "any": "Exchange samples and measured data, agree the quality specification and a price inside the win-win "
        "band (heads of terms below), then record the outcome: agreed or failed (with the reason).",
    },
    "agreed": {
        "any": "Build and commission the link; record implemented once the first delivery is made.",
    },
    "implemented": {
        "any": "The exchange runs: connect meters so the flows stay measured and the CO2 and savings are reported.",
    },
    "rejected": {"any": "Closed: the receiver rejected the proposal."},
    "withdrawn": {"any": "Closed: the proposer withdrew the proposal."},
    "failed": {"any": "Closed: the negotiation failed."},
}


def _steps(status: str, role: str | None) -> list[str]:
    by_role = NEXT_STEPS.get(status, {})
    return [by_role.get(role or "", by_role.get("any", ""))]


def _economics(session: Session, holder: dict[str, Any], cache: Cache, match_id: str, level: str) -> dict[str, Any]:
    """The summary of the match's business case; before the named stage without the risk reasons."""
    try:
        e = economics_service.business_case(session, holder, cache, match_id)["economics"]
    except TurashError as exc:
        return {"computable": False, "note": f"no business case: {exc.message}"}
    risk = {
        k: ({"level": v["level"], "reasons": v["reasons"]} if level != "anonymous" else {"level": v["level"]})
        for k, v in e["risk"].items()
    }
    keys = (
        "computable",
        "npv_eur",
        "npv_range",
        "irr",
        "payback_years",
        "capex_eur",
        "benefit_eur_per_year",
        "co2_avoided_t_per_year",
        "price_band",
        "price_band_reason",
    )
    return {**{k: e.get(k) for k in keys}, "risk": risk}


def _terms(packet: dict[str, Any]) -> templates.Terms:
    s, d = packet["supply"], packet["demand"]
    sf, df = s.get("flow") or {}, d.get("flow") or {}
    band = (packet.get("economics") or {}).get("price_band")
    quality = ", ".join(
        f"{label} {value}{unit}"
        for label, value, unit in (
            ("temperature", sf.get("temperature_c"), " °C"),
            ("pressure", sf.get("pressure_bar"), " bar"),
            ("purity", sf.get("purity_pct"), " %"),
        )
        if value is not None
    )
    price = (
        f"A transfer price between {band['low']:,.2f} and {band['high']:,.2f} {band['unit']} leaves both Parties "
        "better off than their alternatives (Turash screening estimate). Agreed price: [__] "
        f"{band['unit']}, indexed to [index], reviewed [yearly]."
        if band
        else "Agreed price: [__] per [unit], indexed to [index]; the screening found no price that suits both "
        "sides at the estimated costs: check the link's cost first."
    )
    category = (sf.get("category") or df.get("category") or "").lower()
    return templates.Terms(
        supplier=s.get("organization") or "[Supplier]",
        receiver=d.get("organization") or "[Receiver]",
        resource=s.get("resource") or "[resource]",
        use=d.get("resource") or "[use]",
        quantity=(
            f"About {sf['quantity']:g} {sf.get('unit') or ''} available, {df['quantity']:g} {df.get('unit') or ''} "
            "needed"
            if sf.get("quantity") is not None and df.get("quantity") is not None
            else f"[quantity] a year (the supply is in the band {s.get('quantity_band') or '[?]'})"
        ),
        quality=f"Specification: {quality}."
        if quality
        else "Specification: [temperature, purity, moisture, contaminants, particle size].",
        delivery="By pipe from [point] to [point]"
        if category in ("heat", "steam", "water", "gas")
        else "By [truck / rail / ship] to [address]",
        schedule=sf.get("schedule") or "[hours, months]",
        price=price,
        waste_status=templates.waste_status(sf.get("hazardous"), sf.get("ewc_code")),
        term_years=20,
        country="country",
    )


def proposal_packet(
    session: Session, holder: dict[str, Any], cache: Cache, acc: service.ProposalAccess
) -> dict[str, Any]:
    """The packet of a proposal, as the caller may see it."""
    view = service.view(session, acc, detail=False)
    packet = {
        "kind": "proposal",
        "id": view["id"],
        "match_id": view["match_id"],
        "status": view["status"],
        "my_role": view["my_role"],
        "disclosure": view["disclosure"],
        "supply": view["supply"],
        "demand": view["demand"],
        "score": view["score"],
        "distance_km": view["distance_km"],
        "economics": _economics(session, holder, cache, view["match_id"], view["disclosure"]),
        "next_steps": _steps(view["status"], view["my_role"]),
    }
    return _finish(packet)


def match_packet(
    session: Session, holder: dict[str, Any], cache: Cache, principal: Principal, match_id: str
) -> dict[str, Any]:
    """The packet of a match before any proposal: the caller's own side in full, the other as the match listings
    show it (anonymous unless public or a partner named in an earlier proposal)."""
    match = matching.match_for_pair(session, holder, match_id)
    pair = matching_repository.flows_of_match(match_id)
    assert pair is not None  # match_for_pair has checked it
    flows = {f.id: f for f in session.scalars(sa.select(ResourceFlow).where(ResourceFlow.id.in_(pair)))}
    mine = set(session.scalars(sa.select(Membership.organization_id).where(Membership.user_id == principal.user.id)))
    visible = visible_organizations(session, mine) | matching.state(session, holder).public_orgs
    sides: dict[str, Any] = {}
    levels = ["full"]
    for side, flow_id in zip(("supply", "demand"), pair, strict=True):
        flow = flows.get(flow_id)
        org_id = flow.organization_id if flow else None
        own = principal.is_admin or org_id in mine
        level = "full" if own else ("named" if org_id in visible else "anonymous")
        levels.append(level)
        sides[side] = service.side_view(session, flow_id, org_id, match[side], match.get("distance_km"), level)
        sides[side]["contacts"] = sides[side].get("contacts", []) if own else []  # contacts only via a proposal
    disclosure = min(levels, key=("anonymous", "named", "full").index)  # what the least-known side is shown at
    packet = {
        "kind": "match",
        "id": match_id,
        "match_id": match_id,
        "status": "match",
        "my_role": None,
        "disclosure": disclosure,
        "supply": sides["supply"],
        "demand": sides["demand"],
        "score": match.get("score"),
        "distance_km": None,
        "economics": _economics(session, holder, cache, match_id, "anonymous"),
        "next_steps": _steps("match", None),
    }
    return _finish(packet)


def _finish(packet: dict[str, Any]) -> dict[str, Any]:
    terms = _terms(packet)
    packet["templates"] = {
        "notice": templates.NOTICE,
        "nda": [{"clause": c, "text": t} for c, t in templates.nda(terms)],
        "supply_agreement": [{"clause": c, "text": t} for c, t in templates.supply_agreement(terms)],
    }
    packet["generated_at"] = datetime.now(UTC).replace(microsecond=0).isoformat()
    return packet


# --- rendering -------------------------------------------------------------------------------------------------
_SPEC = (
    ("organization", "organisation"),
    ("site", "site"),
    ("sector", "sector (NACE)"),
    ("resource", "resource"),
    ("resource_class", "resource class"),
    ("quantity_band", "quantity band"),
    ("distance_band", "distance band"),
)
_FLOW = (
    ("quantity", "quantity"),
    ("unit", "unit"),
    ("temperature_c", "temperature °C"),
    ("pressure_bar", "pressure bar"),
    ("purity_pct", "purity %"),
    ("ewc_code", "EWC code"),
    ("hazardous", "hazardous"),
    ("schedule", "schedule"),
    ("available_from", "available from"),
    ("available_to", "available to"),
    ("price_eur_per_unit", "price EUR/unit"),
    ("precision", "data precision"),
    ("description", "description"),
)


def _spec_rows(side: dict[str, Any]) -> list[tuple[str, str]]:
    rows = [(label, str(side[k])) for k, label in _SPEC if side.get(k) not in (None, "")]
    flow = side.get("flow") or {}
    rows += [(label, str(flow[k])) for k, label in _FLOW if flow.get(k) not in (None, "")]
    loc = side.get("location")
    if loc:
        rows.append(
            ("location", f"{loc['lat']:.5f}, {loc['lon']:.5f}" + (f", {loc['address']}" if loc.get("address") else ""))
        )
    return rows


def _tonnes(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f} t/yr"


def document(packet: dict[str, Any]) -> Document:
    s, d, e = packet["supply"], packet["demand"], packet.get("economics") or {}
    stage = packet["disclosure"]
    stage_note = {
        "anonymous": "Disclosure: anonymous. The other party is shown by sector and bands only; names, sites and "
        "contacts follow acceptance and a recorded NDA, full flow data the agreement.",
        "named": "Disclosure: named (accepted, NDA recorded). Full flow data follows the agreement.",
        "full": "Disclosure: full.",
    }[stage]
    what = "Proposal" if packet["kind"] == "proposal" else "Match"
    figures = [(f"{packet.get('score') or 0:.2f}", "match score")]
    if e.get("computable"):
        rng = e.get("npv_range") or {}
        band = e.get("price_band")
        figures += [
            (money(e.get("npv_eur")), f"NPV (P10 {money(rng.get('p10'))}, P90 {money(rng.get('p90'))})"),
            (years(e.get("payback_years")), "payback"),
            (money(e.get("capex_eur")), "investment"),
            (
                "n/a" if e.get("co2_avoided_t_per_year") is None else f"{e['co2_avoided_t_per_year']:,.0f} t/yr",
                "CO2e avoided",
            ),
            (f"{band['low']:,.2f}-{band['high']:,.2f} {band['unit']}" if band else "none", "win-win price band"),
        ]
    risk_rows = [
        (dim, v["level"], "; ".join(v.get("reasons", [])) or "(shown from the named stage)")
        for dim, v in (e.get("risk") or {}).items()
    ]
    contacts = [
        (f"{side_name}: ", ", ".join(f"{c['name']} <{c['email']}>" for c in side.get("contacts") or []))
        for side_name, side in (("Supplier", s), ("Receiver", d))
        if side.get("contacts")
    ]
    t = packet["templates"]
    blocks: list[Any] = [
        Paragraph(f"{what} {packet['id']} · status {packet['status']} · generated {packet['generated_at']}"),
        Paragraph(stage_note),
        Figures(figures),
        Heading("Supply"),
        Table(("field", "value"), _spec_rows(s), widths=(30, 70)),
        Heading("Demand"),
        Table(("field", "value"), _spec_rows(d), widths=(30, 70)),
        Heading("Economics and risk"),
        Paragraph(
            "A screening estimate from both flows' data (the business case export lists every assumption)."
            if e.get("computable")
            else str(e.get("note") or "not computable")
        ),
        Table(("dimension", "level", "reasons"), risk_rows, widths=(14, 9, 77)),
        Heading("Contacts"),
        Bullets(contacts) if contacts else Paragraph("Shared after acceptance and a recorded NDA."),
        Heading("Next steps"),
        Bullets([("", step) for step in packet["next_steps"]]),
        Heading("Template: mutual non-disclosure agreement"),
        Paragraph(t["notice"], small=True),
        Bullets([(f"{c['clause']}. ", c["text"]) for c in t["nda"]]),
        Heading("Template: supply agreement (heads of terms)"),
        Paragraph(t["notice"], small=True),
        Bullets([(f"{c['clause']}. ", c["text"]) for c in t["supply_agreement"]]),
        Paragraph(
            "Generated by Turash. Figures are screening estimates; check them with both parties' data.", small=True
        ),
    ]
    return Document(
        kicker="Partner packet",
        title=f"{s.get('resource') or 'supply'} → {d.get('resource') or 'demand'}",
        subject=f"{what.lower()} {packet['id']}",
        blocks=blocks,
    )
