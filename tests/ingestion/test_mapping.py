"""Foreign headers onto the import's columns (turash/ingestion/mapping.py): ERP exports in German, French, Danish and
Spanish map to the right columns, no column twice, doubtful headers left alone; mappings apply, fail clearly, and
are saved per organisation and source."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from turash.ingestion.formats import read_file
from turash.ingestion.mapping import (
    THRESHOLD,
    MappingError,
    apply_mapping,
    import_columns,
    load_mapping,
    mapping_of,
    save_mapping,
    suggest_mapping,
)
from turash.ingestion.service import SITE_EXTRA, import_flows, import_sites
from turash.models import ColumnMapping, Organization, ResourceFlow, Site


def _mapped(headers: list[str], kind: str = "flows") -> dict[str, str | None]:
    return {s.header: s.column for s in suggest_mapping(headers, kind)}


GERMAN = {
    "Firma": "organization",
    "Standort": "site",
    "Breitengrad": "lat",
    "Längengrad": "lon",
    "Land": "country",
    "WZ-Code": "nace",
    "Richtung": "direction",
    "Abfallbezeichnung": "resource",
    "AVV-Nummer": "ewc_code",
    "Jahresmenge (t/a)": "quantity",
    "Mengeneinheit": "unit",
    "Temperatur [°C]": "temperature_c",
    "Druck (bar)": "pressure_bar",
    "gefährlich": "hazardous",
    "Verfügbar ab": "available_from",
    "Verfügbar bis": "available_to",
    "Preis EUR/t": "price_eur_per_unit",
    "Bemerkung": "description",
}
FRENCH = {
    "Raison sociale": "organization",
    "Établissement": "site",
    "Latitude": "lat",
    "Longitude": "lon",
    "Pays": "country",
    "Code NAF": "nace",
    "Sens": "direction",
    "Type de déchet": "resource",
    "Code déchet": "ewc_code",
    "Quantité annuelle": "quantity",
    "Unité": "unit",
    "Température": "temperature_c",
    "Pression": "pressure_bar",
    "Pureté (%)": "purity_pct",
    "Dangereux": "hazardous",
    "Prix unitaire": "price_eur_per_unit",
    "Précision": "precision",
    "Commentaire": "description",
}
DANISH = {
    "Virksomhedsnavn": "organization",
    "Anlæg": "site",
    "Breddegrad": "lat",
    "Længdegrad": "lon",
    "Land": "country",
    "Branchekode": "nace",
    "Retning": "direction",
    "Affaldstype": "resource",
    "EAK-kode": "ewc_code",
    "Affaldsmængde": "quantity",  # a compound ending in "mængde"
    "Enhed": "unit",
    "Temperatur": "temperature_c",
    "Tryk": "pressure_bar",
    "Farligt affald": "hazardous",
    "Tilgængelig fra": "available_from",
    "Tilgængelig til": "available_to",
    "Pris": "price_eur_per_unit",
    "Beskrivelse": "description",
}
SPANISH = {
    "Empresa": "organization",
    "Planta": "site",
    "Latitud": "lat",
    "Longitud": "lon",
    "País": "country",
    "Código CNAE": "nace",
    "Residuo": "resource",
    "Código LER": "ewc_code",
    "Cantidad": "quantity",
    "Unidad de medida": "unit",
    "Temperatura": "temperature_c",
    "Peligroso": "hazardous",
    "Disponible desde": "available_from",
    "Disponible hasta": "available_to",
    "Precio": "price_eur_per_unit",
    "Observaciones": "description",
}


@pytest.mark.parametrize("headers", [GERMAN, FRENCH, DANISH, SPANISH], ids=["de", "fr", "da", "es"])
def test_erp_headers_map_to_the_right_columns(headers: dict[str, str]) -> None:
    suggestions = suggest_mapping(list(headers), "flows")
    assert [s.header for s in suggestions] == list(headers)  # one each, in order
    assert {s.header: s.column for s in suggestions} == headers
    assert all(THRESHOLD <= s.score <= 100 for s in suggestions)


def test_spelling_variants_and_typos_still_map() -> None:
    assert _mapped(
        ["Laengengrad", "Quantitiy per year", "EWCcode", "Temp °C", "Betriebstemperatur", "ORGANISATION"]
    ) == {
        "Laengengrad": "lon",
        "Quantitiy per year": "quantity",
        "EWCcode": "ewc_code",
        "Temp °C": "temperature_c",
        "Betriebstemperatur": None,  # temperature_c went to "Temp °C", which fits it better
        "ORGANISATION": "organization",
    }
    assert _mapped(["Betriebstemperatur"]) == {"Betriebstemperatur": "temperature_c"}


def test_no_two_headers_on_one_column() -> None:
    suggestions = suggest_mapping(["Abfallmenge", "Menge", "Quantity", "Qty", "Einheit", "Unit"], "flows")
    columns = [s.column for s in suggestions if s.column is not None]
    assert len(columns) == len(set(columns)) == 2
    by_header = {s.header: s for s in suggestions}
    assert by_header["Menge"].column == "quantity"  # an exact synonym beats a compound; the first exact one wins
    assert by_header["Einheit"].column == "unit"
    assert by_header["Abfallmenge"].column is None and by_header["Abfallmenge"].score == 0
    best_other, score = by_header["Abfallmenge"].alternatives[0]  # still offered to the person confirming
    assert best_other == "quantity" and score >= THRESHOLD


@pytest.mark.parametrize(
    "header",
    ["Kostenstelle", "Standort-ID", "Org.-Nr.", "Postleitzahl", "Code postal", "Telefon", "Name", "Last", "xyz", ""],
)
def test_doubtful_headers_stay_unmapped(header: str) -> None:
    [suggestion] = suggest_mapping([header], "flows")
    assert (suggestion.column, suggestion.score) == (None, 0.0)


def test_a_header_meaning_a_column_of_the_other_kind_is_not_forced_into_this_one() -> None:
    """Spanish "Dirección" is an address: a sites column. In a flows file it must not become `direction`."""
    assert _mapped(["Dirección", "Ciudad", "Empleados"], "flows") == {
        "Dirección": None,
        "Ciudad": None,
        "Empleados": None,
    }
    assert _mapped(["Dirección", "Ciudad", "Empleados"], "sites") == {
        "Dirección": "address",
        "Ciudad": "city",
        "Empleados": "employees",
    }


def test_import_columns_are_the_services() -> None:
    assert set(import_columns("sites")) >= set(SITE_EXTRA)
    assert "temperature_c" in import_columns("flows") and "employees" not in import_columns("flows")
    with pytest.raises(MappingError, match="unknown import kind"):
        import_columns("meters")


GERMAN_CSV = (
    "Firma;Standort;Breitengrad;Längengrad;Richtung;Abfallbezeichnung;AVV-Nummer;Menge (t/a);Einheit;Kostenstelle\n"
    "Zementwerk Nord;Werk 1;53,55;9,99;Angebot;Flugasche;10 01 02;1200;t/yr;K-4711\n"
    "Papierfabrik Süd;Halle 3;48,13;11,58;supply;Faserschlamm;03 03 05;800;t/yr;K-0815\n"
)


def test_import_with_a_suggested_mapping(session) -> None:  # type: ignore[no-untyped-def]
    data = GERMAN_CSV.replace("Angebot", "supply").encode()
    file = read_file(None, data, "sap.csv")
    mapping = mapping_of(suggest_mapping(file.raw_header, "flows"))
    assert "Kostenstelle" not in mapping  # unmapped: stays a free attribute
    report = import_flows(session, "sap.csv", data=data, name="sap.csv", mapping=mapping)
    assert (report.imported, report.quarantined, report.exit_code) == (2, 0, 0)
    assert any(note.startswith("columns mapped: Firma → organization") for note in report.notes)
    flow = session.scalar(sa.select(ResourceFlow).where(ResourceFlow.resource == "Flugasche"))
    assert flow.ewc_code == "100102" and flow.quantity == 1200 and flow.attributes == {"kostenstelle": "K-4711"}
    site = session.get(Site, flow.site_id)
    assert (site.name, site.lat, site.lon) == ("Werk 1", 53.55, 9.99)
    assert session.get(Organization, flow.organization_id).name == "Zementwerk Nord"


def test_import_sites_with_a_mapping(session) -> None:  # type: ignore[no-untyped-def]
    data = "Empresa,Planta,Latitud,Longitud,Empleados,Ciudad\nCementos Sur,Fábrica 2,37.38,-5.98,120,Sevilla\n"
    mapping = {"Empresa": "organization", "Planta": "site", "Latitud": "lat", "Longitud": "lon"}
    mapping |= {"Empleados": "employees", "Ciudad": "city"}
    report = import_sites(session, "s.csv", data=data.encode(), name="s.csv", mapping=mapping)
    assert (report.imported, report.exit_code) == (1, 0)
    site = session.scalar(sa.select(Site).where(Site.name == "Fábrica 2"))
    assert (site.employees, site.city) == (120, "Sevilla")


def test_apply_mapping_matches_headers_as_the_import_does_and_notes_what_it_did() -> None:
    file = read_file(None, b"Firma,MENGE,Menge-Einheit,Extra\nA,1,t,x\n", "x.csv")
    mapped = apply_mapping(file, {"firma": "organization", "Menge": "quantity", "menge einheit": "Unit", "Gone": ""})
    assert mapped.header == ["organization", "quantity", "unit", "extra"]
    assert mapped.raw_header == file.raw_header and file.header == ["firma", "menge", "menge_einheit", "extra"]
    assert "columns mapped: Firma → organization, MENGE → quantity, Menge-Einheit → unit" in mapped.notes
    assert "the mapping names headers this file does not have: Gone" in mapped.notes
    assert list(mapped.rows()) == list(file.rows())
    ignored = apply_mapping(file, {"Extra": None})
    assert ignored.header[-1] == ""  # mapped to nothing: neither a column nor an attribute


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"Menge": "amount"}, "sends 'Menge' to 'amount', which is no flows column"),
        ({"Menge": "employees"}, "which is no flows column"),
        ({"Menge": "quantity", "Anzahl": "quantity"}, "sends both 'Menge' and 'Anzahl' to the column 'quantity'"),
        ({"Firma": "site"}, "would have two 'site' columns: 'Firma' and 'Site'"),
        ({"Menge": 3}, "pairs header names with column names"),
    ],
)
def test_bad_mappings_are_refused_naming_the_problem(mapping: dict, message: str) -> None:  # type: ignore[type-arg]
    file = read_file(None, b"Firma,Site,Menge,Anzahl\nA,B,1,2\n", "x.csv")
    with pytest.raises(MappingError, match=message):
        apply_mapping(file, mapping, kind="flows")


def test_an_import_with_a_bad_mapping_fails_as_a_whole(session) -> None:  # type: ignore[no-untyped-def]
    report = import_flows(session, "x.csv", data=GERMAN_CSV.encode(), name="x.csv", mapping={"Menge (t/a)": "tonnes"})
    assert report.exit_code == 2 and "'tonnes', which is no flows column" in (report.error or "")
    assert session.scalar(sa.select(sa.func.count()).select_from(ResourceFlow)) == 0


def test_saved_mapping_loads_back(session) -> None:  # type: ignore[no-untyped-def]
    org = Organization(name="Zementwerk Nord", name_key="zementwerk nord")
    session.add(org)
    session.flush()
    mapping = mapping_of(suggest_mapping(list(GERMAN), "flows"))
    saved = save_mapping(session, org.id, " SAP export ", "flows", mapping, None)
    assert saved.source == "SAP export"
    session.expire_all()
    assert load_mapping(session, org.id, "SAP export", "flows") == GERMAN
    assert load_mapping(session, org.id, "SAP export", "sites") is None  # per kind
    assert load_mapping(session, org.id, "Historian", "flows") is None  # per source
    assert load_mapping(session, None, "SAP export", "flows") is None  # per organisation

    save_mapping(session, org.id, "SAP export", "flows", {"Firma": "organization", "Kunde": ""}, None)
    assert load_mapping(session, org.id, "SAP export", "flows") == {"Firma": "organization", "Kunde": ""}
    assert session.scalar(sa.select(sa.func.count()).select_from(ColumnMapping)) == 1  # replaced, not added

    save_mapping(session, None, "SAP export", "flows", {"Firma": "organization"}, None)  # platform-wide
    assert load_mapping(session, None, "SAP export", "flows") == {"Firma": "organization"}
    with pytest.raises(MappingError, match="which is no sites column"):
        save_mapping(session, org.id, "SAP export", "sites", {"Menge": "quantity"}, None)
    with pytest.raises(MappingError, match="source is a name"):
        save_mapping(session, org.id, "  ", "flows", {}, None)
