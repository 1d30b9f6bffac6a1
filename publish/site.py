"""``gongkai publish``: the static disclosure portal, rendered from read models as of one checkpoint.

What it writes (Chinese at the root, the same pages in English under ``en/``; data is shared)::

    index.html                   overview: the checkpoint, the totals, the plan's 5 × 3 matrix
    areas/<area>/index.html      one focus area; and per kind of information (决策 / 管理和服务 /
    areas/<area>/<kind>.html     执行和结果) its published items (execution: its money too)
    items/index.html, items/<item_no>.html   every published item: trail, channels, 更正说明, feedback
    flows.html                   the Sankey diagram, breakdown charts, each beside a sorted table
    goods.html                   goods received / issued / in store, every issue with its approver
    deadlines.html               the deadline record and the supervision dashboard
    donations.html, donations/<receipt>.html   look up a donation by receipt number; where it went
    downloads.html, about.html
    feed.atom                    Atom feed of published items
    data/figures.json            every published figure (see ``publish.site_figures``)
    data/tables/<name>.csv|json  every table; data/donations/<receipt>.json each donation's trace
    data/open/iati-activities.xml   IATI 2.03 activities (``publish.iati``)
    data/open/360giving.json     360Giving grants to individuals, aggregated (``publish.giving360``)
    data/sheets/<item_no>.pdf    the item's notice-board sheet, A4, fonts embedded (``publish.sheets``)
    data/SHA256SUMS              the SHA-256 of every file under data/ (paths relative to data/)
    static/                      the stylesheet and the lookup script (no inline script or style)

The choice for English: mirror pages under ``/en/`` with the same paths, each page linking to its
twin, because one page with both languages doubles every table. The same checkpoint gives the
same bytes: nothing reads a clock (deadlines are judged at the log's own time, ``Stamp``), every
list is sorted, JSON keys are sorted. Pages hold no inline script or style and no external URL;
they show only public-part fields (no recipient lists: those go to village boards only,
``publish.village_board``). Paths are relative, so the site works from any folder of any static
web server, and offline from ``file://`` except the lookup's fetch (its pages work without it).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ledger.catalogue import AREAS, INFO_KINDS
from ledger.money import format_wan, format_yuan
from projections.balances import BalancesProjection
from projections.deadlines import DisclosureProjection
from projections.flows import FlowsProjection
from projections.log_clock import LogClockProjection
from projections.recipients import RecipientsProjection
from projections.runner import Projection
from projections.sql import Database
from projections.tracing import TracingProjection
from publish import flow_charts
from publish.books import Books, Stamp, read_books
from publish.downloads import Table, tables
from publish.feed import atom_feed
from publish.giving360 import grants_package
from publish.iati import iati_activities
from publish.labels import LANGS, Labels
from publish.organisation import DEMO_ORG_ID, Organisation
from publish.sheet_font import FontFile, find_font
from publish.sheets import notice_sheets
from publish.site_figures import Figures, goods_id

TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
ASSETS = ("portal.css", "donation-lookup.js")  # the portal's own; the verifier copies its own
MARKER = "data/figures.json"  # an output folder holding this is a site we may replace
OPEN_DATA = {"iati": "data/open/iati-activities.xml", "360giving": "data/open/360giving.json"}


class SiteError(Exception):
    """The output folder cannot take the site (it holds something that is not a site)."""


@dataclass
class Writer:
    out: Path
    sums: dict[str, str] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)

    def write(self, path: str, data: bytes) -> None:
        target = self.out / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        self.sums[path] = hashlib.sha256(data).hexdigest()
        self.sizes[path] = len(data)


@dataclass(frozen=True, slots=True)
class SiteOptions:
    """What the log does not say: the publisher's identifier (IATI, 360Giving), the address the
    site will be served at (the sheets' QR codes), the Chinese font the sheets embed."""

    org_id: str = DEMO_ORG_ID
    base_url: str = ""  # '' : the QR codes hold paths relative to the site's root
    font: FontFile | None = None  # None: the first one ``publish.sheet_font`` finds


@dataclass(frozen=True, slots=True)
class SiteSummary:
    files: int
    bytes: int
    pages: int
    items: int
    figures: int
    donations: int
    sheets: int = 0


def sheet_path(item_no: str) -> str:
    return f"data/sheets/{item_no}.pdf"


def site_projections() -> list[Projection]:
    """The read models a site (and its village boards) is rendered from, rebuilt as of its checkpoint."""
    return [BalancesProjection(), FlowsProjection(), DisclosureProjection(), RecipientsProjection(),
            TracingProjection(), LogClockProjection()]  # fmt: skip


def replaceable(out: Path, marker: str = MARKER) -> None:
    """Refuse a non-empty folder that is not an earlier output (one holding ``marker``)."""
    if out.exists() and any(out.iterdir()) and not (out / marker).is_file():
        raise SiteError(f"{out} is not empty and holds no earlier output ({marker}); choose another folder")


def prepare(out: Path, marker: str = MARKER) -> None:
    """Empty ``out`` for a new site (see ``replaceable``)."""
    replaceable(out, marker)
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)


