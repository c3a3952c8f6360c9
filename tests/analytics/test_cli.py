"""`turash report region|organization` on the contract's example flows (six Danish flows)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.test_cli import EXAMPLE, run


def test_report_region_in_every_format(cli_db: str, tmp_path: Path) -> None:
    assert run("import", "flows", str(EXAMPLE))[0] == 0
    code, out, err = run("report", "region", "--country", "DK", "--format", "json")
    assert code == 0, err
    kpis = json.loads(out)["kpis"]
    assert (kpis["flows"]["listed"], kpis["flows"]["supply"], kpis["flows"]["demand"]) == (6, 3, 3)
    assert kpis["proposals"]["total"] == 0 and kpis["exchanged"]["energy_gwh_per_year"] == 0.0
    pdf = tmp_path / "report.pdf"
    code, _, err = run(
        "report", "region", "--country", "DK", "--name", "Kalundborg", "--format", "pdf", "--out", str(pdf)
    )
    assert code == 0 and "wrote the Kalundborg report" in err
    assert pdf.read_bytes().startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "Kalundborg" in text and "Flows listed by category" in text
    book = tmp_path / "dk.xlsx"
    assert run("report", "region", "--country", "DK", "--format", "xlsx", "--out", str(book))[0] == 0
    sheet = {r[0]: r[1] for r in load_workbook(book)["KPIs"].iter_rows(min_row=2, values_only=True)}
    assert sheet["flows.listed"] == 6
    code, _, err = run("report", "region", "--country", "DK", "--format", "xlsx")
    assert code == 2 and "--out" in err
    code, out, _ = run("report", "region", "--country", "DK")
    assert code == 0 and "flows.listed" in out
    code, _, err = run("report", "region", "--country", "Atlantis")
    assert code == 2 and "country" in err.lower()


def test_report_organization(cli_db: str) -> None:
    assert run("import", "flows", str(EXAMPLE))[0] == 0
    code, out, err = run("report", "organization", "Example Brewery", "--format", "csv")
    assert code == 0, err
    rows = {r["metric"]: r["value"] for r in csv.DictReader(io.StringIO(out))}
    assert rows["label"] == "Example Brewery" and rows["flows.listed"] == "1" and rows["flows.supply"] == "1"
    code, _, err = run("report", "organization", "Nobody Ltd")
    assert code == 2 and "Nobody Ltd" in err
