"""`turash facilitation refresh` opens marketplace cases from stored facilitated matches, once; `stats` counts them."""

from __future__ import annotations

import json

from tests.test_cli import run

HEADER = "organization,site,lat,lon,country,direction,resource,category,quantity,unit,temperature_c,precision"
ROWS = [
    "Nordic Energy Recovery,Incinerator,55.000,11.000,DK,supply,surplus heat 90 C,heat,50,GWh/yr,90,measured",
    "Town Heating,Network,55.040,11.000,DK,demand,heat for district heating network,heat,40,GWh/yr,75,measured",
]


def test_refresh_and_stats(cli_db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    csv = tmp_path / "heat.csv"
    csv.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    assert run("import", "flows", str(csv))[0] == 0
    code, out, _ = run("match", "--format", "json", "--store")
    assert code == 0 and json.loads(out)["matches"][0]["route"] == "facilitated"
    assert "1 cases opened" in run("facilitation", "refresh")[1]
    assert "0 cases opened" in run("facilitation", "refresh")[1]  # once per match
    stats = json.loads(run("facilitation", "stats", "--format", "json")[1])
    assert stats["total"]["cases"] == 1 and stats["total"]["open"] == 1
    assert [r["rule"] for r in stats["rules"]] == ["large capital project"]