def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True, keep_trailing_newline=True, undefined=StrictUndefined)  # fmt: skip
    env.globals.update(areas=list(AREAS), kinds=list(INFO_KINDS), format_yuan=format_yuan,
                       format_wan=format_wan, goods_id=goods_id)  # fmt: skip
    return env


def build_site(db: Database, stamp: Stamp, out: Path, options: SiteOptions | None = None) -> SiteSummary:
    """Render the portal from ``db`` (read models as of ``stamp``'s checkpoint) into ``out``."""
    options = options or SiteOptions()
    books = read_books(db, stamp.day)
    figures = Figures(books.report, books.goods["goods"], books.donations)
    writer = Writer(out)
    for name in ASSETS:
        writer.write(f"static/{name}", (STATIC / name).read_bytes())
    listed = _write_data(writer, books, figures, stamp)
    org = Organisation.of_town(stamp.jurisdiction, options.org_id)
    writer.write(OPEN_DATA["iati"], iati_activities(db, stamp, org))
    writer.write(OPEN_DATA["360giving"], grants_package(db, stamp, org))
    font = options.font or find_font()
    for item_no, pdf in notice_sheets(books.items, stamp, options.base_url, font):
        writer.write(sheet_path(item_no), pdf)
    downloads = {path: (writer.sums[path], writer.sizes[path]) for path in sorted(writer.sums)
                 if path.startswith("data/") or path == "feed.atom"}  # fmt: skip
    env = environment()
    pages = 0
    for lang in LANGS:
        pages += _Pages(env, writer, books, figures, stamp, lang).render_all(downloads, listed)
    # Paths relative to data/, as ``cd data && sha256sum -c SHA256SUMS`` reads them.
    lines = [f"{digest}  {path.removeprefix('data/')}\n" for path, (digest, _) in downloads.items()
             if path.startswith("data/")]
    writer.write("data/SHA256SUMS", "".join(lines).encode("utf-8"))
    return SiteSummary(files=len(writer.sums), bytes=sum(writer.sizes.values()), pages=pages,
                       items=len(books.items), figures=len(figures.table),
                       donations=len(books.traces), sheets=len(books.items))  # fmt: skip


def _dumps(data: Any) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _write_data(writer: Writer, books: Books, figures: Figures, stamp: Stamp) -> list[Table]:
    writer.write("data/figures.json", _dumps(figures.to_json(stamp.to_json())))
    listed = tables(books)
    for table in listed:
        writer.write(f"data/tables/{table.name}.csv", table.csv_bytes())
        writer.write(f"data/tables/{table.name}.json", table.json_bytes(stamp))
    for receipt, trace in books.traces.items():
        writer.write(f"data/donations/{receipt}.json", _dumps(dict(trace, checkpoint=stamp.to_json())))
    writer.write("feed.atom", atom_feed(stamp, books.items))
    return listed


