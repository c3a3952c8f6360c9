"""The index follows every writer: cascaded deletes, services, site renames; SQLite's FTS5 stays consistent."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from tests.conftest import Api
from turash.models import SearchDocument


def _search(user: Api, **params: Any) -> dict[str, Any]:
    r = user.get("/api/v1/search", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _documents(session: Session, *ids: str) -> list[tuple[str, str]]:
    rows = session.execute(sa.select(SearchDocument.kind, SearchDocument.ref_id).where(SearchDocument.ref_id.in_(ids)))
    return sorted((kind, ref) for kind, ref in rows)


def test_deleting_a_site_removes_its_flows_from_the_index(alice: Api, session: Session) -> None:
    org = alice.organization("Skagen Fiskemel")
    site = alice.site(org["id"], "Harbour plant", city="Skagen")
    flow = alice.flow(site["id"], resource="fish silage", quantity=500, unit="t/yr")
    assert _documents(session, site["id"], flow["id"]) == [("flow", flow["id"]), ("site", site["id"])]
    assert [i["id"] for i in _search(alice, q="fish silage")["items"]][:1] == [flow["id"]]
    assert alice.delete(f"/api/v1/sites/{site['id']}").status_code == 204
    assert _documents(session, site["id"], flow["id"]) == []  # the flow went by the foreign key's cascade
    assert _search(alice, q="fish silage")["total"] == 0


def test_renaming_a_site_rewrites_its_flows_and_services_are_indexed(alice: Api) -> None:
    org = alice.organization("Kalundborg Symbiosis Hub")
    site = alice.site(org["id"], "North gate", city="Kalundborg")
    flow = alice.flow(site["id"], resource="biogas digestate")
    r = alice.patch(f"/api/v1/sites/{site['id']}", json={"name": "Asnæs quay"})
    assert r.status_code == 200, r.text
    found = _search(alice, q="asnaes digestate", kind="flow")
    assert [i["id"] for i in found["items"]] == [flow["id"]]
    r = alice.post(
        f"/api/v1/organizations/{org['id']}/services",
        json={"kind": "treatment", "name": "Sludge dewatering", "resources": ["Klärschlamm"]},
    )
    assert r.status_code == 201, r.text
    service_id = r.json()["id"]
    assert [i["id"] for i in _search(alice, q="klarschlamm", kind="service")["items"]] == [service_id]
    assert alice.patch(f"/api/v1/services/{service_id}", json={"name": "Sludge drying"}).status_code == 200
    assert _search(alice, q="dewatering", kind="service")["total"] == 0
    assert _search(alice, q="sludge drying", kind="service")["items"][0]["id"] == service_id


def test_fts_index_is_consistent_after_writes(alice: Api, session: Session, backend: str) -> None:
    org = alice.organization("Integrity Foods")
    site = alice.site(org["id"], "Dairy")
    flow = alice.flow(site["id"], resource="whey permeate")
    alice.patch(f"/api/v1/flows/{flow['id']}", json={"resource": "acid whey"})
    alice.delete(f"/api/v1/flows/{flow['id']}")
    if backend == "sqlite":
        session.execute(sa.text("INSERT INTO search_fts (search_fts) VALUES ('integrity-check')"))  # raises if not
    count = session.scalar(
        sa.select(sa.func.count()).select_from(SearchDocument).where(SearchDocument.ref_id == flow["id"])
    )
    assert count == 0


def test_a_bulk_import_indexes_its_rows_itself_and_leaves_the_triggers_on(session: Session, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Bulk inserts set the insert triggers aside for their own transaction and index the new rows in one
    statement per batch; afterwards an ordinary insert is indexed by its trigger again."""
    from turash.ingestion.service import import_flows
    from turash.models import Organization, ResourceFlow

    csv = tmp_path / "flows.csv"
    csv.write_text(
        "organization,site,lat,lon,direction,resource,quantity,unit\n"
        + "".join(f"Bulk Org {i},Plant {i},55.{i:02d},11.0,supply,fly ash,{1000 + i},t/yr\n" for i in range(40))
    )
    assert import_flows(session, csv).imported == 40
    session.flush()
    flows = session.scalars(sa.select(ResourceFlow.id)).all()
    orgs = session.scalars(sa.select(Organization.id)).all()
    assert len(_documents(session, *flows)) == 40 and len(_documents(session, *orgs)) == 40
    if session.get_bind().dialect.name == "sqlite":
        assert session.execute(sa.text("SELECT deferred FROM search_control")).scalar_one() == 0
    else:
        assert session.execute(sa.text("SELECT current_setting('turash.search_deferred', true)")).scalar() in (
            "off",
            "",
            None,
        )
    later = Organization(name="Trigger Check", name_key="trigger check")
    session.add(later)
    session.flush()
    assert _documents(session, later.id) == [("organization", later.id)]  # the trigger is on again
