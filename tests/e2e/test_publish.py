"""``gongkai publish`` end to end over the demo year: the static portal as of one checkpoint.

The demo year is built once (a SQLite file) and given a few disclosure items of its own — one
with public feedback and a correction (更正说明), two documents, and a draft that must never be
published — then published with its village boards. Later events are recorded and the same
checkpoint is published again, into another folder: the bytes must not change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from api.bootstrap import bootstrap
from api.cli import main
from api.config import Settings
from api.demo import JURISDICTION, build_demo, demo_officials
from ledger.application import Ledger
from ledger.catalogue import AREAS, INFO_KINDS
from ledger.commands import Signer, payload_of
from projections.recipient_lists import Filters, auditor_list
from projections.reports import Scope, flow_report
from projections.store import database_env
from tests.privacy_scanner import Secrets, scan

CHINA = timezone(timedelta(hours=8))
ATOM = "{http://www.w3.org/2005/Atom}"
PUBLISHED_ITEMS = ("PUB-2026-001", "PUB-2026-001-R1", "PUB-2026-002", "PUB-2026-003")
DRAFT = "PUB-2026-004"
NOTE = "口罩型号应为KN95，数量18000只"


@dataclass
class Published:
    site: Path
    again: Path
    boards: Path
    url: str
    env: dict[str, str]
    checkpoint: dict[str, Any]
    figures: dict[str, Any]
    secrets: Secrets


class _Steps:
    """Disclosure steps signed by the demo's officials, each at 10:00 on its day."""

    def __init__(self, app: Ledger) -> None:
        keys = demo_officials(2026)
        self.app = app
        self.by = {name: Signer(keys[name], JURISDICTION)
                   for name in ("recorder", "department-head", "leader", "office-filer")}  # fmt: skip

    def __call__(self, who: str, cmd: str, day: str, **body: Any) -> None:
        at = datetime.combine(datetime.fromisoformat(day).date(), time(10), CHINA)
        self.app.submit(self.by[who].sign(cmd, {**body, "date": day}, at=at))

    def draft(self, item_no: str, title: str, kind: str, area: str, day: str, content: dict[str, Any]) -> None:
        self("recorder", "disclosure.draft", day, item_no=item_no, title=title, kind=kind, area=area,
             department="shehui", posting=False, content=content, obligations=[])  # fmt: skip

    def through(self, item_no: str, days: tuple[str, str, str, str]) -> None:
        """Submit, review, approve, publish: the plan's procedure."""
        self("recorder", "disclosure.submit", days[0], item_no=item_no)
        self("department-head", "disclosure.review", days[1], item_no=item_no, opinion="同意公开")
        self("leader", "disclosure.approve", days[2], item_no=item_no, opinion="同意")
        self("recorder", "disclosure.publish", days[3], item_no=item_no, channels=["notice_board"])


def _document(name: str) -> dict[str, Any]:
    return {"type": "document", "doc_kind": "policy",
            "files": [{"name": name, "sha256": hashlib.sha256(name.encode()).hexdigest(), "size": 1024}]}  # fmt: skip


