"""Analytics routes on a small Danish network (tests/analytics/network.py): real numbers, every format, and who
may see what."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.analytics import network
from tests.conftest import Api
from turash.models import MatchRecord, Proposal, ProposalEvent, ResourceFlow, Site


@pytest.fixture
def net(alice: Api, bob: Api, client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    carol, dave, eve = Api(client, "carol@example.org"), Api(client, "dave@example.org"), Api(client, "eve@e.org")
    ids = network.build(alice, bob, carol, dave, eve)
    ids.update(carol=carol, dave=dave, eve=eve)
    return ids


def _dk_matches(runtime: Any) -> int:
    """Stored matches whose supply site is in Denmark, counted straight from the tables."""
    with runtime.uow() as uow:
        return int(
            uow.session.scalar(
                sa.select(sa.func.count())
                .select_from(MatchRecord)
                .join(ResourceFlow, ResourceFlow.id == MatchRecord.supply_flow_id)
                .join(Site, Site.id == ResourceFlow.site_id)
                .where(Site.country == "DK")
            )
        )


def test_region_kpis_real_numbers(net: dict[str, Any], alice: Api, runtime: Any) -> None:
    r = alice.get("/api/v1/analytics/region?country=DK")
    assert r.status_code == 200, r.text
    k = r.json()
    assert k["label"] == "Denmark" and k["region"]["country"] == "DK"
    # 7 flows in the network, 1 Swedish: 6 listed in Denmark (3 supplies, 3 demands)
    assert (k["flows"]["listed"], k["flows"]["supply"], k["flows"]["demand"]) == (6, 3, 3)
    assert k["flows"]["by_category"]["heat"] == {"supply": 2, "demand": 2}
    # every match served for the Danish supplies is stored, and nothing else is counted
    assert k["matches"]["found"] == len(net["served"]) == _dk_matches(runtime)
    p = k["proposals"]
    assert p["by_state"]["agreed"] == 1 and p["by_state"]["implemented"] == 1
    assert p["by_state"]["rejected"] == 1 and p["by_state"]["draft"] == 1 and p["total"] == 4
    assert (p["sent"], p["accepted"], p["agreed"]) == (3, 2, 2)
    assert p["rates"]["acceptance_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert p["rates"]["agreement_rate"] == 1.0
    assert p["rates"]["conversion_rate"] == pytest.approx(2 / 3, abs=1e-4)
    assert p["rates"]["proposal_rate"] == pytest.approx(4 / k["matches"]["found"], abs=1e-4)
    e = k["exchanged"]
    # the smaller side of each agreed pair: min(50, 40) + min(12, 30) GWh/yr
    assert e["exchanges"] == 2 and e["implemented"] == 1 and e["suppressed"] is False
    assert e["energy_gwh_per_year"] == pytest.approx(52.0, rel=1e-9)
    assert e["mass_t_per_year"] == 0.0
    snapshots = [net["matches"]["m1"]["economics"], net["matches"]["m2"]["economics"]]
    co2 = sum(s["co2_avoided_t_per_year"] for s in snapshots if s["co2_avoided_t_per_year"] is not None)
    npv = sum(s["npv_eur"] for s in snapshots if s["npv_eur"] is not None)
    assert e["co2_avoided_t_per_year"] == pytest.approx(co2, abs=0.01) and co2 > 0
    assert e["npv_eur"] == pytest.approx(npv, abs=1)
    # Alice is a party to both agreed exchanges: she sees them in full
    tops = k["top_exchanges"]
    assert len(tops) == 2 and {t["quantity"] for t in tops} == {40.0, 12.0}
    assert {t["supply"]["organization"] for t in tops} == {"Nordic Energy Recovery"}
    assert {t["demand"]["organization"] for t in tops} == {"Town Heating"}


def test_region_hides_other_organisations_figures(net: dict[str, Any]) -> None:
    """Carol takes part in no heat exchange: two organisations only, so the totals are withheld from her, and the
    top exchanges show the parties by sector with a quantity band, no money figures."""
    k = net["carol"].get("/api/v1/analytics/region?country=DK").json()
    assert k["flows"]["listed"] == 6 and k["proposals"]["total"] == 4  # counts stay
    e = k["exchanged"]
    assert e["suppressed"] is True and e["energy_gwh_per_year"] is None and e["npv_eur"] is None
    text = str(k["top_exchanges"])
    assert "Nordic Energy Recovery" not in text and "Town Heating" not in text
    assert {t["quantity_band"] for t in k["top_exchanges"]} == {"10-100 GWh/yr"}
    assert all(t["quantity"] is None and t["npv_eur"] is None and t["proposal_id"] is None for t in k["top_exchanges"])
    series = net["carol"].get("/api/v1/analytics/timeseries?country=DK").json()
    assert series["quantities_suppressed"] is True
    assert sum(m["energy_gwh_per_year"] for m in series["months"]) == 0


def test_sweden_and_bbox(net: dict[str, Any], alice: Api) -> None:
    se = net["eve"].get("/api/v1/analytics/region?country=SE").json()
    assert se["flows"]["listed"] == 1 and se["proposals"]["total"] == 0
    assert se["proposals"]["rates"]["conversion_rate"] is None  # nothing sent: no rate, not 0
    # a box round the incinerator and Bob's sites, leaving Dave and Carol out
    box = alice.get("/api/v1/analytics/region?bbox=10.9,54.9,11.05,55.05").json()
    assert box["flows"]["listed"] == 4 and box["proposals"]["total"] == 3
    assert box["exchanged"]["energy_gwh_per_year"] == pytest.approx(52.0)


def test_organization_kpis_only_for_members(net: dict[str, Any], alice: Api, bob: Api) -> None:
    plant = net["orgs"]["plant"]["id"]
    k = alice.get(f"/api/v1/analytics/organizations/{plant}").json()
    assert k["flows"]["listed"] == 2 and k["proposals"]["total"] == 3
    assert k["exchanged"]["energy_gwh_per_year"] == pytest.approx(52.0)
    cement = net["orgs"]["cement"]["id"]
    c = net["carol"].get(f"/api/v1/analytics/organizations/{cement}").json()
    assert c["proposals"]["by_state"]["rejected"] == 1 and c["exchanged"]["exchanges"] == 0
    r = bob.get(f"/api/v1/analytics/organizations/{plant}")
    assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
    assert alice.get("/api/v1/analytics/organizations/nope").status_code == 404


def test_facilitator_kpis(net: dict[str, Any], alice: Api, client: Any) -> None:
    frank = Api(client, "frank@example.org")
    brokers = frank.organization("Heat Brokers", kind="facilitator")
    r = frank.client.put(
        f"/api/v1/organizations/{brokers['id']}/facilitator-profile",
        headers=frank.headers,
        json={"regions": ["DK"], "specialities": ["heat"]},
    )
    assert r.status_code == 200, r.text
    r = alice.post(f"/api/v1/proposals/{net['proposals']['p1']}/facilitator", json={"organization_id": brokers["id"]})
    assert r.status_code == 200, r.text
    k = frank.get(f"/api/v1/analytics/facilitators/{brokers['id']}").json()
    assert k["scope"] == "facilitator" and k["proposals"]["total"] == 1 and k["proposals"]["agreed"] == 1
    assert k["exchanged"]["energy_gwh_per_year"] == pytest.approx(40.0)
    assert k["cases"] == {"claimed": 0, "agreed": 0, "failed": 0, "success_rate": None}
    assert alice.get(f"/api/v1/analytics/facilitators/{brokers['id']}").status_code == 403
    plant = net["orgs"]["plant"]["id"]
    r = alice.get(f"/api/v1/analytics/facilitators/{plant}")
    assert r.status_code == 422 and "not a facilitator" in r.json()["error"]["message"]


def _move(runtime: Any, pid: str, created: datetime, agreed: datetime | None) -> None:
    """Put a proposal's creation (and its agreement) at a known time."""
    with runtime.uow() as uow:
        uow.session.execute(sa.update(Proposal).where(Proposal.id == pid).values(created_at=created))
        if agreed is not None:
            uow.session.execute(
                sa.update(ProposalEvent)
                .where(ProposalEvent.proposal_id == pid, ProposalEvent.to_status == "agreed")
                .values(at=agreed)
            )
        uow.commit()


