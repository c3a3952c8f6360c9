"""Every file format an import accepts, read into the one shape the import pipeline knows: a `DelimitedFile`.

ERP systems, historians and spreadsheets export JSON, JSON Lines, XML and XLSX as often as CSV. Rather than give each
format its own validation, each reader here turns its records into a header (the union of the records' keys, in the
order first seen, normalised as CSV headers are) and rows of string cells, exactly what the CSV reader yields; the
cell parsers, quarantine and every later stage are then shared, so a file imports the same way whatever its format.

Values become the strings the cell parsers accept: `true`/`false` for booleans, `15000` for an integral number (also
when a spreadsheet stores it as 15000.0), ISO dates for dates, JSON text for nested objects and arrays, an empty
cell for null. A record that cannot be a row (not an object, an unparsable JSON line, two keys naming one column)
becomes a row-level problem with its number, like a malformed CSV record, and the other records still go in. A file
that cannot be read at all raises `FileUnreadable` saying what and where.

Row numbers: CSV and XLSX give the line or sheet row (the header is row 1), JSON Lines the line, JSON and XML the
record's position (1 = the first record), noted in the report because they are not line numbers.

`read_file` is the single entry point: it picks the reader by file extension, and by the content when the name has
no known extension (an upload of bytes called "data").
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from collections import Counter, deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from defusedxml import ElementTree as SafeElementTree
from defusedxml.common import DefusedXmlException

from turash.ingestion.reader import DelimitedFile, FileUnreadable, normalise_header, read_delimited

if TYPE_CHECKING:
    from xml.etree.ElementTree import Element

Format = Literal["delimited", "json", "jsonl", "xml", "xlsx"]
Row = tuple[int, list[str] | None, str | None]  # (row number, cells, None) or (row number, None, problem)

EXTENSIONS: dict[str, Format] = {
    ".csv": "delimited",
    ".tsv": "delimited",
    ".tab": "delimited",
    ".json": "json",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".xml": "xml",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
}
# Formats people send that no reader here can read: refused with what to do instead, not misread as CSV.
_UNSUPPORTED = {
    ".xls": "an old Excel .xls workbook; save it as .xlsx or CSV",
    ".ods": "an OpenDocument spreadsheet; save it as .xlsx or CSV",
    ".zip": "a ZIP archive; unpack it and import the files inside",
}
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # the container of .xls (and .doc)
_XSI = "{http://www.w3.org/2001/XMLSchema-instance}"
_JSON_TYPES = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}


@dataclass
class RecordFile(DelimitedFile):
    """A `DelimitedFile` whose rows were read up front from records (JSON, XML, XLSX, the bulk API) instead of being
    split from CSV text on demand. `rows()` yields the same triples, so the import cannot tell the difference."""

    records: list[Row] = field(default_factory=list)

    def rows(self) -> Iterator[Row]:
        return iter(self.records)


def read_file(
    path: Path | str | None,
    data: bytes | None = None,
    name: str | None = None,
    *,
    kind: str | None = None,
) -> DelimitedFile:
    """Read an import file of any supported format from `path`, or from `data` (an upload) called `name`.

    `kind` ("flows" or "sites") picks, where a file holds several tables, the one named like it: a worksheet
    "Flows", the "flows" array of a JSON object, `<flow>` elements in XML."""
    if path is None and data is None:
        raise FileUnreadable("nothing to read: neither a path nor data given")
    name = name or (Path(path).name if path is not None else "upload")
    suffix = Path(name).suffix.lower()
    if suffix in _UNSUPPORTED:
        raise FileUnreadable(f"{name} is {_UNSUPPORTED[suffix]}", details={"file": name})
    declared = EXTENSIONS.get(suffix)
    if declared == "delimited":  # the CSV reader reads the file itself, with its own messages
        return read_delimited(path if path is not None else name, data=data, name=name)
    if data is None:
        assert path is not None
        data = _read_bytes(Path(path))
    if not data.strip():
        raise FileUnreadable(f"{name} is empty", details={"file": name})
    fmt = declared or sniff_format(data, name)
    if fmt == "delimited":
        return read_delimited(path if path is not None else name, data=data, name=name)
    file = _READERS[fmt](data, name, kind)
    if declared is None:
        shown = {"json": "JSON", "jsonl": "JSON Lines", "xml": "XML", "xlsx": "an XLSX workbook"}[fmt]
        file.notes.insert(0, f"read as {shown}, recognised from the content (the file name has no known extension)")
    return file


def records_file(records: Iterable[Any], name: str, *, first: int = 1) -> RecordFile:
    """Records already in memory (the bulk API's JSON body) as an import file: the same path as an uploaded file.
    Row numbers count from `first`. The fingerprint is of the records' canonical JSON, so the same batch sent twice
    supersedes its earlier quarantine entries as a re-imported file does."""
    records = list(records)
    canonical = json.dumps(records, sort_keys=True, ensure_ascii=False, default=str).encode()
    return _build(
        ((number, record) for number, record in enumerate(records, first)),
        name=name,
        sha256=hashlib.sha256(canonical).hexdigest(),
        encoding="utf-8",
        what="record",
    )


def sniff_format(data: bytes, name: str = "the file") -> Format:
    """The format of `data` from its first bytes, for names without a known extension: a ZIP container with a
    workbook inside is XLSX, `<` opens XML, `[` JSON, `{` JSON or JSON Lines (one object per line); anything else
    is left to the delimited-text reader, which explains itself if it is not text either."""
    if data.startswith(_OLE_MAGIC):
        raise FileUnreadable(f"{name} is {_UNSUPPORTED['.xls']}", details={"file": name})
    if data.startswith(b"PK\x03\x04"):
        return _zip_format(data, name)
    head = _decode(data[:4096], name, strict=False)[0].lstrip("\ufeff \t\r\n")
    if head.startswith("<"):
        return "xml"
    if head.startswith("["):
        return "json"
    if head.startswith("{"):
        text = _decode(data, name, strict=False)[0]
        lines = [line for line in text.split("\n") if line.strip()]
        try:
            first = json.loads(lines[0])
        except ValueError:
            return "json"  # an object spread over several lines
        if len(lines) > 1:
            return "jsonl"
        # one line, one object: a wrapper such as {"flows": [...]} is JSON, a flat record is JSON Lines
        return "json" if isinstance(first, dict) and any(isinstance(v, list) for v in first.values()) else "jsonl"
    return "delimited"


def _zip_format(data: bytes, name: str) -> Format:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            mimetype = archive.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except zipfile.BadZipFile as exc:
        raise FileUnreadable(
            f"{name} looks like a ZIP archive but cannot be opened ({exc})", details={"file": name}
        ) from None
    if "xl/workbook.xml" in names:
        return "xlsx"
    if "opendocument.spreadsheet" in mimetype:
        raise FileUnreadable(f"{name} is {_UNSUPPORTED['.ods']}", details={"file": name})
    raise FileUnreadable(f"{name} is {_UNSUPPORTED['.zip']}", details={"file": name})


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise FileUnreadable(f"file not found: {path}", details={"file": str(path)}) from None
    except IsADirectoryError:
        raise FileUnreadable(f"{path} is a folder, not a file", details={"file": str(path)}) from None
    except PermissionError:
        raise FileUnreadable(f"no permission to read {path}", details={"file": str(path)}) from None


def _decode(data: bytes, name: str, *, strict: bool = True) -> tuple[str, str]:
    """JSON text is UTF-8 (RFC 8259), or UTF-16/32, which `json.detect_encoding` tells apart by the pattern of zero
    bytes; exports from old Windows tools are sometimes Windows-1252, read as such with a note, as the CSV reader
    does. Text has no NUL characters: decoded ones mean a binary file. With `strict` False (sniffing a prefix that
    may end mid-character), never raises: a binary prefix gives ""."""
    encoding: str = json.detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        if strict:
            text, encoding = data.decode("cp1252", errors="replace"), "cp1252"
        else:
            text = data.decode(encoding, errors="replace")
    if "\x00" in text[:8192]:
        if not strict:
            return "", "binary"
        raise FileUnreadable(
            f"{name} looks like a binary file (it contains NUL bytes), not text", details={"file": name}
        )
    return text, encoding.removesuffix("-sig")


# ------------------------------------------------------------------------------------------------- cell values
def cell_text(value: Any) -> str:
    """A value from JSON, XML or a spreadsheet as the string a CSV cell would hold for it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):  # before int: bool is an int
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # spreadsheets store every number as a float: 100102.0 is the EWC code 100102, 15000.0 is 15000
        if value.is_integer() and abs(value) < 2**53:
            return str(int(value))
        return repr(value)  # the shortest text that reads back as the same float; nan/inf are refused later
    if isinstance(value, dt.datetime):
        # a date cell is a datetime at midnight; the date parsers want 2026-01-31, not 2026-01-31T00:00:00
        if value.time() == dt.time() and value.tzinfo is None:
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dict | list | tuple):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return str(value)


