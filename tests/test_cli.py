"""The command-line contract (contract/cli.md), end to end, on each database back-end."""

import json
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from tests.conftest import CONTRACT
from turash.cli import app
from turash.config import get_settings

runner = CliRunner()
EXAMPLE = CONTRACT / "examples" / "flows_example.csv"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_import_example_then_list_json(cli_db: str) -> None:
    code, out, _ = run("import", "flows", str(EXAMPLE))
    assert code == 0, out
    assert "6 imported" in out
    code, out, _ = run("flows", "list", "--format", "json")
    assert code == 0
    flows = json.loads(out)["flows"]
    assert len(flows) == 6
    required = {
        "flow_id",
        "organization",
        "site",
        "lat",
        "lon",
        "direction",
        "resource",
        "category",
        "quantity",
        "unit",
        "inferred",
    }
    assert all(required <= set(f) for f in flows)
    ash = next(f for f in flows if f["resource"] == "fly ash")
    assert ash["organization"] == "Example Power Station" and ash["ewc_code"] == "100102"
    assert ash["quantity"] == 40000 and ash["unit"] == "t/yr" and ash["inferred"] is False
    assert ash["schedule"] == "24/7" and ash["price_eur_per_unit"] == -5
    code, out, _ = run("flows", "list", "--format", "json", "--organization", "example cement works")
    assert [f["resource"] for f in json.loads(out)["flows"]] == ["pozzolanic additive for blended cement"]
    # re-import: idempotent, exit 0
    code, out, _ = run("import", "flows", str(EXAMPLE))
    assert code == 0 and "0 imported, 6 already present" in out


def test_exit_codes_and_quarantine(cli_db: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "organization,lat,lon,direction,resource,quantity,unit\n"
        "Good,55,11,supply,ash,5,t\nBad,55,11,supply,ash,5,parsecs\n"
    )
    code, out, _ = run("import", "flows", str(bad))
    assert code == 1
    assert "parsecs" in out and "3" in out
    assert "measures [length]" in " ".join(out.split())  # the reason is printed as text, not read as markup
    code, out, _ = run("quarantine", "list", "--format", "json")
    rows = json.loads(out)["quarantine"]
    assert [(r["file"], r["row"], r["column"]) for r in rows] == [("bad.csv", 3, "unit")]
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    code, _, err = run("import", "flows", str(empty))
    assert code == 2 and "empty" in err
    code, _, err = run("import", "flows", str(tmp_path / "missing.csv"))
    assert code == 2 and "not found" in err
    binary = tmp_path / "photo.csv"
    binary.write_bytes(b"\x89PNG\x00\x00\x00\x00IHDR" * 20)
    code, _, err = run("import", "flows", str(binary))
    assert code == 2 and "binary" in err
    code, out, _ = run("quarantine", "list")
    assert "bad.csv" in out and "empty.csv" in out and "Traceback" not in out


def test_import_report_as_json(cli_db: str) -> None:
    code, out, _ = run("import", "flows", str(EXAMPLE), "--format", "json")
    report = json.loads(out)
    assert code == 0 and report["imported"] == 6 and report["rows_total"] == 6


def test_export_csv_roundtrip_and_formula_guard(cli_db: str, tmp_path: Path) -> None:
    src = tmp_path / "src.csv"
    src.write_text("organization,lat,lon,direction,resource\n\"=cmd|' /C calc'!A0\",55,11,supply,slag\n")
    assert run("import", "flows", str(src))[0] == 0
    target = tmp_path / "out.csv"
    code, _, _ = run("export", "flows", "--format", "csv", "--output", str(target))
    assert code == 0
    text = target.read_text()
    assert "'=cmd|" in text  # neutralised for spreadsheets
    code, out, _ = run("export", "flows", "--format", "json")
    assert json.loads(out)["flows"][0]["organization"] == "=cmd|' /C calc'!A0"  # the data itself is untouched


def test_potential_writes_json_and_csv_files(cli_db: str, tmp_path: Path) -> None:
    assert run("import", "flows", str(EXAMPLE))[0] == 0
    report_file, csv_file = tmp_path / "dk.json", tmp_path / "dk.csv"
    code, out, err = run("potential", "--country", "DK", "--format", "json", "--output", str(report_file))
    assert code == 0 and out == "", err
    report = json.loads(report_file.read_text(encoding="utf-8"))
    pairs = {(o["supplier"], o["receiver"]) for o in report["opportunities"]}
    assert ("Example Power Station", "Example Cement Works") in pairs  # fly ash as pozzolan
    assert ("Example Power Station", "Example District Heating") in pairs
    assert report["totals"]["materials_t_per_year"] > 0 and report["totals"]["heat_gwh_per_year"] > 0
    code, _, _ = run("potential", "--country", "DK", "--format", "csv", "--output", str(csv_file))
    assert code == 0 and csv_file.read_text(encoding="utf-8").count("\n") == report["opportunities_count"] + 1
    code, _, err = run("potential", "--country", "Atlantis")
    assert code == 2 and "country" in err.lower()


def test_users_create_and_db_commands(cli_db: str) -> None:
    code, out, _ = run(
        "users", "create", "--email", "ops@example.org", "--name", "Ops", "--password", "a long password", "--admin"
    )
    assert code == 0 and "administrator" in out
    code, _, err = run(
        "users", "create", "--email", "ops@example.org", "--name", "Ops", "--password", "a long password"
    )
    assert code == 2 and "already exists" in err
    code, _, err = run("users", "create", "--email", "x@example.org", "--name", "X", "--password", "short")
    assert code == 2 and "password" in err
    assert run("db", "upgrade")[0] == 0


def test_config_table_lists_every_setting() -> None:
    code, out, _ = run("config")
    assert code == 0
    for name in ("TURASH_DATABASE_URL", "TURASH_SECRET_KEY", "TURASH_REDIS_URL", "TURASH_NATS_URL", "TURASH_DATA_DIR"):
        assert name in out


def test_unreachable_database_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TURASH_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        code, _, err = run("flows", "list")
    finally:
        get_settings.cache_clear()
    assert code == 2 and "cannot open the database" in err and "Traceback" not in err


def test_match_schema_file_is_valid_json_schema() -> None:
    schema = json.loads((CONTRACT / "match.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)


def test_unreachable_bus_is_a_clear_error_naming_it(monkeypatch: pytest.MonkeyPatch, cli_db: str) -> None:
    monkeypatch.setenv("TURASH_NATS_URL", "nats://127.0.0.1:1")
    get_settings.cache_clear()
    try:
        code, _, err = run("flows", "list")
    finally:
        get_settings.cache_clear()
    assert code == 2 and "cannot start (cache, event bus or queue)" in err and "database" not in err
