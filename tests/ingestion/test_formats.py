"""Every import format reads into the same rows as CSV (turash/ingestion/formats.py): the same flows stored, the same
problems found; a bad record is a row-level problem, a bad file a clear file-level one."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.ingestion.test_service import _stored
from turash.ingestion.formats import RecordFile, cell_text, read_file, records_file, sniff_format
from turash.ingestion.reader import FileUnreadable, normalise_header
from turash.ingestion.service import import_flows, quarantined
from turash.models import Organization, ResourceFlow, Site

# One flow per record, with the types each format can carry (numbers, booleans, dates, a line break, an unknown
# column kept as an attribute); the third record has a unit nobody knows and must be quarantined in every format.
RECORDS: list[dict[str, Any]] = [
    {
        "organization": "Asnæs Power Station",
        "site": "Kalundborg",
        "lat": 55.66,
        "lon": 11.08,
        "country": "DK",
        "nace": "35.11",
        "direction": "supply",
        "resource": "fly ash",
        "ewc_code": "10 01 02",
        "quantity": 15000,
        "unit": "t/yr",
        "hazardous": False,
        "available_from": dt.date(2026, 1, 1),
        "moisture": 12,
    },
    {
        "organization": "Novo Nordisk",
        "site": "Kalundborg",
        "lat": 55.67,
        "lon": 11.09,
        "country": "DK",
        "direction": "demand",
        "resource": "steam 12 bar",
        "quantity": 30.5,
        "unit": "t/h",
        "temperature_c": 190,
    },
    {
        "organization": "Bad Unit Co",
        "lat": 55.0,
        "lon": 11.0,
        "direction": "supply",
        "resource": "slag",
        "quantity": 100,
        "unit": "bananas/yr",
    },
    {
        "organization": "Gyproc",
        "lat": 55.68,
        "lon": 11.1,
        "direction": "demand",
        "resource": "FGD gypsum",
        "precision": "measured",
        "description": "line 1\nline 2",
    },
]
COLUMNS = list(dict.fromkeys(key for record in RECORDS for key in record))


def _text(value: Any) -> str:
    """How a person types each value into a CSV file."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def _jsonable(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in record.items()}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def as_csv(records: list[dict[str, Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows([_text(r[c]) if c in r else "" for c in COLUMNS] for r in records)
    return out.getvalue().encode()


def as_json(records: list[dict[str, Any]]) -> bytes:
    return json.dumps([_jsonable(r) for r in records], indent=2, ensure_ascii=False).encode()


def as_wrapped_json(records: list[dict[str, Any]]) -> bytes:
    return json.dumps({"exported": "2026-03-01", "flows": [_jsonable(r) for r in records]}).encode()


def as_json_lines(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(_jsonable(r), ensure_ascii=False) + "\n" for r in records).encode()


def as_xml(records: list[dict[str, Any]]) -> bytes:
    """Direction as an attribute, everything else as child elements, in a namespace, behind a header element."""
    flows = []
    for r in records:
        children = "".join(f"<{k}>{_escape(_text(v))}</{k}>" for k, v in r.items() if k != "direction")
        flows.append(f'  <flow direction="{r["direction"]}">{children}</flow>\n')
    body = "".join(flows)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<export xmlns="urn:example:erp">\n'
        f"<header><system>SAP</system></header>\n<flows>\n{body}</flows>\n</export>\n"
    ).encode()


def as_xlsx(records: list[dict[str, Any]]) -> bytes:
    """A workbook whose first sheet is a cover page: the import must pick the sheet called "Flows"."""
    workbook = openpyxl.Workbook()
    cover = workbook.active
    cover.title = "About"
    cover.append(["exported from the plant ERP"])
    sheet = workbook.create_sheet("Flows")
    sheet.append(COLUMNS)
    sheet.append([])  # an empty row, as spreadsheets have: skipped, and the row numbers stay the sheet's
    for r in records:
        sheet.append([r.get(c) for c in COLUMNS])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


FORMATS = {
    "flows.json": (as_json, 3),  # the bad record's row number: its position in the array
    "wrapped.json": (as_wrapped_json, 3),
    "flows.jsonl": (as_json_lines, 3),  # its line
    "flows.xml": (as_xml, 3),  # its position among the <flow> elements
    "flows.xlsx": (as_xlsx, 5),  # its sheet row (header, empty row, two records)
    "flows.ndjson": (as_json_lines, 3),
}


