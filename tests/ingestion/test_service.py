"""The import contract (contract/cli.md): per-row validation, quarantine with row/column/reason, good rows still in,
idempotent re-import, nothing lost (the counts add up)."""

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from tests.conftest import CONTRACT
from turash.ingestion.service import import_flows, import_sites, quarantined
from turash.models import ImportRun, Organization, QuarantinedRow, ResourceFlow, Site

HEADER = "organization,site,lat,lon,country,nace,direction,resource,ewc_code,quantity,unit,hazardous,precision\n"


def _import(session, text: str | bytes, name: str = "flows.csv"):  # type: ignore[no-untyped-def]
    data = text.encode() if isinstance(text, str) else text
    return import_flows(session, name, data=data, name=name)


def _flows(session) -> list[ResourceFlow]:  # type: ignore[no-untyped-def]
    return list(session.scalars(sa.select(ResourceFlow).order_by(ResourceFlow.resource)))


def test_contract_example_imports_completely(session) -> None:  # type: ignore[no-untyped-def]
    path = CONTRACT / "examples" / "flows_example.csv"
    report = import_flows(session, path)
    assert (report.rows_total, report.imported, report.quarantined, report.exit_code) == (6, 6, 0, 0)
    assert report.organizations_created == 5 and report.sites_created == 5  # the power station has two flows
    flows = {f.resource: f for f in _flows(session)}
    ash = flows["fly ash"]
    assert ash.ewc_code == "100102" and ash.hazardous is False and ash.price_eur_per_unit == -5
    assert ash.quantity_si == pytest.approx(1.2675, rel=1e-3) and ash.si_unit == "kg/s"
    heat = flows["surplus heat from flue gas condensation"]
    assert heat.temperature_c == 85 and heat.schedule == "Oct-Apr" and heat.precision == "rough"
    assert heat.quantity_kind == "power"
    assert flows["heat for district heating network"].description == "supply temperature 75-90 C"


def test_reimport_does_not_duplicate(session) -> None:  # type: ignore[no-untyped-def]
    path = CONTRACT / "examples" / "flows_example.csv"
    import_flows(session, path)
    again = import_flows(session, path)
    assert (again.imported, again.skipped, again.exit_code) == (0, 6, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(ResourceFlow)) == 6
    assert session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 5


BAD_ROWS = (
    HEADER
    + "\n".join(
        [
            "Good Co,Plant,55.0,11.0,DK,23.51,supply,fly ash,10 01 02,100,t/yr,,estimated",  # 2 good
            "No Lat Co,Plant,,11.0,DK,,supply,slag,,,,,",  # 3 lat missing
            "Bad Lat Co,Plant,95.5,11.0,DK,,supply,slag,,,,,",  # 4 lat out of range
            "Bad Unit Co,Plant,55,11,DK,,supply,slag,,100,bananas/yr,,",  # 5 unknown unit
            "Bad Dir Co,Plant,55,11,DK,,sell,slag,,,,,",  # 6 direction
            '=HYPERLINK("http://evil"),Plant,55,11,DK,,supply,\'; DROP TABLE resource_flows; --,,,,,',  # 7 literal
            "Haz Co,Plant,55,11,DK,,supply,oil ash,10 01 04,5,t,false,",  # 8 hazard contradiction
            "Null Island,Plant,0,0,,,supply,ash,,,,,",  # 9 0,0
            "Extra Co,Plant,55,11,DK,,supply,ash,,,,,,surplus cell",  # 10 extra cell
            "Good Co,Plant,55.0,11.0,DK,23.51,supply,fly ash,10 01 02,100,t/yr,,estimated",  # 11 duplicate of 2
            "Bad Country,Plant,55,11,Atlantis,,demand,ash,,,,,",  # 12 country
            "Bad EWC,Plant,55,11,DK,,demand,ash,99 99 99,,,,",  # 13 unknown EWC
            "Qty No Unit,Plant,55,11,DK,,demand,ash,,100,,,",  # 14 quantity w/o unit
        ]
    )
    + "\n"
)


