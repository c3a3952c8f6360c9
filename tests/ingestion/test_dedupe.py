"""Entity resolution of organisations and sites, and merges that move everything and revert exactly."""

from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from turash.ingestion.dedupe import apply_merge, find_duplicates, propose_merges, reject_merge, revert_merge
from turash.kit.errors import Conflict
from turash.models import (
    AuditEntry,
    Base,
    Membership,
    MergeProposal,
    Organization,
    ResourceFlow,
    ServiceOffering,
    Site,
    User,
)
from turash.models.base import name_key, new_id

_NOT_SNAPSHOTTED = {"audit_log", "merge_proposals"}


def _org(session: Session, name: str, country: str | None = "DK", **extra: Any) -> Organization:
    org = Organization(id=new_id(), name=name, name_key=name_key(name), country=country, **extra)
    session.add(org)
    session.flush()
    return org


def _site(session: Session, org: Organization, name: str, lat: float, lon: float, **extra: Any) -> Site:
    site = Site(
        id=new_id(), organization_id=org.id, name=name, name_key=name_key(name), lat=lat, lon=lon, country="DK", **extra
    )
    session.add(site)
    session.flush()
    return site


def _flow(session: Session, site: Site, resource: str, fingerprint: str | None = None) -> ResourceFlow:
    flow = ResourceFlow(
        id=new_id(),
        organization_id=site.organization_id,
        site_id=site.id,
        direction="supply",
        resource=resource,
        fingerprint=fingerprint or new_id(),
        attributes={"note": resource},
    )
    session.add(flow)
    session.flush()
    return flow


def _user(session: Session, email: str) -> User:
    user = User(id=new_id(), email=email, name=email, password_hash="x")
    session.add(user)
    session.flush()
    return user


