"""`turash search`: table and JSON output, the point filter, a reindex, and clear errors."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import CONTRACT
from turash.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_search_after_an_import(cli_db: str) -> None:
    code, out, _ = run("import", "flows", str(CONTRACT / "examples" / "flows_example.csv"))
    assert code == 0, out
    code, out, _ = run("search", "flyash", "--format", "json")
    assert code == 0, out
    data = json.loads(out)
    assert data["items"][0]["title"] == "fly ash" and data["items"][0]["organization"] == "Example Power Station"
    assert data["facets"]["kind"]["flow"] >= 1
    code, out, _ = run(
        "search", "heat", "--kind", "flow", "--near", "55.0,11.0", "--radius-km", "1", "--format", "json"
    )
    assert code == 0, out
    near = json.loads(out)["items"]
    assert near and all(i["distance_km"] <= 1 for i in near) and all(i["kind"] == "flow" for i in near)
    code, out, _ = run("search", "pozzolanic")
    assert code == 0 and "pozzolanic additive for blended cement" in out and "Example Cement Works" in out
    code, _out, err = run("search", "--reindex")
    assert code == 0 and "search index rebuilt" in err


def test_bad_input_is_a_clear_error(cli_db: str) -> None:
    code, _out, err = run("search")
    assert code != 0 and "q:" in err
    code, _out, err = run("search", "ash", "--radius-km", "5")
    assert code == 2 and "--near" in err
    code, _out, err = run("search", "ash", "--kind", "factory")
    assert code == 2 and "kind must be one of" in err
    code, _out, err = run("search", "ash", "--near", "north")
    assert code == 2 and "lat,lon" in err
