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
import pickle
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from ledger.catalogue import AREAS, INFO_KINDS
from ledger.money import format_wan, format_yuan
from projections.balances import BalancesProjection
from projections.deadlines import DisclosureProjection
from projections.flow_sums import FlowSumsProjection, PortalIndexes
from projections.flows import FlowsProjection
from projections.log_clock import LogClockProjection
from projections.recipients import RecipientsProjection
from projections.runner import Projection
from projections.sql import Database
from projections.trace_report import donation_traces
from projections.tracing import TracingProjection
from publish import flow_charts
from publish.apart import Apart
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
from publish.site_state import Entry

T = TypeVar("T")
TEMPLATES = Path(__file__).with_name("templates")
STATIC = Path(__file__).with_name("static")
ASSETS = ("portal.css", "donation-lookup.js")  # the portal's own; the verifier copies its own
MARKER = "data/figures.json"  # an output folder holding this is a site we may replace
OPEN_DATA = {"iati": "data/open/iati-activities.xml", "360giving": "data/open/360giving.json"}


class SiteError(Exception):
    """The output folder cannot take the site (it holds something that is not a site)."""


@dataclass
class Writer:
    """Writes the site's files and keeps each one's entry (SHA-256, size); with the ``previous``
    publish's files (``publish.site_state``) it leaves a file that is already what it would
    write untouched, and ``reuse`` takes a per-record page whose key is unchanged as it is."""

    out: Path
    previous: dict[str, Entry] = field(default_factory=dict)
    entries: dict[str, Entry] = field(default_factory=dict)
    reused: int = 0
    _folders: set[Path] = field(default_factory=set)
    _on_disk: set[str] = field(default_factory=set)  # found by ``reusable`` as the last publish left them

    def write(self, path: str, data: bytes, key: str = "") -> None:
        target = self.out / path
        digest = hashlib.sha256(data).hexdigest()
        old = self.previous.get(path)
        if old is not None and old.sha256 == digest and old.still_on_disk(target):
            self._keep(path, Entry(key, digest, old.size, old.mtime_ns))
            return
        if target.parent not in self._folders:
            target.parent.mkdir(parents=True, exist_ok=True)
            self._folders.add(target.parent)
        target.write_bytes(data)
        self._keep(path, Entry(key, digest, len(data), target.stat().st_mtime_ns))

    def reusable(self, path: str, key: str) -> bool:
        """``reuse`` would keep this file (nothing is recorded; the answer is remembered)."""
        old = self.previous.get(path)
        if old is None or old.key != key or not old.still_on_disk(f"{self.out}/{path}"):
            return False
        self._on_disk.add(path)
        return True

    def reuse(self, path: str, key: str) -> bool:
        """Keep the file the last publish rendered from the same ``key``, if it is still there."""
        old = self.previous.get(path)
        if old is None or old.key != key:
            return False
        if path not in self._on_disk and not old.still_on_disk(f"{self.out}/{path}"):
            return False
        self._keep(path, old)
        self.reused += 1
        return True

    def merge(self, entries: dict[str, Entry], reused: int) -> None:
        """Count the files another writer (another process) wrote into the same folder."""
        for path, entry in entries.items():
            self._keep(path, entry)
        self.reused += reused

    def _keep(self, path: str, entry: Entry) -> None:
        self.entries[path] = entry

    def remove_stale(self) -> int:
        """Delete the last publish's files that this one did not write; return how many."""
        stale = [path for path in self.previous if path not in self.entries]
        for path in stale:
            (self.out / path).unlink(missing_ok=True)
        return len(stale)


@dataclass(frozen=True, slots=True)
class SiteOptions:
    """What the log does not say: the publisher's identifier (IATI, 360Giving), the address the
    site will be served at (the sheets' QR codes), the Chinese font the sheets embed."""

    org_id: str = DEMO_ORG_ID
    base_url: str = ""  # '' : the QR codes hold paths relative to the site's root
    font: FontFile | None = None  # None: the first one ``publish.sheet_font`` finds
    font_cache: Path | None = None  # where the sheets' font subsets are kept between publishes


@dataclass(frozen=True, slots=True)
class SiteSummary:
    files: int
    bytes: int
    pages: int
    items: int
    figures: int
    donations: int
    sheets: int = 0
    reused: int = 0  # per-record pages kept from the last publish, not rendered again
    removed: int = 0  # the last publish's files this site no longer has
    entries: dict[str, Entry] = field(default_factory=dict)  # every file written (site_state)


def sheet_path(item_no: str) -> str:
    return f"data/sheets/{item_no}.pdf"


