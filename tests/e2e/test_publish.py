"""``gongkai publish`` end to end over the demo year: the static portal as of one checkpoint.

The demo year is built once (a SQLite file) and given a few disclosure items of its own — one
with public feedback and a correction (更正说明), two documents, and a draft that must never be
published — then published with its village boards. Later events are recorded and the same
checkpoint is published again, into another folder: the bytes must not change
(``tests.published_demo``; the ``published`` fixture of ``tests/e2e/conftest.py``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from api.bootstrap import bootstrap
from api.cli import main
from api.config import Settings
from ledger.catalogue import AREAS, INFO_KINDS
from projections.reports import Scope, flow_report
from tests.privacy_scanner import scan
from tests.published_demo import DRAFT, NOTE, PUBLISHED_ITEMS, Published

ATOM = "{http://www.w3.org/2005/Atom}"


def files(folder: Path) -> Iterator[Path]:
    return (p for p in sorted(folder.rglob("*")) if p.is_file())


def pages(folder: Path) -> Iterator[Path]:
    return (p for p in files(folder) if p.suffix == ".html")


def texts(folder: Path) -> Iterator[tuple[Path, str]]:
    for path in files(folder):
        try:
            yield path, path.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            continue  # binary tiles of the bundle


def tree_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in files(folder):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


class Attributes(HTMLParser):
    """Every start tag's attributes, and the text of scripts and styles."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "style" or (tag == "script" and not dict(attrs).get("src")):
            self.inline.append(tag)


def parsed(path: Path) -> Attributes:
    parser = Attributes()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


# --- determinism and the checkpoint ------------------------------------------------------------


def test_the_same_checkpoint_publishes_the_same_bytes(published: Published) -> None:
    assert tree_digest(published.site) == tree_digest(published.again)
    assert sum(1 for _ in files(published.site)) > 700


RECORD_PAGES = ("donations/", "donations-by-month/", "goods-issues/")  # change only with their records


def test_every_page_states_the_checkpoint_it_was_built_from(published: Published) -> None:
    cp = published.checkpoint
    assert published.figures["checkpoint"] == cp
    own = [p for p in pages(published.site) if p.name != "verify.html"]
    records = 0
    for page in own:
        text = page.read_text(encoding="utf-8")
        if page.relative_to(published.site).as_posix().removeprefix("en/").startswith(RECORD_PAGES):
            # A per-record page names no checkpoint (so a later publish keeps it as it is) and
            # links to the signed one; verify.html checks its figures against figures.json.
            records += 1
            assert cp["root"] not in text and 'bundle/checkpoint">' in text, page
            continue
        assert cp["origin"] in text and f"<code>{cp['size']}</code>" in text and cp["root"] in text, page
    assert records > 300


# --- what is published -------------------------------------------------------------------------


@pytest.mark.parametrize("prefix", ["", "en/"])
def test_there_is_a_page_for_every_focus_area_and_kind_of_information(published: Published, prefix: str) -> None:
    for area in AREAS:
        assert (published.site / f"{prefix}areas/{area}/index.html").is_file()
        for kind in INFO_KINDS:
            assert (published.site / f"{prefix}areas/{area}/{kind}.html").is_file()


def test_every_published_item_has_its_page_and_a_draft_none(published: Published) -> None:
    for item in PUBLISHED_ITEMS:
        assert (published.site / "items" / f"{item}.html").is_file()
        assert (published.site / "en" / "items" / f"{item}.html").is_file()
    leaked = [p for p, text in texts(published.site) if DRAFT in text and "bundle/" not in p.as_posix()]
    assert leaked == []


def test_an_item_page_shows_its_trail_feedback_and_correction_note(published: Published) -> None:
    page = (published.site / "items" / "PUB-2026-001.html").read_text(encoding="utf-8")
    for official in ("陈晓燕", "张国华", "胡建军", "黄婷"):  # recorder, head, leader, 党政办
        assert official in page
    assert "部门负责人审核" in page and "分管领导审签" in page and "党政办备案" in page
    assert "请公布物资的具体型号" in page and "型号已在更正后的公开事项中列明" in page
    assert NOTE in page and 'href="../items/PUB-2026-001-R1.html"' in page
    replacement = (published.site / "items" / "PUB-2026-001-R1.html").read_text(encoding="utf-8")
    assert NOTE in replacement and 'href="../items/PUB-2026-001.html"' in replacement