def _json_type(value: Any) -> str:
    return next((label for kind, label in _JSON_TYPES.items() if isinstance(value, kind)), "a number")


class _Columns:
    """The header of a record file as it grows: one column per normalised key, in the order first seen."""

    def __init__(self) -> None:
        self.index: dict[str, int] = {}
        self.header: list[str] = []
        self.raw_header: list[str] = []

    def cells(self, record: Mapping[Any, Any]) -> tuple[list[str] | None, str | None]:
        """The record's cells, positioned by the header (missing trailing cells are left off, as the import allows),
        or the reason it cannot be one row."""
        placed: dict[int, tuple[str, str]] = {}
        for key, value in record.items():
            raw = str(key)
            column = normalise_header(raw)
            at = self.index.get(column)
            if at is None:
                at = self.index[column] = len(self.header)
                self.header.append(column)
                self.raw_header.append(raw)
            if at in placed:
                return None, f"fields {placed[at][0]!r} and {raw!r} both name the column {column!r}"
            placed[at] = (raw, cell_text(value))
        width = max(placed, default=-1) + 1
        return [placed[i][1] if i in placed else "" for i in range(width)], None


def _build(
    records: Iterable[tuple[int, Any]],
    *,
    name: str,
    sha256: str,
    encoding: str,
    what: str,
    notes: list[str] | None = None,
) -> RecordFile:
    """A RecordFile from (row number, record) pairs; a record that is not an object becomes that row's problem."""
    columns = _Columns()
    rows: list[Row] = []
    for number, record in records:
        if isinstance(record, _Problem):
            rows.append((number, None, record.reason))
        elif isinstance(record, Mapping):
            cells, problem = columns.cells(record)
            rows.append((number, cells, problem))
        else:
            shown = repr(record) if len(repr(record)) <= 60 else repr(record)[:57] + "..."
            rows.append((number, None, f"{what} {number} is {_json_type(record)} ({shown}), not an object of fields"))
    return RecordFile(
        name=name,
        sha256=sha256,
        encoding=encoding,
        delimiter="",
        header=columns.header,
        raw_header=columns.raw_header,
        text="",
        line_estimate=len(rows),
        notes=notes or [],
        records=rows,
    )


