"""`turash network stats|anchors|clusters|resilience` on the contract's example flows, matched and stored by
`turash match --store`, on each database back-end."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.conftest import CONTRACT
from turash.cli import app

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_network_commands_as_json_and_tables(cli_db: str) -> None:
    assert run("import", "flows", str(CONTRACT / "examples" / "flows_example.csv"))[0] == 0
    code, out, _ = run("match", "--format", "json", "--store")
    assert code == 0, out
    matches = json.loads(out)["matches"]
    assert matches
    code, out, err = run("network", "stats", "--format", "json")
    assert code == 0, err
    stats = json.loads(out)
    assert stats["edges"]["match"] == len(matches) and stats["nodes"]["flow"] == 6
    code, out, _ = run("network", "anchors", "--format", "json", "--top", "3")
    anchors = json.loads(out)["anchors"]
    assert code == 0 and anchors and anchors[0]["rank"] == 1
    assert anchors[0]["weighted_degree"] >= anchors[-1]["weighted_degree"]
    supplier = matches[0]["supply"]["organization"]
    code, out, _ = run("network", "resilience", supplier, "--format", "json")  # by name
    assert code == 0, out
    report = json.loads(out)
    assert report["target"]["label"] == supplier and report["summary"]["matches_lost"] >= 1
    assert matches[0]["demand"]["flow_id"] in {d["id"] for d in report["dependents"]}
    code, out, _ = run("network", "resilience", matches[0]["supply"]["flow_id"], "--format", "json")  # by flow id
    assert code == 0 and json.loads(out)["removed_flows"] == 1
    code, out, _ = run("network", "clusters", "--format", "json", "--min-size", "2")
    assert code == 0 and json.loads(out)["count"] >= 1
    for args in (("stats",), ("anchors",), ("clusters", "--min-size", "2"), ("resilience", supplier)):
        code, out, err = run("network", *args)
        assert code == 0, (args, out, err)
    assert "weighted degree" in run("network", "anchors")[1]
    code, _, err = run("network", "resilience", "Nobody At All")
    assert code == 1 and "no organisation or flow" in err
    code, _, err = run("network", "anchors", "--bbox", "1,2,3")
    assert code == 2 and "bbox" in err
