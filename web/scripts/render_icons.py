"""Render the PNG app icons from the SVG sources with Debian's Chromium (no image tools needed).

    /work/main/.venv/bin/python web/scripts/render_icons.py
"""

from pathlib import Path

from playwright.sync_api import sync_playwright

WEB = Path(__file__).resolve().parents[1]
ICONS = WEB / "public" / "icons"
JOBS = [
    (ICONS / "favicon.svg", ICONS / "icon-192.png", 192),
    (ICONS / "favicon.svg", ICONS / "icon-512.png", 512),
    (WEB / "scripts" / "icon-maskable.svg", ICONS / "icon-maskable-512.png", 512),
]
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]

with sync_playwright() as pw:
    browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
    for source, target, size in JOBS:
        page = browser.new_page(viewport={"width": size, "height": size})
        svg = source.read_text().replace("<svg ", f'<svg width="{size}" height="{size}" ', 1)
        page.set_content(f"<html><body style='margin:0;background:transparent'>{svg}</body></html>")
        page.screenshot(path=str(target), omit_background=True, clip={"x": 0, "y": 0, "width": size, "height": size})
        page.close()
        print(target.relative_to(WEB), size)
    browser.close()
