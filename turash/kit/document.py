"""Printable documents (a match's business case, a partner packet) as HTML and as A4 PDF from one description.

    doc = Document(kicker="Business case", title="fly ash → cement", blocks=[Paragraph("..."), Heading("Risk"),
                   Table(("dimension", "level"), [("technical", "low")], widths=(30, 70))])
    to_html(doc), to_pdf(doc)

The PDF uses fpdf2 with DejaVu Sans when the font is installed (it covers →, °, CO₂ and most scripts' names).
Without it, fpdf2's core Helvetica is used and text outside Latin-1 is transliterated (→ becomes ->, CO₂ CO2,
Ł L, ...), so a missing font never breaks an export. HTML escapes every value; no script, no external resource.
"""

from __future__ import annotations

import html
import logging
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Where a Unicode TTF font is looked for: (regular, bold) file names in each directory, Debian/Ubuntu first.
FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts/truetype/dejavu"),
    Path("/usr/share/fonts/dejavu"),
    Path("/usr/share/fonts/TTF"),
    Path("/usr/share/fonts/dejavu-sans-fonts"),
    Path("/usr/local/share/fonts"),
)
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")


@dataclass(frozen=True)
class Heading:
    text: str


@dataclass(frozen=True)
class Paragraph:
    text: str
    small: bool = False  # a footnote: smaller and muted


@dataclass(frozen=True)
class Figures:
    """Headline figures as tiles: (value, label)."""

    items: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Bullets:
    """A list of (lead, rest): the lead in bold, e.g. a rule's name and its detail."""

    items: Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Table:
    columns: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[int] = ()  # relative column widths (PDF); equal when empty
    right: Sequence[int] = ()  # indexes of right-aligned (numeric) columns


@dataclass(frozen=True)
class Bars:
    """A horizontal bar chart: (label, value) drawn to scale of the largest value, the value printed with `unit`."""

    items: Sequence[tuple[str, float]]
    unit: str = ""


Block = Heading | Paragraph | Figures | Bullets | Table | Bars


@dataclass(frozen=True)
class Document:
    kicker: str  # the document type, e.g. "Business case"
    title: str
    blocks: Sequence[Block] = field(default_factory=list)
    subject: str = ""  # the short name in the browser tab / PDF metadata


def money(value: float | None) -> str:
    """EUR for people: "1.25 M EUR", "48,000 EUR", "n/a"."""
    if value is None:
        return "n/a"
    return f"{value / 1e6:,.2f} M EUR" if abs(value) >= 1e6 else f"{value:,.0f} EUR"


def years(value: float | None) -> str:
    """A payback time for people: "3.4 yr", "< 0.1 yr", "n/a"."""
    if value is None:
        return "n/a"
    return "< 0.1 yr" if 0 <= value < 0.05 else f"{value:,.1f} yr"


# ------------------------------------------------------------------------------------------------------- HTML
_STYLE = """body{font-family:system-ui,sans-serif;margin:24px;color:#1d2a24;font-size:13px;max-width:60em}
h1{font-size:20px;margin:0}.kicker{color:#52615a;font-size:12px;margin:0 0 4px}
h2{font-size:15px;margin:18px 0 6px;color:#0f5132}table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #dde5e0;padding:3px 6px;text-align:left;vertical-align:top}td.n,th.n{text-align:right}
.k{display:flex;gap:14px;flex-wrap:wrap}.k div{background:#eef3f0;padding:8px 12px;border-radius:6px}
.k b{display:block;font-size:16px}.small{color:#52615a;font-size:11px}
@media print{body{margin:0}}"""


def _e(value: object) -> str:
    return html.escape("" if value is None else str(value))