def _import(session, data: bytes, name: str):  # type: ignore[no-untyped-def]
    return import_flows(session, name, data=data, name=name, parallel=False)


def _outcome(report) -> tuple:  # type: ignore[no-untyped-def]
    return (
        report.rows_total,
        report.imported,
        report.skipped,
        report.quarantined,
        report.organizations_created,
        report.sites_created,
        [(p.column, p.reason) for p in report.problems],
    )


def _wipe(session) -> None:  # type: ignore[no-untyped-def]
    session.execute(sa.delete(ResourceFlow))
    session.execute(sa.delete(Site))
    session.execute(sa.delete(Organization))


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_format_imports_what_the_equivalent_csv_imports(session, name: str) -> None:  # type: ignore[no-untyped-def]
    encode, bad_row = FORMATS[name]
    from_csv = _import(session, as_csv(RECORDS), "flows.csv")
    assert (from_csv.imported, from_csv.quarantined, from_csv.exit_code) == (3, 1, 1)
    assert [p.row for p in from_csv.problems] == [4]
    expected = _stored(session)
    _wipe(session)

    report = _import(session, encode(RECORDS), name)
    assert report.error is None
    assert _outcome(report) == _outcome(from_csv)
    assert [p.row for p in report.problems] == [bad_row]
    assert _stored(session) == expected
    ash = session.scalar(sa.select(ResourceFlow).where(ResourceFlow.resource == "fly ash"))
    assert ash.attributes == {"moisture": "12"} and ash.available_from == dt.date(2026, 1, 1)
    assert ash.quantity == 15000 and ash.hazardous is False


def test_a_record_that_is_not_an_object_is_quarantined_and_the_others_go_in(session) -> None:  # type: ignore[no-untyped-def]
    good = [_jsonable(r) for r in RECORDS if r["organization"] != "Bad Unit Co"]
    data = json.dumps([good[0], "just a string", good[1], [1, 2], good[2]]).encode()
    report = _import(session, data, "mixed.json")
    assert (report.rows_total, report.imported, report.quarantined, report.exit_code) == (5, 3, 2, 1)
    assert [(p.row, p.column) for p in report.problems] == [(2, ""), (4, "")]
    assert "record 2 is a string" in report.problems[0].reason and "not an object" in report.problems[0].reason
    assert "record 4 is an array" in report.problems[1].reason
    assert "row numbers count the records" in report.notes[0]
    assert {q.row_number for q in quarantined(session)} == {2, 4}


def test_an_unparsable_json_line_is_quarantined_with_its_line_number(session) -> None:  # type: ignore[no-untyped-def]
    lines = as_json_lines(RECORDS[:2]).decode().splitlines()
    data = "\n".join([lines[0], "", '{"organization": "Broken", "lat": 55,', lines[1], "42"]).encode()
    report = _import(session, data, "flows.jsonl")
    assert (report.rows_total, report.imported, report.quarantined) == (4, 2, 2)
    assert [p.row for p in report.problems] == [3, 5]
    assert "line 3 is not valid JSON" in report.problems[0].reason and "column" in report.problems[0].reason
    assert "line 5 is a number" in report.problems[1].reason


def test_bad_json_fails_the_file_with_its_line_and_column(session) -> None:  # type: ignore[no-untyped-def]
    data = b'[\n  {"organization": "A", "lat": 55},\n  {"organization": "B" "lat": 56}\n]\n'
    with pytest.raises(FileUnreadable, match=r"not valid JSON: Expecting ',' delimiter at line 3, column 24") as err:
        read_file(None, data, "flows.json")
    assert err.value.details == {"file": "flows.json", "line": 3, "column": 24}
    report = _import(session, data, "flows.json")
    assert report.exit_code == 2 and "line 3, column 24" in (report.error or "")
    assert session.scalar(sa.select(sa.func.count()).select_from(ResourceFlow)) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'"flows"', "holds a string; expected an array of records"),
        (b'{"flows": [{"a": 1}], "sites": [{"b": 2}], "x": 1}', "several arrays of records"),
        (b"   ", "empty"),
        (b"\x00\x01binary\x00", "binary"),
    ],
)
def test_unreadable_json(data: bytes, message: str) -> None:
    with pytest.raises(FileUnreadable, match=message):
        read_file(None, data, "x.json")