def _disclosures(app: Ledger) -> None:
    steps = _Steps(app)
    report = {"type": "report", "report": "flows", "params": {"fund": "F-DONATION"},
              "checkpoint": {"size": 12, "root": "A" * 43 + "="}}  # fmt: skip
    steps.draft("PUB-2026-001", "7·6洪涝灾害社会捐赠款物使用情况", "execution", "disaster", "2026-12-01", report)
    steps.through("PUB-2026-001", ("2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"))
    steps("office-filer", "disclosure.publish", "2026-12-07", item_no="PUB-2026-001", channels=["county_portal"])
    steps("office-filer", "disclosure.file", "2026-12-07", item_no="PUB-2026-001")
    steps("office-filer", "feedback.receive", "2026-12-08", item_no="PUB-2026-001", feedback_no="FB-1",
          kind="comment", text="请公布物资的具体型号")  # fmt: skip
    steps("recorder", "feedback.respond", "2026-12-09", item_no="PUB-2026-001", feedback_no="FB-1",
          text="型号已在更正后的公开事项中列明")  # fmt: skip
    steps.draft("PUB-2026-001-R1", "7·6洪涝灾害社会捐赠款物使用情况（更正）", "execution", "disaster",
                "2026-12-10", report)  # fmt: skip
    steps("recorder", "disclosure.correct", "2026-12-10", item_no="PUB-2026-001",
          replacement_item_no="PUB-2026-001-R1", note=NOTE)  # fmt: skip
    steps.through("PUB-2026-001-R1", ("2026-12-10", "2026-12-11", "2026-12-14", "2026-12-15"))
    steps.draft("PUB-2026-002", "2026年城乡低保标准", "decision", "welfare", "2026-12-01", _document("低保标准.pdf"))
    steps.through("PUB-2026-002", ("2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"))
    steps.draft("PUB-2026-003", "临时救助办事指南", "management", "welfare", "2026-12-01", _document("办事指南.pdf"))
    steps.through("PUB-2026-003", ("2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"))
    steps.draft(DRAFT, "尚未审核的草稿", "decision", "health", "2026-12-16", _document("草稿.pdf"))


def _secrets(app: Ledger, url: str, settings: Settings) -> Secrets:
    """The demo's people (from the auditor's list) and the donors named only in sealed parts."""
    services = bootstrap(settings)
    try:
        listing = auditor_list(services.read_models(), services.ledger, Filters())
    finally:
        services.close()
    digests, start = [], 1
    while page := app.recorder.select_notifications(start=start, limit=2000):
        for notification in page:
            payload = payload_of(vars(app.mapper.to_domain_event(notification))["signed"])
            if payload["cmd"] == "donation.receive" and payload["sealed"]:
                digests.append(payload["sealed"])
        start = page[-1].id + 1
    donors = [o.part.data["donor_name"] for o in app.open_sealed(digests).values() if o.part is not None]
    return Secrets.from_auditor_list(listing, donors)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    tmp = tmp_path_factory.mktemp("publish")
    url = f"sqlite:///{tmp / 'town.db'}"
    settings = Settings(database_url=url, log_key_file=tmp / "log.key")
    env = {"GONGKAI_DATABASE_URL": url, "GONGKAI_LOG_KEY_FILE": str(tmp / "log.key"),
           "GONGKAI_ENV": "development"}  # fmt: skip
    app = Ledger(env=database_env(url))
    build_demo(app)
    _disclosures(app)
    services = bootstrap(settings)
    services.log_key(create=True)
    services.close()
    runner = CliRunner()

    def gongkai(*args: str) -> str:
        result = runner.invoke(main, list(args), env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output + result.stderr
        return result.output

    out = json.loads(gongkai("publish", "--out", str(tmp / "site"), "--village-boards", str(tmp / "boards"), "--json"))
    # The log grows (a comment on a published item); the same checkpoint must give the same site.
    _Steps(app)("office-filer", "feedback.receive", "2026-12-16", item_no="PUB-2026-002", feedback_no="FB-2",
                kind="comment", text="标准何时调整？")  # fmt: skip
    gongkai("publish", "--out", str(tmp / "again"), "--as-of", str(out["checkpoint"]["size"]))
    secrets = _secrets(app, url, settings)
    app.close()
    figures = json.loads((tmp / "site" / "data" / "figures.json").read_text(encoding="utf-8"))
    return Published(tmp / "site", tmp / "again", tmp / "boards", url, env, out["checkpoint"], figures, secrets)


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


def test_every_page_states_the_checkpoint_it_was_built_from(published: Published) -> None:
    cp = published.checkpoint
    assert published.figures["checkpoint"] == cp
    own = [p for p in pages(published.site) if p.name != "verify.html"]
    for page in own:
        text = page.read_text(encoding="utf-8")
        assert cp["origin"] in text and f"<code>{cp['size']}</code>" in text and cp["root"] in text, page


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