def _html_block(block: Block) -> str:
    if isinstance(block, Heading):
        return f"<h2>{_e(block.text)}</h2>"
    if isinstance(block, Paragraph):
        return f'<p class="small">{_e(block.text)}</p>' if block.small else f"<p>{_e(block.text)}</p>"
    if isinstance(block, Figures):
        tiles = "\n".join(f"<div><b>{_e(value)}</b>{_e(label)}</div>" for value, label in block.items)
        return f'<div class="k">{tiles}</div>'
    if isinstance(block, Bullets):
        items = "".join(f"<li><b>{_e(lead)}</b>{_e(rest)}</li>" for lead, rest in block.items)
        return f"<ul>{items}</ul>"
    if isinstance(block, Bars):
        top = max((v for _, v in block.items), default=0.0) or 1.0
        bars = "".join(
            f'<tr><td>{_e(label)}</td><td style="width:60%"><div style="background:#0f5132;height:10px;'
            f'width:{max(0.0, value) / top * 100:.1f}%"></div></td>'
            f"<td class=n>{_e(_bar_value(value, block.unit))}</td></tr>"
            for label, value in block.items
        )
        return f"<table>{bars}</table>"
    head = "".join(
        f'<th class="n">{_e(c)}</th>' if i in block.right else f"<th>{_e(c)}</th>" for i, c in enumerate(block.columns)
    )
    body = "".join(
        "<tr>"
        + "".join(f"<td class=n>{_e(v)}</td>" if i in block.right else f"<td>{_e(v)}</td>" for i, v in enumerate(r))
        + "</tr>"
        for r in block.rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _bar_value(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}".strip() if abs(value) >= 10 else f"{value:,.2f} {unit}".strip()


def to_html(doc: Document) -> str:
    blocks = "\n".join(_html_block(b) for b in doc.blocks)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{_e(doc.kicker)}: {_e(doc.subject or doc.title)}</title>
<style>{_STYLE}</style></head><body>
<p class="kicker">{_e(doc.kicker)}</p>
<h1>{_e(doc.title)}</h1>
{blocks}
</body></html>"""


# -------------------------------------------------------------------------------------------------------- PDF
_INK = (29, 42, 36)
_GREEN = (15, 81, 50)
_MUTED = (82, 97, 90)
_TILE = (238, 243, 240)
_LATIN1_SUBSTITUTES = {
    "→": "->",
    "←": "<-",
    "↔": "<->",
    "⇒": "=>",
    "–": "-",
    "—": "-",
    "−": "-",
    "‐": "-",
    "•": "-",
    "‘": "'",
    "’": "'",
    "‚": ",",
    "“": '"',
    "”": '"',
    "„": '"',
    "…": "...",
    "≤": "<=",
    "≥": ">=",
    "≈": "~",
    "≠": "!=",
    "€": "EUR",
    "√": "sqrt",
    "Δ": "delta ",
    "η": "eta",
    "Ł": "L",
    "ł": "l",
    "Đ": "D",
    "đ": "d",
    "Œ": "OE",
    "œ": "oe",
    "ß": "ss",
}


def latin1(text: str) -> str:
    """Text a core (Latin-1) font can show: known symbols spelt out, accents dropped, anything else '?'."""
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
        elif ch in _LATIN1_SUBSTITUTES:
            out.append(_LATIN1_SUBSTITUTES[ch])
        else:
            plain = "".join(
                c for c in unicodedata.normalize("NFKD", ch) if ord(c) < 256 and not unicodedata.combining(c)
            )
            out.append(plain or "?")
    return "".join(out)


def unicode_font() -> tuple[Path, Path] | None:
    """(regular, bold) of the first DejaVu Sans found; bold falls back to regular."""
    regular, bold = FONT_FILES
    for directory in FONT_DIRS:
        if (directory / regular).is_file():
            return directory / regular, directory / bold if (directory / bold).is_file() else directory / regular
    return None


def to_pdf(doc: Document) -> bytes:
    """The document as a printable A4 PDF (one page when it fits)."""
    font = unicode_font()
    if font is not None:
        try:
            return _pdf(doc, font)
        except Exception:  # an unreadable or broken font file: fall back rather than fail the export
            log.warning("PDF with the font %s failed; using a core font", font[0], exc_info=True)
    return _pdf(doc, None)


def _pdf(doc: Document, font: tuple[Path, Path] | None) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    if font is not None:
        pdf.add_font("DejaVu", "", str(font[0]))
        pdf.add_font("DejaVu", "B", str(font[1]))
        family = "DejaVu"
        t: Callable[[str], str] = str
    else:
        family = "Helvetica"
        t = latin1
    pdf.set_margins(15, 12, 15)
    pdf.set_auto_page_break(auto=True, margin=12)
    pdf.set_title(t(f"{doc.kicker}: {doc.subject or doc.title}"))
    pdf.set_creator("Turash")
    pdf.set_author("Turash")
    pdf.add_page()
    width = pdf.epw

    def font_(size: float, bold: bool = False, color: tuple[int, int, int] = _INK) -> None:
        pdf.set_font(family, "B" if bold else "", size)
        pdf.set_text_color(*color)

    def paragraph(text: str, size: float = 8.5, height: float = 4.0, color: tuple[int, int, int] = _INK) -> None:
        font_(size, color=color)
        pdf.multi_cell(width, height, t(text), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def heading(text: str) -> None:
        if pdf.get_y() + 16 > pdf.page_break_trigger:  # keep a heading with the first lines under it
            pdf.add_page()
        pdf.ln(2)
        font_(10.5, bold=True, color=_GREEN)
        pdf.cell(width, 5.5, t(text), new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(block: Table) -> None:
        font_(7.5)
        pdf.set_draw_color(221, 229, 224)
        pdf.set_fill_color(255, 255, 255)
        n = len(block.columns)
        widths = tuple(block.widths) if len(block.widths) == n else (1,) * n
        align = tuple("RIGHT" if i in block.right else "LEFT" for i in range(n))
        with pdf.table(
            col_widths=widths,
            text_align=align,
            line_height=3.2,
            borders_layout="HORIZONTAL_LINES",
            cell_fill_mode="NONE",
            width=width,
        ) as tbl:
            for row in (block.columns, *block.rows):
                cells = tbl.row()
                for value in row:
                    cells.cell(t(str(value)))

    def figures(items: Sequence[tuple[str, str]]) -> None:
        per_row, gap, tile_h = 3, 2.5, 13.5
        tile_w = (width - gap * (per_row - 1)) / per_row
        for start in range(0, len(items), per_row):
            if pdf.get_y() + tile_h > pdf.page_break_trigger:
                pdf.add_page()
            y = pdf.get_y()
            for i, (value, label) in enumerate(items[start : start + per_row]):
                x = pdf.l_margin + i * (tile_w + gap)
                pdf.set_fill_color(*_TILE)
                pdf.rect(x, y, tile_w, tile_h, style="F")
                pdf.set_xy(x + 2.5, y + 1.5)
                font_(11.5, bold=True)
                pdf.cell(tile_w - 5, 5.5, t(value))
                pdf.set_xy(x + 2.5, y + 7.2)
                font_(7, color=_MUTED)
                pdf.multi_cell(tile_w - 5, 3, t(label), align="L")
            pdf.set_xy(pdf.l_margin, y + tile_h + gap)

    def bullets(items: Sequence[tuple[str, str]]) -> None:
        line = 3.9
        for lead, rest in items:
            left = pdf.l_margin
            pdf.set_x(left)
            font_(8.5)
            pdf.cell(4, line, t("•"))
            pdf.set_left_margin(left + 4)  # wrapped lines stay under the text, not the bullet
            font_(8.5, bold=True)
            pdf.write(line, t(lead))
            if rest:
                font_(8.5)
                pdf.write(line, t(rest))
            pdf.ln(line + 0.6)
            pdf.set_left_margin(left)

    def bars(block: Bars) -> None:
        label_w, value_w, line = width * 0.3, width * 0.18, 4.6
        top = max((v for _, v in block.items), default=0.0) or 1.0
        for label, value in block.items:
            if pdf.get_y() + line > pdf.page_break_trigger:
                pdf.add_page()
            y = pdf.get_y()
            font_(7.5)
            pdf.set_x(pdf.l_margin)
            pdf.cell(label_w, line, t(label))
            span = (width - label_w - value_w) * max(0.0, value) / top
            if span > 0:
                pdf.set_fill_color(*_GREEN)
                pdf.rect(pdf.l_margin + label_w, y + 1, span, line - 2, style="F")
            pdf.set_xy(pdf.l_margin + width - value_w, y)
            pdf.cell(value_w, line, t(_bar_value(value, block.unit)), align="R")
            pdf.set_xy(pdf.l_margin, y + line)

    font_(8, color=_MUTED)
    pdf.cell(width, 4, t(f"{doc.kicker} · {doc.subject}" if doc.subject else doc.kicker))
    pdf.ln(4)
    font_(14, bold=True)
    pdf.multi_cell(width, 6.5, t(doc.title), align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(1.5)
    for block in doc.blocks:
        if isinstance(block, Heading):
            heading(block.text)
        elif isinstance(block, Paragraph):
            if block.small:
                pdf.ln(1)
                paragraph(block.text, size=7.5, height=3.6, color=_MUTED)
            else:
                paragraph(block.text)
        elif isinstance(block, Figures):
            pdf.ln(1.5)
            figures(block.items)
        elif isinstance(block, Bullets):
            bullets(block.items)
        elif isinstance(block, Bars):
            bars(block)
        else:
            table(block)
    return bytes(pdf.output())


# ------------------------------------------------------------------------------------------------------ HTTP
FORMATS = "^(json|html|pdf)$"  # the `format` query parameter of the routes that render a document


def http_response(data: dict[str, Any], format: str, build: Callable[[dict[str, Any]], Document], name: str) -> object:
    """`data` as JSON, or the document `build(data)` as an HTML page or a PDF download named `name`.pdf."""
    from fastapi.responses import HTMLResponse, Response

    if format == "html":
        return HTMLResponse(to_html(build(data)))
    if format == "pdf":
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        return Response(
            to_pdf(build(data)),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{safe}.pdf"'},
        )
    return data


DOCUMENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "JSON, the document as an HTML page (`format=html`) or as a PDF download (`format=pdf`).",
        "content": {"text/html": {}, "application/pdf": {}},
    }
}