def test_the_area_and_kind_pages_list_their_items(published: Published) -> None:
    decision = (published.site / "areas" / "welfare" / "decision.html").read_text(encoding="utf-8")
    assert "PUB-2026-002" in decision and "PUB-2026-003" not in decision
    execution = (published.site / "areas" / "disaster" / "execution.html").read_text(encoding="utf-8")
    assert "PUB-2026-001-R1" in execution


def test_every_chinese_page_has_an_english_twin_that_links_back(published: Published) -> None:
    chinese = [p for p in pages(published.site) if p.relative_to(published.site).parts[0] not in ("en", "bundle")
               and p.name != "verify.html"]  # fmt: skip
    assert len(chinese) > 300
    for page in chinese:
        twin = published.site / "en" / page.relative_to(published.site)
        assert twin.is_file(), twin
        assert '<html lang="en">' in twin.read_text(encoding="utf-8")
    assert 'href="../../items/PUB-2026-002.html" hreflang="zh-CN"' in (
        published.site / "en" / "items" / "PUB-2026-002.html").read_text(encoding="utf-8")  # fmt: skip


# --- figures -----------------------------------------------------------------------------------


def test_figures_json_holds_the_fund_flow_report(published: Published) -> None:
    figures = {k: f["value"] for k, f in published.figures["figures"].items()}
    services = bootstrap(Settings(database_url=published.url))
    try:
        report = flow_report(services.read_models(), Scope())
    finally:
        services.close()
    assert figures["sources/total"] == report["sources"]["total"] > 0
    assert figures["totals/incoming"] == report["totals"]["incoming"]
    assert figures["totals/idle"] == report["totals"]["idle"]
    for f in report["funds"]:
        assert figures[f"fund/{f['code']}/idle"] == f["idle"]
    for p in report["programs"]:
        assert figures[f"program/{p['code']}/disbursed"] == p["disbursed"]
    families = {re.sub(r"/.*", "", k) for k in figures}
    assert families == {"sources", "fund", "program", "goods", "totals", "donation"}
    # The Hubei lesson: "N95 ×16,000" was corrected to "KN95 ×18,000", and the figures say so.
    assert figures["goods/S-RELIEF/KN95口罩|GB 2626-2019 KN95|个/received"] == 18_000
    assert figures["goods/S-RELIEF/N95口罩|N95|个/received"] == 0


def test_every_figure_shown_on_a_page_equals_figures_json(published: Published) -> None:
    figures = published.figures["figures"]
    shown: dict[str, int] = {}
    for page in pages(published.site):
        for _, attrs in parsed(page).tags:
            if "data-figure" in attrs:
                figure = str(attrs["data-figure"])
                assert figure in figures, (page, figure)
                assert int(str(attrs["data-value"])) == figures[figure]["value"], (page, figure)
                shown[figure] = figures[figure]["value"]
    assert set(shown) == set(figures)  # every published figure is shown somewhere


# --- downloads and the feed --------------------------------------------------------------------


def test_sha256sums_match_the_files_and_the_downloads_page(published: Published) -> None:
    listed = (published.site / "data" / "SHA256SUMS").read_text(encoding="utf-8").splitlines()
    assert len(listed) > 300
    downloads = (published.site / "downloads.html").read_text(encoding="utf-8")
    for line in listed:  # as `cd data && sha256sum -c SHA256SUMS` reads them
        digest, path = line.split("  ", 1)
        assert hashlib.sha256((published.site / "data" / path).read_bytes()).hexdigest() == digest, path
        if path.startswith("tables/"):
            assert digest in downloads and f"data/{path}" in downloads


def test_every_table_is_csv_with_bom_and_json(published: Published) -> None:
    tables = sorted((published.site / "data" / "tables").glob("*.json"))
    assert len(tables) >= 12
    for table in tables:
        data = json.loads(table.read_text(encoding="utf-8"))
        raw = table.with_suffix(".csv").read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")
        lines = raw.decode("utf-8-sig").splitlines()
        assert lines[0].split(",") == [c["key"] for c in data["columns"]]
        assert data["checkpoint"] == published.checkpoint
    donations = json.loads((published.site / "data" / "tables" / "donations.json").read_text(encoding="utf-8"))
    assert len({r["receipt_no"] for r in donations["rows"]}) > 300