def site_projections() -> list[Projection]:
    """The read models a site (and its village boards) is rendered from, rebuilt as of its checkpoint."""
    # The flows' running totals read the flows' rows of each page: they come right after them.
    return [BalancesProjection(), FlowsProjection(), FlowSumsProjection(), DisclosureProjection(),
            RecipientsProjection(), TracingProjection(), LogClockProjection(), PortalIndexes()]  # fmt: skip


def replaceable(out: Path, marker: str = MARKER) -> None:
    """Refuse a non-empty folder that is not an earlier output (one holding ``marker``)."""
    if out.exists() and any(out.iterdir()) and not (out / marker).is_file():
        raise SiteError(
            f"{out} is not empty and holds no earlier output ({marker}); choose another folder"
        )


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


def build_site(db: Database, stamp: Stamp, out: Path, options: SiteOptions | None = None, *,
               previous: dict[str, Entry] | None = None, version: str = "") -> SiteSummary:  # fmt: skip
    """Render the portal from ``db`` (read models as of ``stamp``'s checkpoint) into ``out``.

    ``previous`` is what the last publish wrote into ``out`` with the same code (``version``,
    ``publish.site_state``): files already as they would be written are left alone, per-record
    pages rendered from the same data are not rendered again, and its files this site no longer
    has are deleted. Without it, ``out`` should be empty.
    """
    options = options or SiteOptions()
    org = Organisation.of_town(stamp.jurisdiction, options.org_id)

    def open_data() -> tuple[bytes, bytes]:
        apart = Database(db.url)  # a connection is never used across a fork
        try:
            return iati_activities(apart, stamp, org), grants_package(apart, stamp, org)
        finally:
            apart.close()

    # The open data depend on the read models alone: a forked process makes them meanwhile.
    with Apart("fork", open_data) as open_data_job:
        return _build(db, stamp, out, options, previous, version, org, open_data_job)


def _build(db: Database, stamp: Stamp, out: Path, options: SiteOptions, previous: dict[str, Entry] | None,
           version: str, org: Organisation, open_data_job: Apart[tuple[bytes, bytes]]) -> SiteSummary:  # fmt: skip
    books = read_books(db, stamp.day)
    figures = Figures(books.report, books.goods["goods"], books.donations)
    writer = Writer(out, dict(previous or {}))
    keys = _record_keys(books, version)
    # Only the traces of donations with a file to render are built (all of them, the first time).
    needed = [r for r in books.records if not (r in keys and all(
        writer.reusable(path, key) for path, key in _record_files(r, keys[r])))]  # fmt: skip
    traces = dict(donation_traces(db, needed if len(needed) < len(books.records) else None))
    for name in ASSETS:
        writer.write(f"static/{name}", (STATIC / name).read_bytes())
    _write_data(writer, books, figures, stamp, keys, traces)
    listed = tables(books)
    font = options.font or find_font()
    env = environment()
    months = _Months.of(books, version)  # shared by both languages: worked out once, before the fork
    languages = [_Pages(env, writer, books, figures, stamp, lang, keys, version, traces, months) for lang in LANGS]
    # The sheets, and the tables with the English pages, are made in forked processes
    # (``publish.apart``) while this one renders the Chinese pages; their files are then
    # counted here.
    english = Writer(out, writer.previous, _on_disk=writer._on_disk)
    languages[1].writer = english

    def render_english() -> tuple[dict[str, Entry], int, int]:
        _write_tables(english, listed, stamp)
        languages[1].render_all()
        return english.entries, english.reused, languages[1].count

    def sheets() -> list[tuple[str, bytes]]:
        return list(notice_sheets(books.items, stamp, options.base_url, font, options.font_cache))

    with Apart("fork", sheets) as sheets_job, Apart("fork", render_english) as english_job:
        languages[0].render_all()
        iati, giving = open_data_job.result()
        writer.write(OPEN_DATA["iati"], iati)
        writer.write(OPEN_DATA["360giving"], giving)
        for item_no, pdf in sheets_job.result():
            writer.write(sheet_path(item_no), pdf)
        entries, reused, languages[1].count = english_job.result()
    writer.merge(entries, reused)
    languages[1].writer = writer
    downloads = {path: (e.sha256, e.size) for path, e in sorted(writer.entries.items())
                 if path.startswith("data/") or path == "feed.atom"}  # fmt: skip
    for pages in languages:
        pages.render_downloads(downloads, listed)
    # Paths relative to data/, as ``cd data && sha256sum -c SHA256SUMS`` reads them.
    lines = [
        f"{digest}  {path.removeprefix('data/')}\n"
        for path, (digest, _) in downloads.items()
        if path.startswith("data/")
    ]
    writer.write("data/SHA256SUMS", "".join(lines).encode("utf-8"))
    removed = writer.remove_stale()
    return SiteSummary(files=len(writer.entries), bytes=sum(e.size for e in writer.entries.values()),
                       pages=sum(p.count for p in languages),
                       items=len(books.items), figures=len(figures.table),
                       donations=len(books.records), sheets=len(books.items), reused=writer.reused,
                       removed=removed, entries=writer.entries)  # fmt: skip


