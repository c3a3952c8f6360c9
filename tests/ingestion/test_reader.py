import pytest

from turash.ingestion.reader import FileUnreadable, normalise_header, read_delimited

HEADER = "organization,site,lat,lon,direction,resource\n"


def _read(data: bytes):  # type: ignore[no-untyped-def]
    return read_delimited("x.csv", data=data, name="x.csv")


def test_bom_crlf_and_semicolons() -> None:
    f = _read(b"\xef\xbb\xbfOrganization;Site;LAT;lon;Direction;Resource\r\nA;B;1,5;2;supply;ash\r\n")
    assert f.header == ["organization", "site", "lat", "lon", "direction", "resource"]
    assert f.delimiter == ";"
    assert list(f.rows()) == [(2, ["A", "B", "1,5", "2", "supply", "ash"], None)]


def test_quoted_multiline_cells_keep_their_start_line() -> None:
    f = _read((HEADER + 'A,S,1,2,supply,"two\nlines"\nB,S,1,2,demand,x\n').encode())
    assert [(line, cells[-1]) for line, cells, _ in f.rows()] == [(2, "two\nlines"), (4, "x")]


def test_blank_lines_are_skipped_but_line_numbers_stay_true() -> None:
    f = _read((HEADER + "\nA,S,1,2,supply,ash\n,,,,,\nB,S,1,2,demand,x\n").encode())
    assert [line for line, _, _ in f.rows()] == [3, 5]


def test_windows_1252_is_decoded() -> None:
    f = _read((HEADER + "Asnæs Kraftværk,S,1,2,supply,flyveaske\n").encode("cp1252"))
    assert next(f.rows())[1][0] == "Asnæs Kraftværk"  # type: ignore[index]
    assert f.notes == ["decoded as cp1252"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"a,b,a\n1,2,3\n", "duplicate columns"),
    ],
)
def test_unreadable_files(data: bytes, message: str) -> None:
    with pytest.raises(FileUnreadable, match=message):
        _read(data)


def test_missing_file() -> None:
    with pytest.raises(FileUnreadable, match="not found"):
        read_delimited("/nonexistent/flows.csv")


def test_header_normalisation() -> None:
    assert normalise_header(" Temperature C ") == "temperature_c"
    assert normalise_header("EWC-Code") == "ewc_code"