def test_timeseries_buckets(net: dict[str, Any], alice: Api, runtime: Any) -> None:
    p = net["proposals"]
    _move(runtime, p["p1"], datetime(2026, 3, 10, 9, tzinfo=UTC), datetime(2026, 5, 31, 23, 30, tzinfo=UTC))
    _move(runtime, p["p2"], datetime(2026, 3, 31, 23, 59, tzinfo=UTC), datetime(2026, 6, 1, 0, 15, tzinfo=UTC))
    _move(runtime, p["p3"], datetime(2026, 4, 2, tzinfo=UTC), None)
    _move(runtime, p["p4"], datetime(2025, 12, 1, tzinfo=UTC), None)  # before the range
    r = alice.get("/api/v1/analytics/timeseries?country=DK&from=2026-02-01&to=2026-06-30")
    assert r.status_code == 200, r.text
    s = r.json()
    assert (s["from"], s["to"]) == ("2026-02", "2026-06")
    months = {m["month"]: m for m in s["months"]}
    assert list(months) == ["2026-02", "2026-03", "2026-04", "2026-05", "2026-06"]
    assert [months[m]["proposals_created"] for m in months] == [0, 2, 1, 0, 0]
    assert [months[m]["proposals_agreed"] for m in months] == [0, 0, 0, 1, 1]
    assert months["2026-05"]["energy_gwh_per_year"] == pytest.approx(40.0)
    assert months["2026-06"]["energy_gwh_per_year"] == pytest.approx(12.0)
    # flows and matches were created now: they fall in this month, outside this range
    assert all(m["flows_listed"] == 0 for m in s["months"])
    now = datetime.now(UTC)
    this = alice.get(f"/api/v1/analytics/timeseries?country=DK&from={now.date()}&to={now.date()}").json()
    assert this["months"][0]["flows_listed"] == 6 and this["months"][0]["matches_found"] == len(net["served"])
    r = alice.get("/api/v1/analytics/timeseries?country=DK&from=2026-06-01&to=2026-01-01")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "from"
    csv_rows = list(
        csv.DictReader(
            io.StringIO(
                alice.get("/api/v1/analytics/timeseries?country=DK&from=2026-02-01&to=2026-06-30&format=csv").text
            )
        )
    )
    assert [int(x["proposals_created"]) for x in csv_rows] == [0, 2, 1, 0, 0]
    assert float(csv_rows[3]["energy_gwh_per_year"]) == pytest.approx(40.0)
    default = alice.get("/api/v1/analytics/timeseries?country=DK").json()
    assert len(default["months"]) == 12 and default["to"] == f"{now:%Y-%m}"