def test_json_object_shapes() -> None:
    wrapped = b'{"sites": [{"organization": "S"}], "flows": [{"organization": "F"}]}'
    assert list(read_file(None, wrapped, "x.json", kind="flows").rows()) == [(1, ["F"], None)]
    assert list(read_file(None, b'{"flows": []}', "x.json").rows()) == []
    single = read_file(None, b'{"organization": "A", "tags": ["x", "y"], "meta": {"k": null}}', "x.json")
    assert single.header == ["organization", "tags", "meta"]
    assert list(single.rows()) == [(1, ["A", '["x","y"]', '{"k":null}'], None)]  # nested values as JSON text


def test_two_keys_naming_one_column_are_a_row_problem() -> None:
    file = read_file(None, b'[{"Lat": 1, "lat": 2}, {"LAT": 3}]', "x.json")
    assert file.header == ["lat"] and file.raw_header == ["Lat"]
    rows = list(file.rows())
    assert rows[0] == (1, None, "fields 'Lat' and 'lat' both name the column 'lat'")
    assert rows[1] == (2, ["3"], None)


BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<flows><flow><organization>&lol4;</organization><lat>1</lat></flow></flows>
"""
EXTERNAL_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE flows [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<flows><flow><organization>&secret;</organization></flow></flows>
"""


@pytest.mark.parametrize("data", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
def test_xml_entities_are_refused(session, data: bytes) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileUnreadable, match="refused: it declares XML entities"):
        read_file(None, data, "flows.xml")
    report = _import(session, data, "flows.xml")
    assert report.exit_code == 2 and "refused" in (report.error or "")
    assert session.scalar(sa.select(sa.func.count()).select_from(Organization)) == 0


def test_malformed_xml_says_where() -> None:
    with pytest.raises(FileUnreadable, match=r"not well-formed XML: mismatched tag at line 2, column 24") as err:
        read_file(None, b"<flows>\n<flow><organization>A</flow></flows>", "flows.xml")
    assert err.value.details["line"] == 2


def test_xml_records_attributes_and_nesting() -> None:
    data = b"""<flows xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
      <flow id="7"><resource>fly ash</resource><quantity unit="t/yr">100</quantity><nace xsi:nil="true"/>
        <tag>a</tag><tag>b</tag></flow>
      <flow><resource>slag</resource><place><lat>55.1</lat><lon>11.2</lon></place></flow>
      <flow>only text</flow>
      <flow id="9"><id>10</id></flow>
    </flows>"""
    file = read_file(None, data, "flows.xml")
    assert file.header == ["id", "resource", "quantity", "quantity_unit", "nace", "tag", "place"]
    rows = list(file.rows())
    assert rows[0] == (1, ["7", "fly ash", "100", "t/yr", "", '["a","b"]'], None)
    assert rows[1] == (2, ["", "slag", "", "", "", "", '{"lat":"55.1","lon":"11.2"}'], None)
    assert rows[2] == (3, None, "record 3 (<flow>) holds only text, no fields")
    assert rows[3][1] is None and "both give the field 'id'" in (rows[3][2] or "")


def test_xlsx_dates_and_numbers_become_the_text_the_parsers_accept() -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Organization", "Available From", "Quantity", "EWC Code", "Temperature C", "Hazardous", "Seen"])
    sheet.append(["Acme", dt.date(2026, 1, 31), 15000, 100102.0, 85.5, True, dt.datetime(2026, 2, 1, 13, 30)])
    sheet.append(["Beta", dt.datetime(2026, 3, 1), 1.5e-7, None, None, None, None])
    sheet["A6"] = "Gamma"  # rows 4 and 5 left empty: skipped
    out = io.BytesIO()
    workbook.save(out)
    file = read_file(None, out.getvalue(), "flows.xlsx")
    assert file.header == [
        "organization",
        "available_from",
        "quantity",
        "ewc_code",
        "temperature_c",
        "hazardous",
        "seen",
    ]
    assert list(file.rows()) == [
        (2, ["Acme", "2026-01-31", "15000", "100102", "85.5", "true", "2026-02-01T13:30:00"], None),
        (3, ["Beta", "2026-03-01", "1.5e-07"], None),
        (6, ["Gamma"], None),
    ]


