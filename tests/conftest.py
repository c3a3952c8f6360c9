"""Test fixtures. The suite runs on SQLite always and, when TURASH_TEST_DATABASE_URL is set, again on PostgreSQL
(+PostGIS): every database fixture is parametrised by back-end. Each test runs inside a transaction that is rolled
back at the end; the code under test commits to SAVEPOINTs inside it.

TURASH_REQUIRE_SERVICES=1 (CI) turns "service not reachable, skipped" into a failure.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from turash.app import create_app
from turash.audit.service import install_audit_listener
from turash.config import Settings, get_settings
from turash.kit import migrations
from turash.kit.bus import InProcessBus
from turash.kit.cache import MemoryCache
from turash.kit.db import UnitOfWork, dispose_engines, make_engine
from turash.kit.runtime import Runtime

PG_URL = os.environ.get("TURASH_TEST_DATABASE_URL")
REQUIRE_SERVICES = os.environ.get("TURASH_REQUIRE_SERVICES") == "1"
BACKENDS = ["sqlite", *(["postgresql"] if PG_URL else [])]
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
CONTRACT = Path(__file__).resolve().parents[2] / "shared" / "contract"


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip a test whose service is down, unless CI requires services (then fail)."""
    if reachable(host, port):
        return
    if REQUIRE_SERVICES:
        pytest.fail(f"{name} at {host}:{port} is not reachable and TURASH_REQUIRE_SERVICES=1")
    pytest.skip(f"{name} at {host}:{port} is not reachable")


def pytest_sessionstart(session: pytest.Session) -> None:
    if REQUIRE_SERVICES and not PG_URL:
        raise pytest.UsageError("TURASH_REQUIRE_SERVICES=1 needs TURASH_TEST_DATABASE_URL (PostgreSQL)")


@pytest.fixture(autouse=True)
def _logging() -> None:
    """Every test starts with the same log set-up, whatever an earlier one configured (CLI commands set WARNING):
    structlog at DEBUG, uncached (tests read the access lines), on stderr as in the product (structlog's
    unconfigured default is stdout, where a background thread's line would land in a CLI test's JSON output);
    the standard library at WARNING."""
    from turash.kit import logging as turash_logging

    turash_logging.CACHE_LOGGERS = False
    turash_logging.configure_logging("DEBUG")
    logging.getLogger().setLevel(logging.WARNING)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    assert PG_URL is not None
    return Settings(database_url=PG_URL).database_url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = make_engine(database_url)
    with engine.begin() as conn:
        migrations.downgrade(connection=conn, revision="base")
    with engine.begin() as conn:
        migrations.upgrade(connection=conn)
    install_audit_listener()
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    conn = engine.connect()
    transaction = conn.begin()
    yield conn
    transaction.rollback()
    conn.close()


def _session(connection: Connection) -> Session:
    return Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False)


@pytest.fixture
def session(connection: Connection) -> Iterator[Session]:
    s = _session(connection)
    yield s
    s.close()


class TestRuntime(Runtime):
    """A Runtime whose units of work run inside the test's transaction."""

    __test__ = False
    connection: Connection

    @contextmanager
    def uow(self) -> Iterator[UnitOfWork]:
        s = _session(self.connection)
        uow = UnitOfWork(session=s, publish=self.publish)
        try:
            yield uow
        except BaseException:
            uow.rollback()
            raise
        finally:
            s.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        secret_key="test-secret-" + "x" * 40,
        auto_migrate=False,
        delivery_mode="inline",  # e-mails and webhooks at once, in the test's thread and transaction
        mail_dir=tmp_path / "mail",
    )


@pytest.fixture
def runtime(engine: Engine, connection: Connection, settings: Settings) -> TestRuntime:
    rt = TestRuntime(settings=settings, engine=engine, cache=MemoryCache(), bus=InProcessBus())
    rt.connection = connection
    return rt


@pytest.fixture
def client(runtime: TestRuntime) -> Iterator[TestClient]:
    with TestClient(create_app(runtime=runtime)) as c:
        yield c


class Api:
    """A signed-in API user for tests."""

    def __init__(self, client: TestClient, email: str, password: str = "correct horse battery") -> None:  # noqa: S107
        self.client = client
        self.email = email
        r = client.post("/api/v1/auth/register", json={"email": email, "password": password, "name": email})
        assert r.status_code == 201, r.text
        r = client.post("/api/v1/auth/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        self.tokens = r.json()
        self.headers = {"Authorization": f"Bearer {self.tokens['access_token']}"}

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self.headers, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.client.post(url, headers=self.headers, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.client.patch(url, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self.headers, **kw)

    def organization(self, name: str = "Acme Cement", **extra: Any) -> dict[str, Any]:
        r = self.post("/api/v1/organizations", json={"name": name, **extra})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def site(
        self, org_id: str, name: str = "Kiln", lat: float = 55.0, lon: float = 11.0, **extra: Any
    ) -> dict[str, Any]:
        r = self.post(f"/api/v1/organizations/{org_id}/sites", json={"name": name, "lat": lat, "lon": lon, **extra})
        assert r.status_code == 201, r.text
        return dict(r.json())

    def flow(self, site_id: str, **body: Any) -> dict[str, Any]:
        payload = {"direction": "supply", "resource": "fly ash", "quantity": 1000, "unit": "t/yr", **body}
        r = self.post(f"/api/v1/sites/{site_id}/flows", json=payload)
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture
def alice(client: TestClient) -> Api:
    return Api(client, "alice@example.org")


@pytest.fixture
def bob(client: TestClient) -> Api:
    return Api(client, "bob@example.org")


@pytest.fixture
def cli_db(backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, empty database for the CLI (which opens its own connections)."""
    cleanup = None
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'cli.db'}"
    else:
        name = f"turash_cli_{uuid.uuid4().hex[:8]}"
        admin = make_engine(str(PG_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        url = admin.url.set(database=name).render_as_string(hide_password=False)
        cleanup = (admin, name)
    monkeypatch.setenv("TURASH_DATABASE_URL", url)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()
    dispose_engines()
    if cleanup:
        admin, name = cleanup
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def example(session):  # type: ignore[no-untyped-def]
    """The contract's example flows, imported."""
    from turash.ingestion.service import import_flows

    report = import_flows(session, CONTRACT / "examples" / "flows_example.csv")
    assert report.imported == 6
    session.flush()
    return session