def test_bad_rows_are_quarantined_with_row_column_and_reason(session) -> None:  # type: ignore[no-untyped-def]
    report = _import(session, BAD_ROWS)
    assert report.rows_total == 13
    assert report.imported + report.skipped + report.quarantined == report.rows_total  # nothing lost
    assert (report.imported, report.skipped, report.quarantined, report.exit_code) == (2, 1, 10, 1)
    problems = {(p.row, p.column) for p in report.problems}
    assert problems == {
        (3, "lat"),
        (4, "lat"),
        (5, "unit"),
        (6, "direction"),
        (8, "hazardous"),
        (9, "lat"),
        (10, ""),
        (12, "country"),
        (13, "ewc_code"),
        (14, "unit"),
    }
    reasons = {p.row: p.reason for p in report.problems}
    assert "bananas/yr" in reasons[5] and "95.5" in reasons[4] and "required" in reasons[3]
    stored = {q.row_number: q for q in quarantined(session)}
    assert set(stored) == {3, 4, 5, 6, 8, 9, 10, 12, 13, 14}
    assert stored[5].raw["unit"] == "bananas/yr" and stored[5].column == "unit"
    # injection text is data, stored exactly as written
    evil = session.scalar(sa.select(Organization).where(Organization.name.startswith("=HYPERLINK")))
    assert evil is not None and evil.name == '=HYPERLINK("http://evil")'
    assert (
        session.scalar(sa.select(ResourceFlow.resource).where(ResourceFlow.organization_id == evil.id))
        == "'; DROP TABLE resource_flows; --"
    )
    assert any("row 2" in w.reason for w in report.warnings if w.row == 11)


def test_missing_required_column_fails_the_file_and_is_recorded(session) -> None:  # type: ignore[no-untyped-def]
    report = _import(session, "organization,lat,lon,direction\nA,1,2,supply\n")
    assert report.exit_code == 2 and "resource" in (report.error or "")
    run = session.get(ImportRun, report.run_id)
    assert run.status == "failed"
    assert [q.row_number for q in quarantined(session)] == [None]


@pytest.mark.parametrize(("data", "fragment"), [(b"", "empty"), (b"\x00\x01\x02binary\x00", "binary")])
def test_empty_and_binary_files(session, data: bytes, fragment: str) -> None:  # type: ignore[no-untyped-def]
    report = _import(session, data)
    assert report.exit_code == 2 and fragment in (report.error or "")
    assert session.scalar(sa.select(sa.func.count()).select_from(ResourceFlow)) == 0


def test_bom_crlf_semicolon_decimal_comma(session) -> None:  # type: ignore[no-untyped-def]
    text = (
        "\ufeffOrganization;Site;Lat;Lon;Direction;Resource;Quantity;Unit\r\n"
        "Sukkerfabrik;Nakskov;54,8300;11,1400;supply;roepeaffald;12,5;t/day\r\n"
    )
    report = _import(session, text.encode("utf-8"))
    assert report.exit_code == 0
    flow = _flows(session)[0]
    assert flow.quantity == 12.5
    site = session.get(Site, flow.site_id)
    assert (site.lat, site.lon) == (54.83, 11.14)


def test_unknown_columns_are_kept_as_attributes(session) -> None:  # type: ignore[no-untyped-def]
    report = _import(
        session, "organization,lat,lon,direction,resource,Moisture %,Supplier ref\nA,55,11,supply,sawdust,12,ERP-77\n"
    )
    assert report.exit_code == 0
    assert _flows(session)[0].attributes == {"moisture_%": "12", "supplier_ref": "ERP-77"}


def test_re_import_supersedes_old_quarantine_entries(session) -> None:  # type: ignore[no-untyped-def]
    _import(session, BAD_ROWS)
    _import(session, BAD_ROWS)
    assert len(quarantined(session)) == 10
    assert session.scalar(sa.select(sa.func.count()).select_from(QuarantinedRow)) == 20


def test_import_sites(session) -> None:  # type: ignore[no-untyped-def]
    text = (
        "organization,site,lat,lon,country,nace,employees,description\n"
        "Novo Nordisk,Kalundborg,55.67,11.09,DK,21.20,3500,insulin plant\n"
        "Bad,Site,,11,DK,,,\n"
    )
    report = import_sites(session, "sites.csv", data=text.encode(), name="sites.csv")
    assert (report.imported, report.quarantined, report.exit_code) == (1, 1, 1)
    site = session.scalar(sa.select(Site).where(Site.name == "Kalundborg"))
    assert site.employees == 3500 and site.nace == "21.20"
    again = import_sites(session, "sites.csv", data=text.encode(), name="sites.csv")
    assert (again.imported, again.skipped) == (0, 1)