def _record_keys(books: Books, version: str) -> dict[str, str]:
    """Per receipt number, a digest of all its pages show (the summary of its trace, and its
    published amount) and of the code that renders them: a per-record page with the same key
    has the same bytes. Without a ``version`` there are no keys (nothing can be reused)."""
    if not version:
        return {}
    return {receipt: _digest(version, summary, books.donations.get(receipt))
            for receipt, summary in books.summaries.items()}  # fmt: skip


def _record_files(receipt: str, key: str) -> list[tuple[str, str]]:
    """A donation's files and the key each is kept under (the pages' keys name their language)."""
    return [(f"data/donations/{receipt}.json", key), (f"donations/{receipt}.html", f"zh:{key}"),
            (f"en/donations/{receipt}.html", f"en:{key}")]  # fmt: skip


def _digest(*parts: Any) -> str:
    """A digest of plain data (dicts, lists, strings, numbers) for a per-record page's key.
    Pickled, which is several times faster than JSON here: equal bytes mean equal data, and
    equal data built the same way pickle to equal bytes, so at worst a page is rendered again
    for nothing, never kept when its data changed."""
    return hashlib.sha256(pickle.dumps(parts, protocol=5)).hexdigest()


def _by_month(rows: Iterable[tuple[str, T]]) -> dict[str, list[T]]:
    """Rows grouped by the month (YYYY-MM) of their date, months in order."""
    found: dict[str, list[T]] = {}
    for day, row in rows:
        found.setdefault(day[:7], []).append(row)
    return dict(sorted(found.items()))


def _dumps(data: Any) -> bytes:
    # Compact (JSON's C encoder; with an indent it encodes in Python): figures.json of a
    # million-event ledger and 40,000 donations' traces are rewritten by every publish.
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")


def _write_data(writer: Writer, books: Books, figures: Figures, stamp: Stamp, keys: dict[str, str],
                traces: dict[str, dict[str, Any]]) -> None:  # fmt: skip
    writer.write("data/figures.json", _dumps(figures.to_json(stamp.to_json())))
    # A donation's JSON holds only its trace, not the checkpoint, so it changes only with the
    # donation: figures.json and SHA256SUMS tie it to the checkpoint.
    for receipt in books.records:
        path, key = f"data/donations/{receipt}.json", keys.get(receipt, "")
        if not (key and writer.reuse(path, key)):
            writer.write(path, _dumps(traces[receipt]), key)
    writer.write("feed.atom", atom_feed(stamp, books.items))


def _write_tables(writer: Writer, listed: list[Table], stamp: Stamp) -> None:
    for table in listed:
        writer.write(f"data/tables/{table.name}.csv", table.csv_bytes())
        writer.write(f"data/tables/{table.name}.json", table.json_bytes(stamp))


@dataclass(frozen=True, slots=True)
class _Months:
    """The monthly lists (goods issues, donations) and the key of each month's page: a digest
    of all it shows (``""`` without a ``version``: always rendered)."""

    issues: dict[str, list[dict[str, Any]]]
    issue_keys: dict[str, str]
    donations: dict[str, dict[str, dict[str, Any]]]  # month -> receipt -> {"donation": record}
    donation_keys: dict[str, str]

    @classmethod
    def of(cls, books: Books, version: str) -> _Months:
        issues = _by_month((i["date"], i) for i in books.goods["issues"])
        donations = {month: {r: {"donation": books.records[r]} for r in receipts}
                     for month, receipts in _by_month((d["date"], r) for r, d in books.records.items()).items()}  # fmt: skip
        if not version:
            return cls(issues, dict.fromkeys(issues, ""), donations, dict.fromkeys(donations, ""))
        return cls(issues, {month: _digest(version, rows) for month, rows in issues.items()}, donations,
                   {month: _digest(version, shown, [books.donations.get(r) for r in shown])
                    for month, shown in donations.items()})  # fmt: skip