def test_xlsx_that_is_not_a_workbook() -> None:
    with pytest.raises(FileUnreadable, match="not a readable XLSX workbook"):
        read_file(None, b"organization,lat\nA,1\n", "flows.xlsx")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (as_csv(RECORDS), "delimited"),
        (as_json(RECORDS), "json"),
        (as_wrapped_json(RECORDS), "json"),
        (b'{\n  "flows": []\n}\n', "json"),
        (as_json_lines(RECORDS), "jsonl"),
        (b'{"organization": "A", "lat": 1}', "jsonl"),
        (as_xml(RECORDS), "xml"),
        (as_xlsx(RECORDS), "xlsx"),
        ("\ufeff".encode() + as_json(RECORDS), "json"),
    ],
)
def test_content_sniffing(data: bytes, expected: str) -> None:
    assert sniff_format(data) == expected


@pytest.mark.parametrize("name", list(FORMATS))
def test_upload_without_extension_is_recognised(session, name: str) -> None:  # type: ignore[no-untyped-def]
    encode, _ = FORMATS[name]
    report = _import(session, encode(RECORDS), "data")
    assert (report.imported, report.quarantined) == (3, 1)
    assert "recognised from the content" in report.notes[0]


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel .xls workbook"),
        ("data", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "old Excel .xls workbook"),
        ("sheet.ods", b"PK\x03\x04", "OpenDocument spreadsheet"),
    ],
)
def test_formats_we_cannot_read_are_named(name: str, data: bytes, message: str) -> None:
    with pytest.raises(FileUnreadable, match=message):
        read_file(None, data, name)


def test_a_path_is_read_by_extension(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "export.ndjson"
    path.write_bytes(as_json_lines(RECORDS))
    assert read_file(path).header == COLUMNS
    with pytest.raises(FileUnreadable, match="not found"):
        read_file(tmp_path / "missing.json")


def test_records_file_goes_through_the_same_import(session) -> None:  # type: ignore[no-untyped-def]
    """The bulk API's path: records already in memory, no file."""
    records = [_jsonable(r) for r in RECORDS] + ["not a record"]
    file = records_file(records, "bulk-job-1")
    assert isinstance(file, RecordFile) and file.header == COLUMNS
    report = import_flows(session, file, parallel=False)
    assert report.file == "bulk-job-1"
    assert (report.rows_total, report.imported, report.quarantined) == (5, 3, 2)
    assert [p.row for p in report.problems] == [3, 5]
    assert records_file(records, "again").sha256 == file.sha256  # same batch, same fingerprint


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, ""),
        (True, "true"),
        (0, "0"),
        (15000.0, "15000"),
        (0.1, "0.1"),
        (float("nan"), "nan"),
        (dt.date(2026, 1, 31), "2026-01-31"),
        (dt.datetime(2026, 1, 31), "2026-01-31"),
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
    ],
)
def test_cell_text(value: Any, text: str) -> None:
    assert cell_text(value) == text


FIELDS = ["organization", "resource", "description", "Free Text"]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({}, optional={f: st.text() for f in FIELDS}), min_size=1, max_size=8))
@example([{"description": 'a\u2028b\x85c\r"\\ \U0001f525', "organization": ""}, {}])
def test_json_lines_round_trip_any_string(records: list[dict[str, str]]) -> None:
    """Whatever the strings (quotes, line and paragraph separators, control characters, astral characters), each
    value comes back as the cell of its column, on the line it was written."""
    data = "\n".join(json.dumps(r, ensure_ascii=False) for r in records).encode()
    file = read_file(None, data, "x.jsonl")
    rows = list(file.rows())
    assert [line for line, _, _ in rows] == list(range(1, len(records) + 1))
    for record, (_, cells, problem) in zip(records, rows, strict=True):
        assert problem is None and cells is not None
        back = dict(zip(file.header, cells, strict=False))
        wanted = {normalise_header(key): value for key, value in record.items()}
        assert {column: back.get(column, "") for column in file.header} == {
            column: wanted.get(column, "") for column in file.header
        }