@dataclass(frozen=True)
class _Problem:
    """A record that could not even be parsed, carried to `_build` in its place."""

    reason: str


# -------------------------------------------------------------------------------------------------------- JSON
def read_json(data: bytes, name: str, kind: str | None = None) -> RecordFile:
    """An array of objects, or an object holding one array of objects (`{"flows": [...], "exported": "..."}`)."""
    text, encoding = _decode(data, name)
    try:
        document = json.loads(text)
    except RecursionError:
        raise FileUnreadable(f"{name} is nested too deeply to read", details={"file": name}) from None
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and _one_value_per_line(text):
            file = read_json_lines(data, name, kind)
            file.notes.insert(0, "read as JSON Lines: the file holds one JSON object per line")
            return file
        raise FileUnreadable(
            f"{name} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
            details={"file": name, "line": exc.lineno, "column": exc.colno},
        ) from None
    records, key = _record_array(document, name, kind)
    notes = [] if encoding == "utf-8" else [f"decoded as {encoding}"]
    if records and records[0] is document:
        notes.append("the file holds a single record (an object, not an array of records)")
    else:
        where = f"the {key!r} array" if key is not None else "the array"
        notes.append(f"row numbers count the records of {where} (1 = the first), not lines")
    return _build(
        enumerate(records, 1),
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        what="record",
        notes=notes,
    )


def _one_value_per_line(text: str) -> bool:
    first = next((line for line in text.split("\n") if line.strip()), "")
    try:
        json.loads(first)
    except ValueError:
        return False
    return True


def _record_array(document: Any, name: str, kind: str | None) -> tuple[list[Any], str | None]:
    """The list of records in a JSON document, and the key it was found under: the document if it is an array;
    else its array named like `kind`, or its one array of objects, or the object itself as a single record."""
    if isinstance(document, list):
        return document, None
    if not isinstance(document, dict):
        raise FileUnreadable(
            f"{name} holds {_json_type(document)}; expected an array of records or an object holding one, "
            'such as {"flows": [...]}',
            details={"file": name},
        )
    arrays = {key: value for key, value in document.items() if isinstance(value, list)}
    if kind is not None:
        for key, value in arrays.items():
            if normalise_header(key) in (kind, kind.removesuffix("s")):
                return value, key
    # arrays that can hold records: of objects, or empty ({"flows": []} is a file without records)
    of_objects = [key for key, value in arrays.items() if not value or any(isinstance(v, dict) for v in value)]
    if len(of_objects) == 1:
        return arrays[of_objects[0]], of_objects[0]
    if not of_objects:  # {"organization": ..., "tags": [...]}: the object is itself the one record
        return [document], None
    candidates = of_objects
    advice = f"name the one to import {kind!r}" if kind else "send one per file"
    raise FileUnreadable(
        f"{name} holds several arrays of records ({', '.join(map(repr, candidates))}); {advice}",
        details={"file": name, "arrays": candidates},
    )


