"""The in-browser verifier: ``verify.html`` and its script, copied into a published site.

``write_verifier(site_dir)`` puts ``verify.html`` at the site's root and its script, style and
vendored fallback library under ``static/``. The page fetches ``bundle/checkpoint``,
``bundle/log-key.txt``, ``bundle/events.jsonl`` and ``data/figures.json`` relative to itself,
so it works from any static server and any path prefix; it loads nothing from elsewhere (a
Content-Security-Policy of ``'self'`` says so) and runs no inline script.
"""

from __future__ import annotations

import shutil
from pathlib import Path

STATIC = Path(__file__).with_name("static")
PAGE = "verify.html"
ASSETS = ("verify.js", "verify-fold.js", "verify.css")
VENDOR = "vendor"


def write_verifier(site_dir: Path) -> list[Path]:
    """Copy the verifier into ``site_dir``; return the files written."""
    written = [site_dir / PAGE]
    site_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(STATIC / PAGE, site_dir / PAGE)
    (site_dir / "static").mkdir(exist_ok=True)
    for name in ASSETS:
        shutil.copyfile(STATIC / name, site_dir / "static" / name)
        written.append(site_dir / "static" / name)
    vendor = STATIC / VENDOR
    if vendor.is_dir():
        target = site_dir / "static" / VENDOR
        shutil.copytree(vendor, target, dirs_exist_ok=True)
        written += sorted(p for p in target.rglob("*") if p.is_file())
    return written
