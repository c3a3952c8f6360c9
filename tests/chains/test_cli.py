"""`turash chains <flow-id>` and `turash match --chains` (table and JSON) on the Stockholm-shaped case of
tests/chains/test_endpoints.py: data-centre heat at 30 °C, a heat-pump operator, a 70 °C district-heating need."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_cli import run

FLOWS = """organization,site,lat,lon,country,nace,direction,resource,category,quantity,unit,temperature_c
Northern Data Centre,Hall A,59.35,18.02,SE,63.11,supply,server room waste heat,heat,20000,MWh/yr,30
City District Heating,Heat plant,59.33,18.06,SE,35.30,demand,heat for district heating network,heat,60000,MWh/yr,70
"""


def _service(url: str) -> None:
    from sqlalchemy.orm import Session

    from turash.kit.db import make_engine
    from turash.models import Organization, ServiceOffering

    engine = make_engine(url)
    with Session(engine) as session:
        org = Organization(name="Heat Pump Services", name_key="heat pump services")
        session.add(org)
        session.flush()
        session.add(
            ServiceOffering(
                organization_id=org.id,
                kind="heat_pump",
                name="Large heat pumps",
                resources=[],
                ewc_codes=[],
                countries=[],
                center_lat=59.34,
                center_lon=18.03,
                radius_km=20,
                attributes={"transform": {"output_temperature_c": 80}},
            )
        )
        session.commit()
    engine.dispose()


def test_chains_for_a_flow_and_for_everything(cli_db: str, tmp_path: Path) -> None:
    csv = tmp_path / "flows.csv"
    csv.write_text(FLOWS)
    assert run("import", "flows", str(csv))[0] == 0
    _service(cli_db)
    listed = json.loads(run("flows", "list", "--format", "json")[1])["flows"]
    heat = next(f for f in listed if f["direction"] == "supply")
    code, out, err = run("chains", heat["flow_id"], "--format", "json")
    assert code == 0, err
    [chain] = json.loads(out)["chains"]
    assert chain["service"]["kind"] == "heat_pump" and chain["demand"]["organization"] == "City District Heating"
    code, out, _ = run("chains", heat["flow_id"])
    assert code == 0 and "Large heat pumps" in out and "heat_pump" in out
    code, out, _ = run("match", "--chains", "--format", "json")
    assert code == 0 and [c["id"] for c in json.loads(out)["chains"]] == [chain["id"]]
    code, out, _ = run("match", "--chains", "--organization", "Heat Pump Services")
    assert code == 0 and "1 chains" in out
    code, out, _ = run("match", "--format", "json")  # the contract's output is unchanged without --chains
    assert code == 0 and "chains" not in json.loads(out)
    assert run("chains", "nope")[0] == 2