def test_csv_and_xlsx_have_the_same_numbers(net: dict[str, Any], alice: Api) -> None:
    k = alice.get("/api/v1/analytics/region?country=DK").json()
    r = alice.get("/api/v1/analytics/region?country=DK&format=csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = {row["metric"]: row for row in csv.DictReader(io.StringIO(r.text))}
    assert float(rows["exchanged.energy_gwh_per_year"]["value"]) == pytest.approx(52.0)
    assert rows["exchanged.energy_gwh_per_year"]["unit"] == "GWh/yr"
    assert int(rows["proposals.agreed"]["value"]) == 2 and int(rows["flows.listed"]["value"]) == 6
    r = alice.get("/api/v1/analytics/region?country=DK&format=xlsx")
    assert r.status_code == 200 and "spreadsheetml" in r.headers["content-type"]
    book = load_workbook(io.BytesIO(r.content))
    assert {"KPIs", "Time series", "Top exchanges"} <= set(book.sheetnames)
    sheet = {row[0]: row[1] for row in book["KPIs"].iter_rows(min_row=2, values_only=True)}
    assert sheet["exchanged.energy_gwh_per_year"] == pytest.approx(52.0)
    assert sheet["rates.conversion_rate"] == k["proposals"]["rates"]["conversion_rate"]
    assert sheet["matches.found"] == k["matches"]["found"]
    months = list(book["Time series"].iter_rows(min_row=2, values_only=True))
    assert len(months) == 12 and sum(m[3] for m in months) == 4  # proposals created, all this month
    top = list(book["Top exchanges"].iter_rows(min_row=2, values_only=True))
    assert sorted(t[6] for t in top) == [12.0, 40.0]


def test_municipality_pdf_report(net: dict[str, Any], alice: Api) -> None:
    r = alice.get("/api/v1/analytics/region?country=DK&bbox=10.5,54.5,11.5,55.5&name=Kalundborg Kommune&format=pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF")
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(r.content)).pages)
    assert "Kalundborg Kommune" in text and "Regional symbiosis report" in text
    assert "52.0" in text and "GWh/yr" in text and "Top exchanges" in text
    plain = alice.get("/api/v1/analytics/region?country=DK&format=pdf")
    assert "Denmark" in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(plain.content)).pages)


def test_bad_input_is_a_clear_4xx(alice: Api) -> None:
    r = alice.get("/api/v1/analytics/region")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "country"
    r = alice.get("/api/v1/analytics/region?country=Atlantis")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "country"
    r = alice.get("/api/v1/analytics/region?bbox=1,2,3")
    assert r.status_code == 422 and r.json()["error"]["details"][0]["field"] == "bbox"
    assert alice.get("/api/v1/analytics/region?country=DK&format=docx").status_code == 422
    assert alice.get("/api/v1/analytics/timeseries?country=DK&from=yesterday").status_code == 422


def test_routes_need_credentials(client: Any) -> None:
    for url in (
        "/api/v1/analytics/region?country=DK",
        "/api/v1/analytics/timeseries?country=DK",
        "/api/v1/analytics/organizations/x",
        "/api/v1/analytics/facilitators/x",
    ):
        assert client.get(url).status_code == 401
