"""KPIs and time series as CSV, XLSX (openpyxl) and a printable A4 PDF report (turash.kit.document, fpdf2).

CSV of KPIs: `metric,value,unit` rows; CSV of a time series: one row per month. XLSX: a `KPIs` sheet, a `Time series`
sheet when one is given, and `Top exchanges`. The PDF is the municipality report: the region's headline figures,
flows by category (a bar chart), proposals by state, the months, the top exchanges, the definitions and the credit
owed to the public registers the figures draw on."""

from __future__ import annotations

import csv
import io
from typing import Any

from turash.analytics import service
from turash.kit.document import Bars, Document, Figures, Heading, Paragraph, Table, money, to_pdf
from turash.kit.tabular import csv_safe

KIND = {"region": "Regional symbiosis report", "organization": "Organisation KPIs", "facilitator": "Facilitator KPIs"}
TOP_COLUMNS = (
    "status",
    "category",
    "supplier",
    "supply",
    "receiver",
    "demand",
    "quantity",
    "unit",
    "co2_t_yr",
    "npv_eur",
)


def _cell(value: Any) -> Any:
    return "" if value is None else csv_safe(value)


def kpis_csv(report: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(("metric", "value", "unit"))
    for metric, value, unit in service.kpi_rows(report):
        writer.writerow((metric, _cell(value), unit))
    return buf.getvalue()


def series_csv(series: dict[str, Any]) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf)
    columns = service.series_columns()
    writer.writerow(columns)
    for month in series["months"]:
        writer.writerow([_cell(month[c]) for c in columns])
    return buf.getvalue()


def _top_rows(report: dict[str, Any]) -> list[list[Any]]:
    rows = []
    for x in report.get("top_exchanges") or []:
        quantity = x["quantity"] if x["quantity"] is not None else x["quantity_band"]
        rows.append(
            [
                x["status"],
                x["category"],
                x["supply"]["organization"],
                x["supply"]["resource"],
                x["demand"]["organization"],
                x["demand"]["resource"],
                quantity,
                x["unit"],
                x["co2_avoided_t_per_year"],
                x["npv_eur"],
            ]
        )
    return rows