def _snapshot(session: Session) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every domain table, in primary-key order."""
    out = {}
    for table in Base.metadata.sorted_tables:
        if table.name in _NOT_SNAPSHOTTED:
            continue
        order = list(table.primary_key.columns)
        columns = list(table.columns)
        if table.name == "search_documents":
            # written by triggers from the other tables: a revert re-creates a document under a new row id,
            # with the same content
            columns = [c for c in table.columns if c.name != "id"]
            order = [table.c.kind, table.c.ref_id]
        out[table.name] = [tuple(r) for r in session.execute(sa.select(*columns).order_by(*order))]
    return out


def _pair(candidates: list[Any], a: str, b: str) -> Any:
    return next((c for c in candidates if {c.keep_id, c.merge_id} == {a, b}), None)


def test_same_company_with_and_without_legal_form_is_proposed(session: Session) -> None:
    first = _org(session, "Aalborg Portland A/S")
    second = _org(session, "Aalborg Portland")
    other = _org(session, "Aalborg Energie Technik")
    unrelated = _org(session, "Portland Cement Trading Ltd")
    found = find_duplicates(session, "organization")
    pair = _pair(found, first.id, second.id)
    assert pair is not None and pair.score == 1.0 and pair.keep_id == first.id  # the older is kept
    assert any("legal form" in r for r in pair.reasons)
    assert _pair(found, first.id, other.id) is None and _pair(found, second.id, other.id) is None
    assert _pair(found, first.id, unrelated.id) is None


def test_typo_is_proposed_but_another_country_is_not(session: Session) -> None:
    a = _org(session, "Nordjysk Elhandel A/S")
    b = _org(session, "Nordjysk Elhandl")
    c = _org(session, "Nordjysk Elhandel AB", country="SE")
    found = find_duplicates(session, "organization")
    assert _pair(found, a.id, b.id) is not None
    assert _pair(found, a.id, c.id) is None and _pair(found, b.id, c.id) is None


def test_sites_near_are_proposed_far_are_not(session: Session) -> None:
    org_a, org_b, org_c = _org(session, "Kalundborg Refinery"), _org(session, "Equinor"), _org(session, "Other")
    near_a = _site(session, org_a, "Kalundborg Refinery", 55.6800, 11.1000)
    near_b = _site(session, org_b, "Kalundborg Refinery", 55.6804, 11.1002)  # ~50 m away
    far = _site(session, org_c, "Kalundborg Refinery", 57.05, 9.92 + 3.5)  # ~300 km away
    neighbour = _site(session, org_c, "Novo Nordisk Kalundborg", 55.6801, 11.1001)  # next door, another plant
    found = find_duplicates(session, "site")
    pair = _pair(found, near_a.id, near_b.id)
    assert pair is not None and pair.distance_km < 0.1
    assert any("m apart" in r for r in pair.reasons)
    assert _pair(found, near_a.id, far.id) is None and _pair(found, near_b.id, far.id) is None
    assert _pair(found, near_a.id, neighbour.id) is None


def test_propose_twice_does_not_duplicate_and_decisions_stand(session: Session) -> None:
    a, b = _org(session, "Aalborg Portland A/S"), _org(session, "Aalborg Portland")
    first = propose_merges(session, "organization")
    assert [(p.keep_id, p.merge_id, p.status) for p in first] == [(a.id, b.id, "proposed")]
    assert propose_merges(session, "organization") == []
    user = _user(session, "reviewer@example.org")
    reject_merge(session, first[0].id, user.id)
    assert propose_merges(session, "organization") == []
    assert session.scalar(sa.select(sa.func.count()).select_from(MergeProposal)) == 1
    assert first[0].status == "rejected" and first[0].decided_by == user.id and first[0].decided_at is not None


def _two_aalborgs(session: Session) -> dict[str, Any]:
    ana, bo = _user(session, "ana@example.org"), _user(session, "bo@example.org")
    keep = _org(session, "Aalborg Portland A/S", nace="23.51", attributes={"a": 1})
    merge = _org(session, "Aalborg Portland", nace="23.51", website="https://aalborgportland.dk")
    kiln = _site(session, keep, "Kiln", 57.05, 9.95)
    quarry = _site(session, merge, "Quarry", 57.00, 9.90, attributes={"x": [1, 2]})
    twin = _site(session, merge, "Kiln", 57.0501, 9.9501)  # the same kiln, recorded under the other name
    flows = [_flow(session, kiln, "fly ash"), _flow(session, quarry, "limestone fines"), _flow(session, twin, "heat")]
    session.add_all(
        [
            Membership(id=new_id(), organization_id=keep.id, user_id=ana.id, role="owner"),
            Membership(id=new_id(), organization_id=merge.id, user_id=ana.id, role="admin"),  # a duplicate
            Membership(id=new_id(), organization_id=merge.id, user_id=bo.id, role="member"),
            ServiceOffering(id=new_id(), organization_id=merge.id, kind="transport", name="Bulk haulage"),
        ]
    )
    session.flush()
    return {"keep": keep, "merge": merge, "kiln": kiln, "twin": twin, "flows": flows, "ana": ana, "bo": bo}


def test_apply_moves_everything_and_revert_restores_every_row(session: Session) -> None:
    world = _two_aalborgs(session)
    keep, merge = world["keep"], world["merge"]
    before = _snapshot(session)
    (proposal,) = propose_merges(session, "organization")
    applied = apply_merge(session, proposal.id, world["ana"].id)
    assert applied.status == "merged" and applied.decided_by == world["ana"].id
    assert session.get(Organization, merge.id) is None
    sites = session.execute(sa.select(Site.name, Site.organization_id)).all()
    assert sorted(sites) == [("Kiln", keep.id), ("Quarry", keep.id)]  # the twin kiln folded into the kept one
    flows = session.execute(sa.select(ResourceFlow.resource, ResourceFlow.organization_id, ResourceFlow.site_id)).all()
    assert {f.organization_id for f in flows} == {keep.id} and len(flows) == 3
    assert {f.site_id for f in flows if f.resource in ("fly ash", "heat")} == {world["kiln"].id}
    members = session.execute(sa.select(Membership.user_id, Membership.organization_id, Membership.role)).all()
    # ana's duplicate membership of the merged organisation is dropped (she owns the kept one); bo's moves
    assert sorted(members) == sorted([(world["ana"].id, keep.id, "owner"), (world["bo"].id, keep.id, "member")])
    assert session.scalar(sa.select(ServiceOffering.organization_id)) == keep.id
    assert applied.undo["deleted"] == {"memberships": 1, "sites": 1, "organizations": 1}
    assert applied.undo["moved"]["resource_flows"] >= 3
    audit = session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "merge")).one()
    assert audit.entity == "organizations" and audit.entity_id == keep.id and audit.after["merged_id"] == merge.id

    reverted = revert_merge(session, proposal.id, world["ana"].id)
    assert reverted.status == "reverted"
    assert _snapshot(session) == before
    assert session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "unmerge")).one().entity_id == keep.id
    with pytest.raises(Conflict):
        revert_merge(session, proposal.id, None)


def test_site_merge_moves_flows_to_the_kept_site_and_its_organisation(session: Session) -> None:
    org_a, org_b = _org(session, "Kalundborg Refinery"), _org(session, "Equinor Refining Denmark")
    keep = _site(session, org_a, "Kalundborg Refinery", 55.6800, 11.1000)
    merge = _site(session, org_b, "Kalundborg refinery", 55.6804, 11.1002)
    flow = _flow(session, merge, "waste heat 90 C")
    before = _snapshot(session)
    (proposal,) = propose_merges(session, "site")
    assert (proposal.keep_id, proposal.merge_id) == (keep.id, merge.id)
    apply_merge(session, proposal.id, None)
    moved = session.get(ResourceFlow, flow.id)
    assert moved is not None and (moved.site_id, moved.organization_id) == (keep.id, org_a.id)
    assert session.get(Site, merge.id) is None
    revert_merge(session, proposal.id, None)
    assert _snapshot(session) == before


def test_apply_refuses_a_stale_or_decided_proposal(session: Session) -> None:
    a, b = _org(session, "Aalborg Portland A/S"), _org(session, "Aalborg Portland")
    c = _org(session, "Aalborg Portland ApS")
    proposals = {(p.keep_id, p.merge_id): p for p in propose_merges(session, "organization")}
    apply_merge(session, proposals[(a.id, b.id)].id, None)
    with pytest.raises(Conflict):
        apply_merge(session, proposals[(a.id, b.id)].id, None)
    with pytest.raises(Conflict):  # b is gone: the b/c proposal is stale
        apply_merge(session, proposals[(b.id, c.id)].id, None)
    assert session.get(Organization, c.id) is not None


def test_generic_site_names_of_two_companies_are_two_sites(session: Session) -> None:
    org_a, org_b = _org(session, "Hansen Beton"), _org(session, "Jensen Foder")
    a = _site(session, org_a, "Works", 55.6800, 11.1000)
    b = _site(session, org_b, "Works", 55.6801, 11.1001)  # next door, both simply "Works"
    plant_1, plant_2 = _site(session, org_a, "Plant 1", 55.70, 11.2), _site(session, org_a, "Plant 2", 55.70, 11.2)
    found = find_duplicates(session, "site")
    assert _pair(found, a.id, b.id) is None
    assert _pair(found, plant_1.id, plant_2.id) is None
    twin = _site(session, _org(session, "Hansen Beton A/S"), "Works", 55.6800, 11.1000)  # the same company twice
    assert _pair(find_duplicates(session, "site"), a.id, twin.id) is not None
    only_new = find_duplicates(session, "site", involving={twin.id})
    assert only_new and all(twin.id in (c.keep_id, c.merge_id) for c in only_new)
