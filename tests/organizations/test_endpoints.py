"""Organisations, members, roles, and organisation scoping: user B never reads or changes A's data."""

import pytest

from tests.conftest import Api
from turash.models import Organization
from turash.models.base import name_key, new_id


def test_create_makes_the_caller_owner(alice: Api) -> None:
    org = alice.organization("Kalundborg Forsyning", kind="utility", nace="C35.3.0", country="dk")
    assert org["role"] == "owner" and org["nace"] == "35.30" and org["country"] == "DK" and org["kind"] == "utility"
    mine = alice.get("/api/v1/users/me/organizations").json()
    assert [(o["name"], o["role"]) for o in mine] == [("Kalundborg Forsyning", "owner")]


@pytest.mark.parametrize(
    "body",
    [
        {"name": ""},
        {"name": "x", "kind": "cartel"},
        {"name": "x", "nace": "banana"},
        {"name": "x", "country": "Atlantis"},
        {"name": "x", "unknown": 1},
    ],
)
def test_create_validates(alice: Api, body: dict) -> None:  # type: ignore[type-arg]
    r = alice.post("/api/v1/organizations", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]


def test_other_users_cannot_see_or_touch_an_organisation(alice: Api, bob: Api) -> None:
    org = alice.organization("Alice Cement")
    site = alice.site(org["id"])
    flow = alice.flow(site["id"])
    service = alice.post(
        f"/api/v1/organizations/{org['id']}/services", json={"kind": "transport", "name": "Trucks"}
    ).json()
    for url in (
        f"/api/v1/organizations/{org['id']}",
        f"/api/v1/organizations/{org['id']}/sites",
        f"/api/v1/organizations/{org['id']}/members",
        f"/api/v1/organizations/{org['id']}/services",
        f"/api/v1/organizations/{org['id']}/audit",
        f"/api/v1/sites/{site['id']}",
        f"/api/v1/sites/{site['id']}/flows",
        f"/api/v1/flows/{flow['id']}",
        f"/api/v1/services/{service['id']}",
    ):
        r = bob.get(url)
        assert r.status_code == 403, url
        assert org["id"] not in r.text or org["id"] in url, url  # the refusal does not say whose record it is
    assert bob.patch(f"/api/v1/organizations/{org['id']}", json={"name": "pwned"}).status_code == 403
    assert bob.delete(f"/api/v1/organizations/{org['id']}").status_code == 403
    assert (
        bob.post(f"/api/v1/organizations/{org['id']}/sites", json={"name": "x", "lat": 1, "lon": 1}).status_code == 403
    )
    assert bob.patch(f"/api/v1/sites/{site['id']}", json={"name": "x"}).status_code == 403
    assert bob.delete(f"/api/v1/sites/{site['id']}").status_code == 403
    assert (
        bob.post(f"/api/v1/sites/{site['id']}/flows", json={"direction": "demand", "resource": "x"}).status_code == 403
    )
    assert bob.patch(f"/api/v1/flows/{flow['id']}", json={"quantity": 1}).status_code == 403
    assert bob.delete(f"/api/v1/flows/{flow['id']}").status_code == 403
    assert bob.patch(f"/api/v1/services/{service['id']}", json={"name": "x"}).status_code == 403
    assert bob.delete(f"/api/v1/services/{service['id']}").status_code == 403
    assert bob.post(f"/api/v1/organizations/{org['id']}/members", json={"email": bob.email}).status_code == 403
    # lists never leak it either
    assert bob.get("/api/v1/flows").json()["total"] == 0
    assert bob.get("/api/v1/sites").json()["total"] == 0
    assert bob.get("/api/v1/services").json()["total"] == 0
    assert bob.get("/api/v1/organizations").json()["total"] == 0
    # and nothing changed
    assert alice.get(f"/api/v1/organizations/{org['id']}").json()["name"] == "Alice Cement"
    assert alice.get(f"/api/v1/flows/{flow['id']}").status_code == 200