class _Pages:
    """The pages of one language."""

    def __init__(self, env: Environment, writer: Writer, books: Books, figures: Figures, stamp: Stamp,
                 lang: str) -> None:  # fmt: skip
        self.env, self.writer, self.books, self.figures = env, writer, books, figures
        self.stamp, self.lang, self.L = stamp, lang, Labels(lang)
        self.count = 0

    def render(self, path: str, template: str, **context: Any) -> None:
        depth = path.count("/") + (1 if self.lang == "en" else 0)
        root = "../" * depth
        prefix = "en/" if self.lang == "en" else ""

        def href(target: str) -> str:
            return f"{root}{prefix}{target}"

        switch = f"{root}{'' if self.lang == 'en' else 'en/'}{path}"
        html = self.env.get_template(template).render(
            L=self.L, lang=self.lang, root=root, href=href, switch=switch, path=path,
            stamp=self.stamp, money=self.money, qty=self.qty, fig=self.figures, books=self.books,
            sheet_path=sheet_path, open_data=OPEN_DATA,
            site_title=self.L.pick(f"{self.stamp.jurisdiction}社会公益事业信息公开",
                                   f"{self.stamp.jurisdiction} public-welfare disclosure"),
            **context,
        )  # fmt: skip
        self.writer.write(f"{prefix}{path}", html.encode("utf-8"))
        self.count += 1

    def money(self, fen: int, figure: str | None = None) -> Markup:
        attrs = self.figures.attrs(figure, fen) if figure else Markup()
        wan = f"（{format_wan(fen)}）" if self.lang == "zh" else f" ({format_wan(fen)})"
        return Markup('<span class="money"{}>{}<small>{}</small></span>').format(attrs, format_yuan(fen), wan)

    def qty(self, quantity: int, unit: str, figure: str | None = None) -> Markup:
        attrs = self.figures.attrs(figure, quantity) if figure else Markup()
        return Markup('<span class="qty"{}>{:,}</span> {}').format(attrs, quantity, unit)

    def render_all(self, downloads: dict[str, tuple[str, int]], listed: list[Table]) -> int:
        books, lab, figures = self.books, self.L, self.figures
        items = books.items
        self.render("index.html", "index.html", matrix=_matrix(items))
        charts = {
            "sankey": flow_charts.flow_sankey(books, figures, lab),
            "sources": flow_charts.source_bars(books, figures, lab),
            "funds": flow_charts.fund_bars(books.report, figures, lab),
            "programs": flow_charts.program_bars(books.report, figures, lab),
            "categories": flow_charts.category_bars(books.report, lab),
        }
        self.render("flows.html", "flows.html", charts=charts, flows=flow_charts.flow_rows(books, lab),
                    sources=flow_charts.source_rows(books, lab),
                    categories=flow_charts.category_rows(books.report, lab))  # fmt: skip
        stores = _stores(books)
        goods_charts = {code: flow_charts.goods_bars(rows, figures, lab, _describe) for code, rows in stores.items()}
        self.render("goods.html", "goods.html", stores=stores, charts=goods_charts, describe=_describe)
        self.render("deadlines.html", "deadlines.html")
        self.render("items/index.html", "items.html", items=items)
        by_no = {i["item_no"]: i for i in items}
        for item in items:
            self.render(f"items/{item['item_no']}.html", "item.html", item=item, by_no=by_no,
                        link=_content_link(item, books))  # fmt: skip
        for area in AREAS:
            mine = [i for i in items if i["area"] == area]
            self.render(f"areas/{area}/index.html", "area.html", area=area, items=mine,
                        report=books.by_area[area])  # fmt: skip
            for kind in INFO_KINDS:
                self.render(f"areas/{area}/{kind}.html", "area_kind.html", area=area, kind=kind,
                            items=[i for i in mine if i["kind"] == kind], report=books.by_area[area],
                            obligations=[o for o in books.obligations if o["area"] == area])  # fmt: skip
        self.render("donations.html", "donations.html", traces=books.traces)
        for receipt, trace in books.traces.items():
            self.render(f"donations/{receipt}.html", "donation.html", receipt=receipt, trace=trace)
        self.render("downloads.html", "downloads.html", downloads=downloads, tables=listed)
        self.render("about.html", "about.html")
        return self.count


def _matrix(items: list[dict[str, Any]]) -> dict[tuple[str, str], int]:
    counts = {(a, k): 0 for a in AREAS for k in INFO_KINDS}
    for item in items:
        counts[item["area"], item["kind"]] += 1
    return counts


def _describe(g: dict[str, Any]) -> str:
    return f"{g['item']}（{g['grade']}）" if g["grade"] else str(g["item"])


def _stores(books: Books) -> dict[str, list[dict[str, Any]]]:
    stores: dict[str, list[dict[str, Any]]] = {}
    for g in books.goods["goods"]:
        stores.setdefault(g["store"], []).append(g)
    return stores


def _content_link(item: dict[str, Any], books: Books) -> str | None:
    """The page of this site that shows what a report item reports (now, at this checkpoint)."""
    content = item["content"]
    if content.get("type") != "report":
        return None
    params = content.get("params") or {}
    report = content.get("report")
    if report == "trace" and params.get("receipt") in books.traces:
        return f"donations/{params['receipt']}.html"
    if report == "goods":
        return "goods.html"
    if report in ("flows", "recipients") and params.get("area") in AREAS:
        return f"areas/{params['area']}/execution.html"
    if report == "flows" and f"fund:{params.get('fund')}" in books.accounts:
        return f"flows.html#fund-{params['fund']}"
    return "flows.html" if report in ("flows", "recipients") else None

