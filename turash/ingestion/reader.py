"""Read a delimited text file the way people actually save them: any of , ; tab | as delimiter, UTF-8 with or
without BOM (Windows-1252 as fallback), CRLF or LF, quoted fields with line breaks. A file that cannot be read at all
(missing, empty, binary, no header) raises `FileUnreadable` with the reason."""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from turash.kit.errors import TurashError

_DELIMITERS = ",;\t|"
csv.field_size_limit(10 * 1024 * 1024)


class FileUnreadable(TurashError):
    status_code = 400
    code = "file_unreadable"


@dataclass
class DelimitedFile:
    name: str
    sha256: str
    encoding: str
    delimiter: str
    header: list[str]  # normalised column names
    raw_header: list[str]
    text: str
    line_estimate: int
    notes: list[str] = field(default_factory=list)

    def rows(self) -> Iterator[tuple[int, list[str] | None, str | None]]:
        """(line number where the record starts, cells, None) for every non-blank record after the header, or
        (line, None, reason) for a record the CSV parser cannot split."""
        reader = csv.reader(io.StringIO(self.text, newline=""), delimiter=self.delimiter)
        next(reader, None)
        last_line = reader.line_num
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield last_line + 1, None, f"malformed CSV record: {exc}"
                last_line = reader.line_num
                continue
            start = last_line + 1
            last_line = reader.line_num
            if not cells or all(not c.strip() for c in cells):
                continue
            yield start, cells, None


def normalise_header(name: str) -> str:
    """`Temperature C`, ` temperature_c `, `TEMPERATURE-C` → `temperature_c`."""
    return re.sub(r"[\s\-]+", "_", name.strip().strip('"').lower()).strip("_")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16"
    if b"\x00" in data[:8192]:
        raise FileUnreadable(
            f"{name} looks like a binary file (it contains NUL bytes), not a CSV text file", details={"file": name}
        )
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    text = data.decode("cp1252", errors="replace")
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:8192])
    if printable < 0.95 * min(len(text), 8192):
        raise FileUnreadable(f"{name} is not readable text (neither UTF-8 nor Windows-1252)", details={"file": name})
    return text, "cp1252"


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: len(next(csv.reader([first_line], delimiter=d))) for d in _DELIMITERS}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best


def read_delimited(path: Path | str, *, data: bytes | None = None, name: str | None = None) -> DelimitedFile:
    path = Path(path)
    name = name or path.name
    if data is None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise FileUnreadable(f"file not found: {path}", details={"file": str(path)}) from None
        except IsADirectoryError:
            raise FileUnreadable(f"{path} is a folder, not a file", details={"file": str(path)}) from None
        except PermissionError:
            raise FileUnreadable(f"no permission to read {path}", details={"file": str(path)}) from None
    if not data.strip():
        raise FileUnreadable(f"{name} is empty", details={"file": name})
    text, encoding = _decode(data, name)
    notes = [] if encoding == "utf-8" else [f"decoded as {encoding}"]
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = _sniff_delimiter(first_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        raw_header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise FileUnreadable(f"{name} has no readable header row ({exc})", details={"file": name}) from None
    header = [normalise_header(h) for h in raw_header]
    seen: set[str] = set()
    duplicates = sorted({h for h in header if h and (h in seen or seen.add(h))})  # type: ignore[func-returns-value]
    if duplicates:
        raise FileUnreadable(
            f"{name} has duplicate columns: {', '.join(duplicates)}", details={"file": name, "duplicates": duplicates}
        )
    return DelimitedFile(
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        delimiter=delimiter,
        header=header,
        raw_header=raw_header,
        text=text,
        line_estimate=text.count("\n"),
        notes=notes,
    )