def test_missing_ids_are_404(alice: Api) -> None:
    assert alice.get("/api/v1/organizations/doesnotexist").status_code == 404
    assert alice.get("/api/v1/flows/doesnotexist").json()["error"]["code"] == "not_found"


def test_roles(alice: Api, bob: Api, client) -> None:  # type: ignore[no-untyped-def]
    org = alice.organization("Alice Paper")
    oid = org["id"]
    assert (
        alice.post(f"/api/v1/organizations/{oid}/members", json={"email": bob.email, "role": "viewer"}).status_code
        == 201
    )
    # viewer reads, cannot write
    assert bob.get(f"/api/v1/organizations/{oid}").json()["role"] == "viewer"
    assert bob.post(f"/api/v1/organizations/{oid}/sites", json={"name": "x", "lat": 1, "lon": 1}).status_code == 403
    # member edits sites and flows, not the organisation
    assert (
        alice.patch(
            f"/api/v1/organizations/{oid}/members/{bob.get('/api/v1/users/me').json()['id']}", json={"role": "member"}
        ).status_code
        == 200
    )
    site = bob.site(oid)
    bob.flow(site["id"])
    assert bob.patch(f"/api/v1/organizations/{oid}", json={"name": "x"}).status_code == 403
    assert bob.delete(f"/api/v1/organizations/{oid}").status_code == 403
    # an admin cannot appoint owners; the last owner cannot be removed
    bob_id = bob.get("/api/v1/users/me").json()["id"]
    alice_id = alice.get("/api/v1/users/me").json()["id"]
    alice.patch(f"/api/v1/organizations/{oid}/members/{bob_id}", json={"role": "admin"})
    assert bob.patch(f"/api/v1/organizations/{oid}/members/{bob_id}", json={"role": "owner"}).status_code == 403
    assert bob.delete(f"/api/v1/organizations/{oid}/members/{alice_id}").status_code == 403
    r = alice.patch(f"/api/v1/organizations/{oid}/members/{alice_id}", json={"role": "member"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "last_owner"
    assert alice.delete(f"/api/v1/organizations/{oid}").status_code == 204
    assert bob.get(f"/api/v1/organizations/{oid}").status_code == 404


def test_public_register_organisations_are_readable_and_read_only(alice: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.uow() as uow:
        org = Organization(
            id=new_id(),
            name="Public Steel",
            name_key=name_key("Public Steel"),
            kind="enterprise",
            source="register",
            source_ref="hotmaps:1",
        )
        uow.session.add(org)
        uow.commit()
    r = alice.get(f"/api/v1/organizations/{org.id}")
    assert r.status_code == 200 and r.json()["role"] == "viewer" and "Hotmaps" in r.json()["attribution"]
    assert alice.patch(f"/api/v1/organizations/{org.id}", json={"name": "mine"}).status_code == 403
    assert (
        alice.post(f"/api/v1/organizations/{org.id}/sites", json={"name": "x", "lat": 1, "lon": 1}).status_code == 403
    )
    assert alice.get("/api/v1/organizations?source=register").json()["total"] == 1


def test_every_change_is_audited_with_who_and_what(alice: Api) -> None:
    org = alice.organization("Audited Ltd")
    alice.patch(f"/api/v1/organizations/{org['id']}", json={"name": "Audited Ltd."})
    entries = alice.get(f"/api/v1/organizations/{org['id']}/audit").json()
    update = next(e for e in entries if e["action"] == "update" and e["entity"] == "organizations")
    assert update["actor"] == f"user:{alice.email}"
    assert update["before"] == {"name": "Audited Ltd", "name_key": "audited ltd"}
    assert update["after"] == {"name": "Audited Ltd.", "name_key": "audited ltd."}
    assert {("create", "organizations"), ("create", "memberships")} <= {(e["action"], e["entity"]) for e in entries}
