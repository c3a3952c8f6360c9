"""Application-wide properties: every route authenticates, errors are JSON, health and OpenAPI are public."""

import re

import pytest
from fastapi.testclient import TestClient

from turash.app import create_app

PUBLIC = {"/api/v1/health", "/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/auth/refresh"}


def _api_routes() -> list[tuple[str, str]]:
    """Every documented operation (the OpenAPI document lists all routes, whatever the router nesting)."""
    paths = create_app().openapi()["paths"]
    return [
        (method.upper(), path)
        for path, item in paths.items()
        if path.startswith("/api/v1") and path not in PUBLIC
        for method in item
    ]


ROUTES = _api_routes()


def test_the_api_has_the_contract_routes() -> None:
    paths = {p for _, p in ROUTES}
    for path in (
        "/api/v1/organizations",
        "/api/v1/users/me/organizations",
        "/api/v1/organizations/{organization_id}/sites",
        "/api/v1/sites/{site_id}/flows",
    ):
        assert path in paths


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_every_route_needs_credentials(client: TestClient, method: str, path: str) -> None:
    url = re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"X-API-Key": "tk_not_a_key"}):
        r = client.request(method, url, headers=headers, json={})
        assert r.status_code == 401, (method, url, headers, r.status_code, r.text)
        assert r.json()["error"]["code"] in {"not_authenticated", "invalid_token", "invalid_api_key"}


def test_health_is_public_and_checks_dependencies(client: TestClient) -> None:
    r = client.get("/api/v1/health")
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"] == {"database": "ok", "cache": "ok", "bus": "ok"}


def test_openapi_document_is_public_and_complete(client: TestClient) -> None:
    doc = client.get("/openapi.json").json()
    operation_ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    assert len(operation_ids) == len(set(operation_ids))
    assert "create_flow" in operation_ids and "login" in operation_ids
    assert "examples" in str(doc["components"]["schemas"]["FlowCreate"])


def test_unknown_route_and_method_give_json_errors(client: TestClient) -> None:
    r = client.get("/api/v1/nope")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.put("/api/v1/health")
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"


def test_malformed_json_is_422_not_500(client: TestClient) -> None:
    r = client.post("/api/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"


def test_oversized_body_is_413(client: TestClient) -> None:
    r = client.post("/api/v1/auth/register", content=b"x", headers={"Content-Length": str(10**9)})
    assert r.status_code == 413


def test_security_headers_and_request_id(client: TestClient) -> None:
    r = client.get("/api/v1/health", headers={"X-Request-ID": "abc123"})
    assert r.headers["X-Request-ID"] == "abc123"
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_web_app_is_served_with_client_routes(tmp_path, runtime, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import turash.app

    (tmp_path / "assets").mkdir()
    (tmp_path / "index.html").write_text("<!doctype html><title>app</title>")
    (tmp_path / "assets" / "app.js").write_text("console.log(1)")
    (tmp_path.parent / "secret.txt").write_text("do not serve")
    monkeypatch.setattr(turash.app, "WEBAPP_DIST", tmp_path)
    with TestClient(create_app(runtime=runtime)) as c:
        assert c.get("/").text.startswith("<!doctype html><title>app")
        assert c.get("/matches/some-id").text.startswith("<!doctype html>")  # a client-side route
        assert c.get("/assets/app.js").text == "console.log(1)"
        assert "do not serve" not in c.get("/../secret.txt").text
        assert "do not serve" not in c.get("/%2e%2e/secret.txt").text
        r = c.get("/api/v1/nothing-here")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        assert c.get("/api/v1/health").json()["status"] == "ok"
        assert "Industrial sites from public registers" in c.get("/registry/").text


def test_a_busy_sqlite_database_is_a_503_to_retry(runtime) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    from fastapi.testclient import TestClient
    from sqlalchemy.exc import OperationalError

    from turash.app import create_app

    app = create_app(runtime=runtime)

    @app.get("/busy")
    def busy() -> None:
        raise OperationalError("INSERT ...", {}, sqlite3.OperationalError("database is locked"))

    @app.get("/broken")
    def broken() -> None:
        raise OperationalError("SELECT ...", {}, sqlite3.OperationalError("no such table: nowhere"))

    for _ in range(2):  # before the web app's catch-all route
        app.router.routes.insert(0, app.router.routes.pop())
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/busy")
        assert r.status_code == 503 and r.headers["retry-after"] == "1"
        assert r.json()["error"]["code"] == "database_busy"
        other = client.get("/broken")
        assert other.status_code == 500 and "nowhere" not in other.text  # no internals leak