def test_the_feed_has_one_entry_per_published_item(published: Published) -> None:
    feed = ET.parse(published.site / "feed.atom").getroot()
    entries = feed.findall(f"{ATOM}entry")
    items = json.loads((published.site / "data" / "tables" / "disclosures.json").read_text(encoding="utf-8"))
    assert len(entries) == len(items["rows"]) >= len(PUBLISHED_ITEMS)
    assert len({e.findtext(f"{ATOM}id") for e in entries}) == len(entries)
    for entry in entries:
        href = entry.find(f"{ATOM}link").attrib["href"]  # type: ignore[union-attr]
        assert (published.site / href).is_file()
        assert str(entry.findtext(f"{ATOM}published")) <= str(entry.findtext(f"{ATOM}updated"))
    titles = " ".join(str(e.findtext(f"{ATOM}title")) for e in entries)
    assert all(item in titles for item in PUBLISHED_ITEMS) and DRAFT not in titles


def test_a_donation_can_be_looked_up_by_receipt_number(published: Published) -> None:
    page = parsed(published.site / "donations.html")
    scripts = [a["src"] for tag, a in page.tags if tag == "script"]
    assert scripts == ["static/donation-lookup.js"]
    assert (published.site / "static" / "donation-lookup.js").is_file()
    receipt = next(k.split("/")[1] for k in published.figures["figures"] if k.startswith("donation/"))
    trace = json.loads((published.site / "data" / "donations" / f"{receipt}.json").read_text(encoding="utf-8"))
    assert trace["donation"]["amount_fen"] == published.figures["figures"][f"donation/{receipt}/amount"]["value"]
    assert (published.site / "donations" / f"{receipt}.html").is_file()


# --- security and privacy ----------------------------------------------------------------------


def test_no_page_has_inline_script_or_style(published: Published) -> None:
    for page in pages(published.site):
        found = parsed(page)
        assert found.inline == [], page
        assert [t for t, a in found.tags if "style" in a] == [], page


def test_nothing_links_outside_the_site(published: Published) -> None:
    external = re.compile(r"https?://")
    for path, text in texts(published.site):
        relative = path.relative_to(published.site).as_posix()
        if relative.startswith("static/vendor/"):
            continue  # vendored libraries' comments cite their sources
        if relative == "feed.atom":
            text = text.replace('xmlns="http://www.w3.org/2005/Atom"', "")
        assert not external.search(text), relative


def test_every_internal_link_resolves(published: Published) -> None:
    for page in pages(published.site):
        for tag, attrs in parsed(page).tags:
            target = attrs.get("href") if tag in ("a", "link") else attrs.get("src")
            if not target or target.startswith("#") or tag == "form":
                continue
            path = unquote(urlsplit(target).path)
            assert (page.parent / path).resolve().is_file(), (page, target)


def test_nothing_personal_is_published(published: Published) -> None:
    assert len(published.secrets.names) > 600 and published.secrets.protected
    leaks = {str(p): sorted(set(found)) for folder in (published.site, published.boards)
             for p, text in texts(folder) if (found := scan(text, published.secrets))}  # fmt: skip
    assert leaks == {}


def test_village_boards_are_apart_unindexed_and_masked(published: Published) -> None:
    assert (published.boards / "robots.txt").read_text() == "User-agent: *\nDisallow: /\n"
    boards = list(pages(published.boards))
    assert len(boards) == 12  # an index and one board per village
    masked: set[str] = set()
    for board in boards:
        text = board.read_text(encoding="utf-8")
        assert '<meta name="robots" content="noindex, nofollow, noarchive">' in text
        assert "疾病应急救助" not in text  # health data: never a name on a board
        masked |= set(re.findall(r"<td>([\u4e00-\u9fff]\*+[\u4e00-\u9fff]?)</td>", text))
    assert len(masked) > 200
    shape = re.compile(r"[\u4e00-\u9fff]\*+[\u4e00-\u9fff]?")
    for path, text in texts(published.site):
        assert not masked & set(shape.findall(text)), path


def test_publish_refuses_boards_inside_the_site_and_a_folder_that_is_not_a_site(
    published: Published, tmp_path: Path
) -> None:
    runner = CliRunner()
    inside = runner.invoke(main, ["publish", "--out", str(tmp_path / "s"), "--village-boards",
                                  str(tmp_path / "s" / "boards")], env=published.env)  # fmt: skip
    assert inside.exit_code == 1 and "apart from the public site" in inside.stderr
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "keep.txt").write_text("mine", encoding="utf-8")
    refused = runner.invoke(main, ["publish", "--out", str(tmp_path / "notes")], env=published.env)
    assert refused.exit_code == 1 and "holds no earlier output" in refused.stderr
    assert (tmp_path / "notes" / "keep.txt").read_text(encoding="utf-8") == "mine"