def xlsx(report: dict[str, Any] | None, series: dict[str, Any] | None) -> bytes:
    """A workbook of the KPIs and/or the time series; numbers stay numbers (not text)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    bold = Font(bold=True)

    def sheet(title: str, header: tuple[str, ...], rows: list[list[Any]] | list[tuple[Any, ...]]) -> None:
        ws = book.create_sheet(title)
        ws.append(list(header))
        for c in ws[1]:
            c.font = bold
        for row in rows:
            ws.append([csv_safe(v) if isinstance(v, str) else v for v in row])
        ws.freeze_panes = "A2"

    if report is not None:
        sheet("KPIs", ("metric", "value", "unit"), service.kpi_rows(report))
        sheet("Top exchanges", TOP_COLUMNS, _top_rows(report))
    if series is not None:
        columns = service.series_columns()
        sheet("Time series", columns, [[m[c] for c in columns] for m in series["months"]])
    if report is not None and report.get("attribution"):
        ws = book.create_sheet("Sources")
        ws.append([report["attribution"]])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def _n(value: float | None, digits: int = 0) -> str:
    return "n/a" if value is None else f"{value:,.{digits}f}"


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.0f} %"


def document(report: dict[str, Any], series: dict[str, Any] | None) -> Document:
    f, m, p, e = report["flows"], report["matches"], report["proposals"], report["exchanged"]
    figures = [
        (_n(f["listed"]), f"flows listed ({f['supply']} supplies, {f['demand']} demands)"),
        (_n(m["found"]), f"matches found ({m['facilitated']} facilitated)"),
        (_n(p["total"]), f"proposals, {p['agreed']} agreed or implemented"),
        (_pct(p["rates"]["conversion_rate"]), "conversion (agreed / sent)"),
    ]
    if e.get("suppressed"):
        figures.append(("withheld", f"exchanged totals: {e['reason']}"))
    else:
        figures += [
            (_n(e["energy_gwh_per_year"], 1), "GWh/yr of energy exchanged"),
            (_n(e["mass_t_per_year"]), "t/yr of materials exchanged"),
            (_n(e["co2_avoided_t_per_year"]), "t CO2e/yr avoided"),
            (money(e["npv_eur"]), "net present value of the agreed exchanges"),
        ]
    blocks: list[Any] = [Figures(figures), Heading("Flows listed by category")]
    cats = f["by_category"]
    if cats:
        blocks.append(
            Bars(
                [(f"{c} ({v['supply']} / {v['demand']})", float(v["supply"] + v["demand"])) for c, v in cats.items()],
                "flows",
            )
        )
        blocks.append(Paragraph("(supplies / demands) per category; inferred flows are not counted.", small=True))
    else:
        blocks.append(Paragraph("No flows listed in this region yet."))
    blocks.append(Heading("Proposals by state"))
    states = [(s, n) for s, n in p["by_state"].items() if n]
    blocks.append(Bars([(s, float(n)) for s, n in states], "") if states else Paragraph("No proposals yet."))
    r = p["rates"]
    blocks.append(
        Paragraph(
            f"Proposal rate {_pct(r['proposal_rate'])} of matches; acceptance {_pct(r['acceptance_rate'])}, "
            f"agreement {_pct(r['agreement_rate'])}, conversion {_pct(r['conversion_rate'])}."
        )
    )
    if series is not None:
        blocks.append(Heading(f"Month by month ({series['from']} to {series['to']})"))
        blocks.append(
            Table(
                ("month", "flows", "matches", "proposals", "agreed", "GWh/yr", "t/yr"),
                [
                    (
                        x["month"],
                        _n(x["flows_listed"]),
                        _n(x["matches_found"]),
                        _n(x["proposals_created"]),
                        _n(x["proposals_agreed"]),
                        _n(x["energy_gwh_per_year"], 1),
                        _n(x["mass_t_per_year"]),
                    )
                    for x in series["months"]
                ],
                widths=(14, 12, 12, 12, 12, 14, 14),
                right=(1, 2, 3, 4, 5, 6),
            )
        )
    top = report.get("top_exchanges") or []
    blocks.append(Heading("Top exchanges"))
    if top:
        rows = []
        for x in top:
            q = _n(x["quantity"], 1) if x["quantity"] is not None else (x["quantity_band"] or "n/a")
            rows.append(
                (
                    f"{x['supply']['resource'] or ''} ({x['supply']['organization'] or 'n/a'})",
                    f"{x['demand']['resource'] or ''} ({x['demand']['organization'] or 'n/a'})",
                    f"{q} {x['unit'] or ''}".strip(),
                    _n(x["co2_avoided_t_per_year"]),
                    money(x["npv_eur"]),
                    x["status"],
                )
            )
        blocks.append(
            Table(
                ("supply", "demand", "quantity", "CO2e t/yr", "NPV", "status"),
                rows,
                widths=(30, 30, 14, 10, 12, 10),
                right=(2, 3, 4),
            )
        )
    else:
        blocks.append(Paragraph("No agreed or implemented exchange yet."))
    blocks.append(
        Paragraph(
            "Definitions: exchanged = the smaller of supply and demand per year of each agreed or implemented "
            "proposal; CO2e and NPV = the business case stored with the proposal (turash.economics: 4 % real, 20 "
            "years, carbon 80 EUR/t unless configured). Other private organisations appear by sector only, with "
            "quantity bands. See docs/analytics.md.",
            small=True,
        )
    )
    if report.get("attribution"):
        blocks.append(Paragraph(report["attribution"], small=True))
    return Document(kicker=KIND[report["scope"]], title=report["label"], blocks=blocks, subject=report["label"])


def pdf(report: dict[str, Any], series: dict[str, Any] | None = None) -> bytes:
    return to_pdf(document(report, series))