def test_large_file_in_batches(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    rows = [HEADER.strip()] + [
        f"Org {i % 50},Site {i % 7},55.{i % 1000:03d},11.{i % 997:03d},DK,23.51,"
        f"{'supply' if i % 2 else 'demand'},resource {i},,{i},t/yr,,measured"
        for i in range(12_000)
    ]
    report = _import(session, "\n".join(rows))
    assert (report.imported, report.quarantined) == (12_000, 0)
    assert session.scalar(sa.select(sa.func.count()).select_from(ResourceFlow)) == 12_000


def test_repeated_cells_are_judged_on_every_row(session) -> None:  # type: ignore[no-untyped-def]
    """Each column remembers what its repeated cells parse to; a repeated bad cell is still reported on every row
    it appears in, and a repeated good one still goes in, with its own row's other values."""
    rows = [f"Co {i},Plant,55.{i},11.0,DK,23.51,supply,slag,,{100 + i},{'bananas' if i % 2 else 't/yr'},,"
            for i in range(6)]
    report = _import(session, HEADER + "\n".join(rows) + "\n")
    assert (report.imported, report.quarantined) == (3, 3)
    assert [(p.row, p.column) for p in report.problems] == [(3, "unit"), (5, "unit"), (7, "unit")]
    assert sorted(f.quantity for f in _flows(session)) == [100, 102, 104]


def _stored(session) -> list[tuple]:  # type: ignore[no-untyped-def]
    """Every stored flow with its site, by content (ids and timestamps differ between runs)."""
    rows = session.execute(
        sa.select(Organization.name, Site.name, Site.lat, ResourceFlow)
        .join(Site, ResourceFlow.site_id == Site.id)
        .join(Organization, ResourceFlow.organization_id == Organization.id)
    ).all()
    skip = {"id", "organization_id", "site_id", "import_run_id", "created_at", "updated_at"}
    columns = [c for c in sorted(ResourceFlow.__table__.columns.keys()) if c not in skip]
    return sorted((org, site, lat, *(repr(getattr(f, c)) for c in columns)) for org, site, lat, f in rows)


def _report_outcome(report) -> tuple:  # type: ignore[no-untyped-def]
    return (
        report.rows_total, report.imported, report.skipped, report.quarantined,
        report.organizations_created, report.sites_created,
        [(p.row, p.column, p.reason) for p in report.problems], [(w.row, w.reason) for w in report.warnings],
    )


BIG_MIXED = HEADER.rstrip("\n") + ",moisture\n" + "".join(
    (f"Co {i % 40},Plant {i % 3},{55 + (i % 40) / 100},11.0,DK,23.51,{'supply' if i % 2 else 'demand'},"
     f"{['fly ash', 'FGD gypsum', 'waste heat 85 C', 'spent grain'][i % 4]},,{100 + i},"
     f"{'bananas' if i % 97 == 0 else 't/yr'},,estimated,{i % 7}\n")
    for i in range(4500)
) + "Co 1,Plant 1,55.01,11.0,DK,23.51,supply,FGD gypsum,,101,t/yr,,estimated,1\n"  # a duplicate of row 3


def test_parallel_parsing_gives_exactly_the_sequential_result(session) -> None:  # type: ignore[no-untyped-def]
    """The forked parser is only a speed-up: report, problems, warnings and every stored value are the same."""
    sequential = import_flows(session, "a.csv", data=BIG_MIXED.encode(), name="a.csv", parallel=False)
    first = _stored(session)
    session.execute(sa.delete(ResourceFlow))
    session.execute(sa.delete(Site))
    session.execute(sa.delete(Organization))
    parallel = import_flows(session, "a.csv", data=BIG_MIXED.encode(), name="a.csv", parallel=True)
    assert _report_outcome(parallel) == _report_outcome(sequential)
    assert sequential.quarantined == 47 and sequential.skipped == 1 and sequential.imported == 4500 - 47
    assert _stored(session) == first


def test_parallel_parsing_survives_the_parser_process_dying(session, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """If the parser process dies after delivering some records, this process parses the rest: nothing lost."""
    from turash.ingestion import service

    real = service._FlowStage.records

    def dies_after_two_batches(self, skip: int = 0):  # type: ignore[no-untyped-def]
        for number, record in enumerate(real(self, skip)):
            if number == 2 * service._SEND_ROWS and skip == 0 and os.getpid() != parent:
                os._exit(3)  # the child only: as if killed
            yield record

    parent = os.getpid()
    monkeypatch.setattr(service._FlowStage, "records", dies_after_two_batches)
    warnings: list[tuple] = []  # the module's logger may be cached by structlog, so capture_logs cannot see it
    monkeypatch.setattr(service, "log", SimpleNamespace(warning=lambda event, **kw: warnings.append((event, kw))))
    report = import_flows(session, "a.csv", data=BIG_MIXED.encode(), name="a.csv", parallel=True)
    assert warnings == [("import_parser_failed", {"exitcode": 3, "delivered": 4000})]
    assert (report.rows_total, report.imported, report.skipped, report.quarantined) == (4501, 4453, 1, 47)
    assert session.scalar(sa.select(sa.func.count()).select_from(ResourceFlow)) == 4453
