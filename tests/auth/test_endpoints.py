import time

import jwt
import pytest
from fastapi.testclient import TestClient

from tests.conftest import Api
from turash.models import User


def test_register_returns_201_and_never_the_password(client: TestClient, session) -> None:  # type: ignore[no-untyped-def]
    r = client.post(
        "/api/v1/auth/register", json={"email": "Ana@Example.org", "password": "a long password", "name": "Ana"}
    )
    assert r.status_code == 201
    body = r.json()
    assert body["email"] == "ana@example.org"
    assert "password" not in r.text and "hash" not in r.text


def test_password_is_stored_as_argon2id(alice: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    with runtime.uow() as uow:
        user = uow.session.query(User).filter_by(email="alice@example.org").one()
        assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email", "password": "a long password", "name": "x"},
        {"email": "a@b.org", "password": "short", "name": "x"},
        {"email": "a@b.org", "password": "a long password"},
        {"email": "a@b.org", "password": "a long password", "name": "x", "role": "admin"},
    ],
)
def test_register_rejects_bad_input_with_422_json(client: TestClient, body: dict) -> None:  # type: ignore[type-arg]
    r = client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"] and all("field" in d and "message" in d for d in error["details"])


def test_register_duplicate_email_is_409(alice: Api) -> None:
    r = alice.client.post(
        "/api/v1/auth/register", json={"email": "ALICE@example.org", "password": "another password", "name": "again"}
    )
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "email_taken"


def test_token_shape_and_short_lifetime(alice: Api, settings) -> None:  # type: ignore[no-untyped-def]
    tokens = alice.tokens
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 15 * 60
    claims = jwt.decode(tokens["access_token"], settings.resolved_secret_key(), algorithms=["HS256"])
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert tokens["refresh_token"]


def test_wrong_password_is_401(alice: Api) -> None:
    r = alice.client.post("/api/v1/auth/token", data={"username": alice.email, "password": "wrong password!"})
    assert r.status_code == 401
    assert r.json()["error"]["code"] == "invalid_credentials"
    r = alice.client.post("/api/v1/auth/token", data={"username": "nobody@example.org", "password": "x" * 12})
    assert r.status_code == 401


def test_login_is_rate_limited(alice: Api) -> None:
    codes = [
        alice.client.post("/api/v1/auth/token", data={"username": alice.email, "password": "nope nope"}).status_code
        for _ in range(11)
    ]
    assert codes[:9] == [401] * 9  # alice's fixture login used one attempt of the 10
    assert codes[-1] == 429
    r = alice.client.post("/api/v1/auth/token", data={"username": alice.email, "password": "correct horse battery"})
    assert r.status_code == 429  # even the right password waits out the window
    assert r.json()["error"]["code"] == "rate_limited"
    assert "retry-after" in {k.lower() for k in r.headers}


def test_me_requires_a_token(client: TestClient, alice: Api) -> None:
    assert client.get("/api/v1/users/me").status_code == 401
    assert client.get("/api/v1/users/me", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    assert alice.get("/api/v1/users/me").json()["email"] == alice.email


def test_expired_and_forged_tokens_are_rejected(alice: Api, settings) -> None:  # type: ignore[no-untyped-def]
    claims = jwt.decode(alice.tokens["access_token"], settings.resolved_secret_key(), algorithms=["HS256"])
    expired = jwt.encode({**claims, "exp": int(time.time()) - 10}, settings.resolved_secret_key(), algorithm="HS256")
    forged = jwt.encode(claims, "another-secret-" + "y" * 40, algorithm="HS256")
    none_alg = jwt.encode(claims, key="", algorithm="none")
    for token in (expired, forged, none_alg):
        r = alice.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


def test_refresh_rotates_and_detects_reuse(alice: Api) -> None:
    old = alice.tokens["refresh_token"]
    r = alice.client.post("/api/v1/auth/refresh", json={"refresh_token": old})
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != old
    assert (
        alice.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {new['access_token']}"}).status_code
        == 200
    )
    # the old refresh token comes back: treated as stolen, the whole session ends
    assert alice.client.post("/api/v1/auth/refresh", json={"refresh_token": old}).status_code == 401
    assert alice.client.post("/api/v1/auth/refresh", json={"refresh_token": new["refresh_token"]}).status_code == 401
    assert (
        alice.client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {new['access_token']}"}).status_code
        == 401
    )


def test_logout_ends_the_session(alice: Api) -> None:
    assert alice.post("/api/v1/auth/logout").status_code == 204
    assert alice.get("/api/v1/users/me").status_code == 401


def test_api_keys_are_shown_once_hashed_at_rest_and_revocable(alice: Api, runtime) -> None:  # type: ignore[no-untyped-def]
    r = alice.post("/api/v1/users/me/api-keys", json={"name": "ERP sync"})
    assert r.status_code == 201
    created = r.json()
    secret = created["key"]
    assert secret.startswith("tk_")
    listed = alice.get("/api/v1/users/me/api-keys").json()
    assert secret not in str(listed) and listed[0]["prefix"] == secret[:10]
    with runtime.uow() as uow:
        from turash.models import ApiKey

        stored = uow.session.get(ApiKey, created["id"])
        assert stored is not None and secret not in stored.key_hash and len(stored.key_hash) == 64
    key_headers = {"X-API-Key": secret}
    assert alice.client.get("/api/v1/users/me", headers=key_headers).json()["email"] == alice.email
    assert alice.client.post("/api/v1/users/me/api-keys", headers=key_headers, json={"name": "x"}).status_code == 403
    assert alice.delete(f"/api/v1/users/me/api-keys/{created['id']}").status_code == 200
    assert alice.client.get("/api/v1/users/me", headers=key_headers).status_code == 401
    assert alice.client.get("/api/v1/users/me", headers={"X-API-Key": "tk_made_up"}).status_code == 401


def test_api_key_limited_to_one_organisation(alice: Api) -> None:
    mine = alice.organization("Mine")
    other = alice.organization("Other")
    key = alice.post("/api/v1/users/me/api-keys", json={"name": "k", "organization_id": mine["id"]}).json()["key"]
    headers = {"X-API-Key": key}
    assert alice.client.get(f"/api/v1/organizations/{mine['id']}", headers=headers).status_code == 200
    assert alice.client.get(f"/api/v1/organizations/{other['id']}", headers=headers).status_code == 403


def test_api_key_for_someone_elses_organisation_is_refused(alice: Api, bob: Api) -> None:
    org = alice.organization("Alice Ltd")
    r = bob.post("/api/v1/users/me/api-keys", json={"name": "k", "organization_id": org["id"]})
    assert r.status_code == 403