def read_json_lines(data: bytes, name: str, kind: str | None = None) -> RecordFile:
    """One JSON object per line (JSON Lines, NDJSON). A line that does not parse is that row's problem, with its
    line number; blank lines are skipped. Lines are split at LF only: U+2028 and friends may stand unescaped
    inside JSON strings, so `str.splitlines` would cut records apart."""
    text, encoding = _decode(data, name)

    def records() -> Iterator[tuple[int, Any]]:
        for number, line in enumerate(text.split("\n"), 1):
            if not line.strip():
                continue
            try:
                yield number, json.loads(line)
            except json.JSONDecodeError as exc:
                yield number, _Problem(f"line {number} is not valid JSON: {exc.msg} at column {exc.colno}")
            except RecursionError:
                yield number, _Problem(f"line {number} is nested too deeply to read")

    return _build(
        records(),
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        what="line",
        notes=[] if encoding == "utf-8" else [f"decoded as {encoding}"],
    )


# --------------------------------------------------------------------------------------------------------- XML
def read_xml(data: bytes, name: str, kind: str | None = None) -> RecordFile:
    """Repeated record elements, each one row: its attributes and child elements are the columns
    (`<flow id="7"><resource>fly ash</resource><quantity unit="t/yr">100</quantity></flow>` gives id, resource,
    quantity and quantity_unit). A child with children of its own is kept as JSON text.

    Parsed with defusedxml, which refuses entity declarations: a few hundred bytes of nested entities
    ("billion laughs") would otherwise expand to gigabytes, and external entities could read local files."""
    try:
        root = SafeElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise FileUnreadable(
            f"{name} was refused: it declares XML entities or external references ({exc}), which could expand "
            "without bound or read other files; export it without a DTD",
            details={"file": name},
        ) from None
    except SafeElementTree.ParseError as exc:
        line, column = exc.position
        raise FileUnreadable(
            f"{name} is not well-formed XML: {_parse_error_message(exc)} at line {line}, column {column + 1}",
            details={"file": name, "line": line, "column": column + 1},
        ) from None
    elements, tag = _record_elements(root, kind)
    return _build(
        ((number, _element_record(element, number, tag)) for number, element in enumerate(elements, 1)),
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding="xml",
        what="record",
        notes=[f"records are the <{tag}> elements; row numbers count them (1 = the first), not lines"],
    )


def _parse_error_message(exc: Exception) -> str:
    return re.sub(r":? line \d+, column \d+$", "", str(exc))


def _local(tag: str) -> str:
    """`{urn:sap:export}Menge` → `Menge`: namespaces say nothing about the column."""
    return tag.rpartition("}")[2]


def _children(element: Element) -> list[Element]:
    return [child for child in element if isinstance(child.tag, str)]  # not comments or processing instructions


def _record_elements(root: Element, kind: str | None) -> tuple[list[Element], str]:
    """The record elements: the children sharing the most frequent tag of the shallowest element where a tag
    repeats (`<export><meta/><flows><flow/><flow/></flows></export>` → the `<flow>`s), or, with `kind`, of the
    shallowest element with `<flow>` (`<site>`) children; a file with a single record is that record."""
    singular = kind.removesuffix("s") if kind else None
    queue: deque[Element] = deque([root])
    while queue:
        node = queue.popleft()
        children = _children(node)
        if not children:
            continue
        counts = Counter(_local(child.tag) for child in children)
        tag, count = max(counts.items(), key=lambda item: (item[0].lower() == singular, item[1]))
        if count >= 2 or tag.lower() == singular:
            return [child for child in children if _local(child.tag) == tag], tag
        queue.extend(children)
    if not _children(root):  # <flows/>: no records at all
        return [], singular or _local(root.tag)
    # nothing repeats: a single record, below any chain of single wrappers (<export><flows><flow>...)
    node = root
    while len(children := _children(node)) == 1 and _children(children[0]):
        node = children[0]
    return [node], _local(node.tag)


def _is_nil(element: Element) -> bool:
    return element.get(f"{_XSI}nil", "").strip().lower() in ("true", "1")


