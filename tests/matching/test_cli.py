import json

import jsonschema

from tests.matching.conftest import EXAMPLE, MATCH_SCHEMA
from tests.test_cli import run


def test_match_json_contract(cli_db: str) -> None:
    assert run("import", "flows", str(EXAMPLE))[0] == 0
    code, out, _ = run("match", "--format", "json")
    assert code == 0
    payload = json.loads(out)
    jsonschema.validate(payload, MATCH_SCHEMA)
    pairs = {(m["supply"]["resource"], m["demand"]["resource"]) for m in payload["matches"]}
    assert ("fly ash", "pozzolanic additive for blended cement") in pairs
    assert ("spent grain", "cattle feed") in pairs
    assert ("surplus heat from flue gas condensation", "heat for district heating network") in pairs
    listed = {f["flow_id"] for f in json.loads(run("flows", "list", "--format", "json")[1])["flows"]}
    assert all(m["supply"]["flow_id"] in listed and m["demand"]["flow_id"] in listed for m in payload["matches"])
    code, out, _ = run("match", "--format", "json", "--organization", "Example Dairy Farm", "--top", "1")
    assert [m["demand"]["organization"] for m in json.loads(out)["matches"]] == ["Example Dairy Farm"]
    code, out, _ = run("match", "--format", "json", "--radius-km", "2")
    assert all(m["distance_km"] <= 2 for m in json.loads(out)["matches"])
    code, out, _ = run("match")
    assert code == 0 and "Example Cement Works" in out
    code, _, err = run("match", "--organization", "Nobody Ltd")
    assert code == 2 and "no organisation" in err
    code, _, err = run("match", "--weights", "beauty=2")
    assert code == 2 and "unknown scorer weight" in err


def test_match_store_keeps_an_audit_trail(cli_db: str) -> None:
    run("import", "flows", str(EXAMPLE))
    code, _, _ = run("match", "--store")
    assert code == 0
    import sqlalchemy as sa

    from turash.kit.db import make_engine

    engine = make_engine(cli_db)
    with engine.connect() as conn:
        runs = conn.execute(sa.text("SELECT trigger, matches_count, params FROM match_runs")).all()
        stored = conn.scalar(sa.text("SELECT count(*) FROM matches"))
    engine.dispose()
    assert len(runs) == 1 and runs[0][0] == "cli" and runs[0][1] == 3 and stored == 3
