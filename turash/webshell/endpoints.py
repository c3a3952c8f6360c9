"""Server-rendered shell page: the sites from public registers, as a paged list, with links to the API docs.

It reads only public-register data (Hotmaps, E-PRTR), which is public, so it needs no sign-in; private
organisations never appear here. No JavaScript, so nothing can fail in the browser console.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Annotated
from urllib.parse import urlencode

import sqlalchemy as sa
from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from turash.kit.runtime import Runtime
from turash.models import Organization, ResourceFlow, Site
from turash.reference.datasets import DATASETS

router = APIRouter(include_in_schema=False)
_STATIC = Path(__file__).parent / "static"
PAGE_SIZE = 100

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2a24;background:#f6f8f7}
header{background:#0f5132;color:#fff;padding:18px 28px}header h1{margin:0;font-size:26px}
header p{margin:4px 0 0;opacity:.85}main{padding:20px 28px;max-width:1200px}
nav a{color:#fff;margin-right:16px}form{margin:12px 0}input,select,button{font-size:15px;padding:6px 8px}
table{border-collapse:collapse;width:100%;background:#fff}th,td{padding:6px 8px;border-bottom:1px solid #e3e8e5;
text-align:left;font-size:14px}th{background:#eef3f0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.stats{display:flex;gap:24px;margin:10px 0}.stat{background:#fff;padding:10px 16px;border-radius:8px}
.stat b{display:block;font-size:22px}footer{padding:16px 28px;font-size:13px;color:#4b5a53}
.pager a{margin-right:12px}
"""


def _esc(value: object) -> str:
    return html.escape("" if value is None else str(value))


@router.get("/favicon.svg")
def favicon_svg() -> FileResponse:
    return FileResponse(_STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/favicon.ico")
def favicon_ico() -> FileResponse:
    return FileResponse(_STATIC / "favicon.svg", media_type="image/svg+xml")


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    country: Annotated[str | None, Query(max_length=2)] = None,
    q: Annotated[str | None, Query(max_length=100)] = None,
    page: Annotated[int, Query(ge=1, le=10000)] = 1,
) -> HTMLResponse:
    runtime: Runtime = request.app.state.runtime
    public = Organization.source == "register"
    heat = (
        sa.select(
            ResourceFlow.site_id,
            sa.func.count().label("n"),
            sa.func.sum(sa.case((ResourceFlow.category == "heat", ResourceFlow.quantity), else_=0)).label("heat"),
        )
        .group_by(ResourceFlow.site_id)
        .subquery()
    )
    query = (
        sa.select(Site, Organization.name, heat.c.n, heat.c.heat)
        .join(Organization, Organization.id == Site.organization_id)
        .outerjoin(heat, heat.c.site_id == Site.id)
        .where(public)
    )
    if country:
        query = query.where(Site.country == country.upper())
    if q:
        query = query.where(Site.name_key.contains(" ".join(q.casefold().split()), autoescape=True))
    with runtime.uow() as uow:
        conn = uow.session
        total = conn.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
        rows = conn.execute(
            query.order_by(Site.country, Site.name, Site.id).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
        ).all()
        countries = conn.execute(
            sa.select(Site.country, sa.func.count())
            .join(Organization, Organization.id == Site.organization_id)
            .where(public)
            .group_by(Site.country)
            .order_by(Site.country)
        ).all()
        all_sites = conn.scalar(sa.select(sa.func.count()).select_from(Site)) or 0
        all_flows = conn.scalar(sa.select(sa.func.count()).select_from(ResourceFlow)) or 0
    options = "".join(
        f'<option value="{_esc(c)}"{" selected" if country and c == country.upper() else ""}>{_esc(c)} ({n})</option>'
        for c, n in countries
        if c
    )
    body_rows = "".join(
        f"<tr><td>{_esc(s.name)}</td><td>{_esc(org)}</td><td>{_esc(s.city)}</td><td>{_esc(s.country)}</td>"
        f"<td>{_esc(s.nace)}</td><td>{_esc((s.attributes or {}).get('subsector'))}</td>"
        f'<td class="num">{n or 0}</td><td class="num">{"" if not h else f"{h:,.1f}"}</td></tr>'
        for s, org, n, h in rows
    )
    pages = max(1, -(-total // PAGE_SIZE))
    params = {k: v for k, v in (("country", country), ("q", q)) if v}
    pager = []
    if page > 1:
        pager.append(f'<a href="?{urlencode({**params, "page": page - 1})}">← previous</a>')
    if page < pages:
        pager.append(f'<a href="?{urlencode({**params, "page": page + 1})}">next →</a>')
    attribution = "; ".join(_esc(DATASETS[k].attribution) for k in ("hotmaps", "eprtr_co2"))
    empty = (
        "<p>No public sites loaded yet. Run <code>turash demo</code> to load the Hotmaps industrial sites.</p>"
        if total == 0
        else ""
    )
    page_html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Turash — industrial symbiosis platform</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml"><style>{_STYLE}</style></head>
<body><header><h1>Turash</h1><p>One company's waste, by-product or surplus heat becomes another's input.</p>
<nav><a href="/api/docs">API documentation</a>
<a href="/openapi.json">OpenAPI</a><a href="/api/v1/health">Health</a></nav></header>
<main><div class="stats"><div class="stat"><b>{all_sites:,}</b>sites</div><div class="stat"><b>{all_flows:,}</b>
resource flows</div><div class="stat"><b>{len(countries)}</b>countries</div></div>
<h2>Industrial sites from public registers</h2>
<form method="get" action=""><input name="q" placeholder="site name" value="{_esc(q)}" aria-label="site name">
<select name="country" aria-label="country"><option value="">all countries</option>{options}</select>
<button type="submit">Filter</button></form>
<p>{total:,} sites · page {page} of {pages}</p>{empty}
<table><thead><tr><th>Site</th><th>Company</th><th>City</th><th>Country</th><th>NACE</th><th>Sub-sector</th>
<th>Flows</th><th>Excess heat GWh/yr</th></tr></thead><tbody>{body_rows}</tbody></table>
<p class="pager">{" ".join(pager)}</p></main>
<footer>Data: {attribution}.</footer></body></html>"""
    return HTMLResponse(page_html)