class _Pages:
    """The pages of one language."""

    def __init__(self, env: Environment, writer: Writer, books: Books, figures: Figures, stamp: Stamp,
                 lang: str, keys: dict[str, str], version: str, traces: dict[str, dict[str, Any]],
                 months: _Months) -> None:  # fmt: skip
        self.env, self.writer, self.books, self.figures = env, writer, books, figures
        self.stamp, self.lang, self.L, self.keys, self.version = stamp, lang, Labels(lang), keys, version
        self.traces, self.months = traces, months
        self.count = 0

    def render(
        self, path: str, template: str, *, key: str = "", stamped: bool = True, **context: Any
    ) -> None:
        """Render one page; ``stamped=False`` for a per-record page, which names no checkpoint
        (so it changes only with its record) and links to the signed one instead."""
        depth = path.count("/") + (1 if self.lang == "en" else 0)
        root = "../" * depth
        prefix = "en/" if self.lang == "en" else ""

        def href(target: str) -> str:
            return f"{root}{prefix}{target}"

        switch = f"{root}{'' if self.lang == 'en' else 'en/'}{path}"
        html = self.env.get_template(template).render(
            L=self.L, lang=self.lang, root=root, href=href, switch=switch, path=path,
            stamp=self.stamp if stamped else None, money=self.money, qty=self.qty, fig=self.figures, books=self.books,
            sheet_path=sheet_path, open_data=OPEN_DATA,
            site_title=self.L.pick(f"{self.stamp.jurisdiction}社会公益事业信息公开",
                                   f"{self.stamp.jurisdiction} public-welfare disclosure"),
            **context,
        )  # fmt: skip
        self.writer.write(f"{prefix}{path}", html.encode("utf-8"), key)
        self.count += 1

    def render_record(self, path: str, template: str, key: str, **context: Any) -> None:
        """A per-record page: it names no checkpoint, and is rendered only if ``key`` (a digest
        of all it shows, ``""``: always) differs from the one its file was last rendered from."""
        key = f"{self.lang}:{key}" if key else ""
        if key and self.writer.reuse(("en/" if self.lang == "en" else "") + path, key):
            self.count += 1
            return
        self.render(path, template, key=key, stamped=False, **context)

    def money(self, fen: int, figure: str | None = None) -> Markup:
        attrs = self.figures.attrs(figure, fen) if figure else Markup()
        wan = f"（{format_wan(fen)}）" if self.lang == "zh" else f" ({format_wan(fen)})"
        return Markup('<span class="money"{}>{}<small>{}</small></span>').format(
            attrs, format_yuan(fen), wan
        )

    def qty(self, quantity: int, unit: str, figure: str | None = None) -> Markup:
        attrs = self.figures.attrs(figure, quantity) if figure else Markup()
        return Markup('<span class="qty"{}>{:,}</span> {}').format(attrs, quantity, unit)

    def render_all(self) -> None:
        """Every page but the downloads page (which lists the data files' SHA-256, written last)."""
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
        goods_charts = {
            code: flow_charts.goods_bars(rows, figures, lab, _describe)
            for code, rows in stores.items()
        }
        months = self.months
        self.render("goods.html", "goods.html", stores=stores, charts=goods_charts, describe=_describe,
                    issue_months={month: len(rows) for month, rows in months.issues.items()})  # fmt: skip
        for month, rows in months.issues.items():
            self.render_record(f"goods-issues/{month}.html", "goods_month.html", months.issue_keys[month],
                               month=month, issues=rows)  # fmt: skip
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
        self.render("donations.html", "donations.html",
                    donation_months={month: len(shown) for month, shown in months.donations.items()})  # fmt: skip
        for month, shown in months.donations.items():
            self.render_record(f"donations-by-month/{month}.html", "donations_month.html",
                               months.donation_keys[month], month=month, traces=shown)  # fmt: skip
        for receipt in books.records:
            # A kept page's trace was not read (``build_site``): it is rendered only if not kept.
            self.render_record(f"donations/{receipt}.html", "donation.html", self.keys.get(receipt, ""),
                               receipt=receipt, trace=self.traces.get(receipt))  # fmt: skip
        self.render("about.html", "about.html")

    def render_downloads(self, downloads: dict[str, tuple[str, int]], listed: list[Table]) -> None:
        self.render("downloads.html", "downloads.html", downloads=downloads, tables=listed)


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
    if report == "trace" and params.get("receipt") in books.records:
        return f"donations/{params['receipt']}.html"
    if report == "goods":
        return "goods.html"
    if report in ("flows", "recipients") and params.get("area") in AREAS:
        return f"areas/{params['area']}/execution.html"
    if report == "flows" and f"fund:{params.get('fund')}" in books.accounts:
        return f"flows.html#fund-{params['fund']}"
    return "flows.html" if report in ("flows", "recipients") else None
