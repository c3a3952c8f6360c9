from fastapi.testclient import TestClient

from tests.conftest import Api
from turash.registers.service import load_hotmaps


def test_shell_lists_public_sites_with_attribution(client: TestClient, runtime, alice: Api) -> None:  # type: ignore[no-untyped-def]
    org = alice.organization("Secret Private Co")
    alice.site(org["id"], "Hidden plant")
    with runtime.uow() as uow:
        load_hotmaps(uow.session, limit=50)
        uow.commit()
    r = client.get("/registry/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    page = r.text
    assert "<title>Turash" in page and 'rel="icon"' in page and "/api/docs" in page
    assert "voestalpine" in page and "Hotmaps Industrial Database" in page and "CC BY 4.0" in page
    assert "Secret Private Co" not in page and "Hidden plant" not in page
    assert "Leoben" in client.get("/registry/?country=AT").text
    assert client.get("/registry/?country=ZZ").status_code == 200
    assert client.get("/registry/favicon.ico").status_code == 200
    assert client.get("/registry/?page=0").status_code == 422


def test_shell_escapes_html(client: TestClient) -> None:
    r = client.get("/registry/?q=<script>alert(1)</script>")
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text