def _element_record(element: Element, number: int, tag: str) -> dict[str, Any] | _Problem:
    record: dict[str, Any] = {}
    sources: dict[str, str] = {}  # field → where it came from, to name both sides of a clash

    def put(key: str, value: Any, source: str) -> _Problem | None:
        if key in sources and sources[key] != source:
            return _Problem(f"record {number}: {sources[key]} and {source} both give the field {key!r}")
        if key in record:  # a repeated child element: all its values, as a JSON array
            previous = record[key]
            record[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            record[key] = value
            sources[key] = source
        return None

    for name, attribute in element.attrib.items():
        if not name.startswith(_XSI) and (clash := put(_local(name), attribute, f"attribute {_local(name)!r}")):
            return clash
    for child in _children(element):
        key = _local(child.tag)
        grandchildren = _children(child)
        value = None if _is_nil(child) else _element_value(child) if grandchildren else (child.text or "")
        if clash := put(key, value, f"element <{key}>"):
            return clash
        if not grandchildren:  # <quantity unit="t/yr">100</quantity>: the attributes qualify the value
            for name, attribute in child.attrib.items():
                if not name.startswith(_XSI) and (
                    clash := put(f"{key}_{_local(name)}", attribute, f"attribute {_local(name)!r} of <{key}>")
                ):
                    return clash
    if not record and (element.text or "").strip():
        return _Problem(f"record {number} (<{tag}>) holds only text, no fields")
    return record


def _element_value(element: Element) -> dict[str, Any]:
    """A nested element as a JSON-able object: attributes, children (repeated ones as arrays), and text as #text."""
    value: dict[str, Any] = {_local(k): v for k, v in element.attrib.items() if not k.startswith(_XSI)}
    for child in _children(element):
        key = _local(child.tag)
        item: Any = _element_value(child) if _children(child) or child.attrib else (child.text or "")
        if key in value:
            value[key] = [*value[key], item] if isinstance(value[key], list) else [value[key], item]
        else:
            value[key] = item
    if text := (element.text or "").strip():
        value["#text"] = text
    return value


# -------------------------------------------------------------------------------------------------------- XLSX
def read_xlsx(data: bytes, name: str, kind: str | None = None) -> RecordFile:
    """The worksheet named like `kind` ("Flows", "sites"), else the first one; its first non-empty row is the
    header. Read-only mode streams the sheet instead of building every cell object, so large workbooks fit in
    memory; formulas give the value Excel last calculated (a workbook never opened in Excel has none: empty).
    Row numbers are the sheet's row numbers, as Excel shows them. openpyxl parses the workbook's XML with
    defusedxml when it is installed (it is a dependency), so workbooks get the same entity protection as XML."""
    import openpyxl  # imported here: loading it costs a tenth of a second that CSV imports need not pay
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as exc:
        raise FileUnreadable(f"{name} is not a readable XLSX workbook ({exc})", details={"file": name}) from None
    try:
        sheets = list(workbook.worksheets)
        if not sheets:
            raise FileUnreadable(f"{name} has no worksheet", details={"file": name})
        wanted = {kind, kind.removesuffix("s")} if kind else set()
        sheet = next((s for s in sheets if normalise_header(s.title) in wanted), sheets[0])
        notes = [f"read the worksheet {sheet.title!r} ({len(sheets)} in the workbook)"] if len(sheets) > 1 else []
        rows = enumerate(sheet.iter_rows(min_row=1, values_only=True), 1)
        raw_header: list[str] = []
        for _, values in rows:
            raw_header = _trimmed([cell_text(v) for v in values])
            if any(h.strip() for h in raw_header):
                break
        else:
            raise FileUnreadable(f"{name}: the worksheet {sheet.title!r} is empty", details={"file": name})
        header = [normalise_header(h) for h in raw_header]
        duplicates = sorted({h for h in header if h and header.count(h) > 1})
        if duplicates:
            raise FileUnreadable(
                f"{name} has duplicate columns: {', '.join(duplicates)}",
                details={"file": name, "duplicates": duplicates},
            )
        records: list[Row] = []
        for number, values in rows:
            cells = _trimmed([cell_text(v) for v in values])
            if any(c.strip() for c in cells):  # spreadsheets are full of formatted but empty rows
                records.append((number, cells, None))
    finally:
        workbook.close()
    return RecordFile(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding="xlsx",
        delimiter="",
        header=header,
        raw_header=raw_header,
        text="",
        line_estimate=len(records),
        notes=notes,
        records=records,
    )


def _trimmed(cells: list[str]) -> list[str]:
    end = len(cells)
    while end and not cells[end - 1]:
        end -= 1
    return cells[:end]


_READERS = {"json": read_json, "jsonl": read_json_lines, "xml": read_xml, "xlsx": read_xlsx}
