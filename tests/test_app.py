"""Application-wide properties: every route authenticates, errors are JSON, health and OpenAPI are public."""

import re

import pytest
from fastapi.testclient import TestClient

from turash.app import create_app

PUBLIC = {
    "/api/v1/health",
    "/api/v1/health/live",
    "/api/v1/health/ready",
    "/api/v1/auth/register",
    "/api/v1/auth/token",
    "/api/v1/auth/refresh",
}


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


def test_an_oversized_chunked_body_is_413_too(client: TestClient, runtime) -> None:  # type: ignore[no-untyped-def]
    from turash.app import create_app

    runtime.settings = runtime.settings.model_copy(update={"max_upload_mb": 1})
    app = create_app(runtime=runtime)

    def chunks(n: int):  # type: ignore[no-untyped-def]  # a generator body: sent chunked, no Content-Length
        for _ in range(n):
            yield b"x" * 65536

    with TestClient(app) as small:
        r = small.post("/api/v1/auth/register", content=chunks(20), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large", r.text
        fine = small.post("/api/v1/auth/register", content=chunks(1), headers={"Content-Type": "application/json"})
        assert fine.status_code == 422  # under the limit: read, and refused as the bad JSON it is


def test_security_headers_and_request_id(client: TestClient) -> None:
    r = client.get("/api/v1/health", headers={"X-Request-ID": "abc123"})
    assert r.headers["X-Request-ID"] == "abc123"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-eval" not in csp
    assert "Strict-Transport-Security" not in r.headers  # plain HTTP: HSTS would be ignored, and wrong
    assert "Content-Security-Policy" not in client.get("/api/docs").headers  # Swagger UI's inline start script
    secure = client.get("https://testserver/api/v1/health")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    forged = client.get("/api/v1/health", headers={"X-Request-ID": "evil\tline two"})
    assert forged.headers["X-Request-ID"] == "evilline" + "two"  # only safe characters reach the logs


def test_liveness_needs_nothing_readiness_checks_dependencies(client: TestClient, runtime) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/api/v1/health/live").json()["status"] == "ok"
    ready = client.get("/api/v1/health/ready")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "cache": "ok", "bus": "ok"}
    runtime.cache.ping = lambda: False  # the cache is gone: not ready, still alive
    assert client.get("/api/v1/health/ready").status_code == 503
    assert client.get("/api/v1/health/live").status_code == 200


def test_every_log_line_of_a_request_carries_its_id(client: TestClient, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    client.post("/api/v1/auth/token", data={"username": "nobody@example.org", "password": "wrong password"})
    client.get("/api/v1/health", headers={"X-Request-ID": "req-42"})
    lines = [line for line in capsys.readouterr().err.splitlines() if " request " in f"{line} "]
    assert any("request_id=req-42" in line and "route=/" in line and "status=200" in line for line in lines), lines
    assert len(lines) == 2 and all("request_id=" in line for line in lines)  # the log config merges the id in


def test_api_requests_are_limited_per_user_and_per_api_key(client: TestClient, runtime) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import Api

    alice, bob = Api(client, "alice@example.org"), Api(client, "bob@example.org")
    key = alice.post("/api/v1/users/me/api-keys", json={"name": "erp"}).json()["key"]
    runtime.settings = runtime.settings.model_copy(update={"api_rate_limit": 4})  # creating the key was one
    assert [alice.get("/api/v1/users/me/organizations").status_code for _ in range(3)] == [200, 200, 200]
    limited = alice.get("/api/v1/users/me/organizations")
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert int(limited.headers["Retry-After"]) > 0
    assert bob.get("/api/v1/users/me/organizations").status_code == 200  # another user: another budget
    by_key = client.get("/api/v1/users/me/organizations", headers={"X-API-Key": key})
    assert by_key.status_code == 200  # the key has its own budget


def test_guessing_tokens_is_limited_per_address(client: TestClient, runtime) -> None:  # type: ignore[no-untyped-def]
    runtime.settings = runtime.settings.model_copy(update={"auth_failure_limit": 5})
    codes = [
        client.get("/api/v1/users/me/organizations", headers={"X-API-Key": f"tk_guess_{i}"}).status_code
        for i in range(7)
    ]
    assert codes == [401] * 5 + [429] * 2
    assert client.get("/api/v1/users/me/organizations").status_code == 401  # no credentials: not counted


def test_an_expired_token_is_not_counted_as_guessing(client: TestClient, runtime) -> None:  # type: ignore[no-untyped-def]
    from datetime import UTC, datetime, timedelta

    import jwt

    runtime.settings = runtime.settings.model_copy(update={"auth_failure_limit": 2})
    expired = jwt.encode(
        {"sub": "someone", "typ": "access", "exp": datetime.now(UTC) - timedelta(minutes=1)},
        runtime.settings.resolved_secret_key(),
        algorithm="HS256",
    )
    headers = {"Authorization": f"Bearer {expired}"}
    codes = [client.get("/api/v1/users/me/organizations", headers=headers).status_code for _ in range(4)]
    assert codes == [401] * 4  # a client whose token ran out refreshes; it is not guessing
    forged = {"Authorization": "Bearer " + expired[:-4] + "AAAA"}
    codes = [client.get("/api/v1/users/me/organizations", headers=forged).status_code for _ in range(3)]
    assert codes == [401, 401, 429]


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


def test_metrics_expose_latency_queues_and_matching(client: TestClient) -> None:
    from tests.conftest import Api

    alice = Api(client, "alice@example.org")
    org = alice.organization()
    alice.get(f"/api/v1/organizations/{org['id']}/matching/direct?top=3&radius_km=50")
    text = client.get("/metrics").text
    assert 'turash_http_request_duration_seconds_count{method="POST"' in text
    for queue in ("ingest_jobs", "emails", "webhook_deliveries"):
        assert f'turash_queue_depth{{queue="{queue}"}}' in text
    assert 'turash_match_run_seconds_count{kind="find"}' in text


def test_a_crash_is_a_500_and_counted_as_5xx(runtime) -> None:  # type: ignore[no-untyped-def]
    app = create_app(runtime=runtime)

    @app.get("/api/v1/crash-for-test")
    def crash() -> None:
        raise RuntimeError("boom")

    app.router.routes.insert(0, app.router.routes.pop())  # before the web app's catch-all route
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/v1/crash-for-test")
        assert r.status_code == 500 and "boom" not in r.text
        text = client.get("/metrics").text
    series = 'turash_http_request_duration_seconds_count{method="GET",route="/api/v1/crash-for-test",status="5xx"}'
    assert series in text
