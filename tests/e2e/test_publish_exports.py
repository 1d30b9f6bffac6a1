"""What ``gongkai publish`` writes beside the pages, over the demo year with its disclosure items
(the ``published`` fixture, built once per session): the IATI and 360Giving exports, valid and
adding up to the published figures, and a notice-board sheet per published item — font embedded,
title and checkpoint in its text, a QR code of its page, nothing personal. Then the options:
``--base-url``, ``--org-id`` and ``--sheet-font`` on a small town of one item."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from click.testing import CliRunner

from api.cli import main
from ledger.application import Ledger
from ledger.identity import credit_code_check_char
from ledger.keys import write_keypair
from projections.store import database_env
from publish.organisation import DEMO_ORG_ID
from publish.sheets import item_url
from tests import builders as b
from tests.demo_site import LOG_KEY, PASSPHRASE
from tests.open_data_schemas import giving360_errors, iati_errors
from tests.privacy_scanner import scan
from tests.published_demo import NOTE, PUBLISHED_ITEMS, Published
from tests.sheet_reading import embedded_fonts, flat, qr_payloads, sheet_text


@pytest.fixture(scope="module")
def site(published: Published) -> Path:
    return published.site


def data(site: Path, path: str) -> Any:
    return json.loads((site / path).read_text(encoding="utf-8"))


def figures(site: Path) -> dict[str, int]:
    return {k: f["value"] for k, f in data(site, "data/figures.json")["figures"].items()}


def items(site: Path) -> list[dict[str, Any]]:
    return list(data(site, "data/tables/disclosures.json")["rows"])


def sheet(site: Path, item_no: str) -> bytes:
    return (site / "data" / "sheets" / f"{item_no}.pdf").read_bytes()


def fen(value: object) -> int:
    return int(Decimal(str(value)) * 100)


# --- the open-data exports ---------------------------------------------------------------------


def test_the_iati_export_of_the_demo_year_validates_and_adds_up_to_the_published_figures(site: Path) -> None:
    xml = (site / "data/open/iati-activities.xml").read_bytes()
    assert iati_errors(xml) == []
    root = ET.fromstring(xml)
    shown = figures(site)
    per: dict[tuple[str, str], int] = {}
    for activity in root.iter("iati-activity"):
        name = str(activity.findtext("iati-identifier"))
        assert name.startswith(f"{DEMO_ORG_ID}-")
        for t in activity.iter("transaction"):
            key = (name.removeprefix(f"{DEMO_ORG_ID}-"), t.find("transaction-type").attrib["code"])  # type: ignore[union-attr]
            per[key] = per.get(key, 0) + fen(t.findtext("value"))
    assert sum(v for (_, c), v in per.items() if c == "1") == shown["totals/incoming"]
    assert sum(v for (_, c), v in per.items() if c == "3") == shown["totals/outgoing"]
    for figure, value in shown.items():
        kind, code, column = figure.split("/") if figure.count("/") == 2 else ("", "", "")
        if kind == "fund" and column == "received":
            assert per.get((f"FUND-{code}", "1"), 0) == value, figure
        if kind == "program" and column == "disbursed":
            assert per.get((f"PROG-{code}", "3"), 0) == value, figure
    checkpoint = root.find("{urn:x-gongkai:checkpoint}checkpoint")
    assert checkpoint is not None and checkpoint.attrib["root"] == data(site, "data/figures.json")["checkpoint"]["root"]


def test_the_360giving_export_of_the_demo_year_validates_and_adds_up_to_the_payments(site: Path) -> None:
    raw = (site / "data/open/360giving.json").read_bytes()
    assert giving360_errors(raw) == []
    grants = json.loads(raw, parse_float=Decimal)["grants"]
    assert sum(fen(g["amountAwarded"]) for g in grants) == figures(site)["totals/outgoing"]
    withheld = [g for g in grants if "WITHHELD" in g["id"]]
    table = data(site, "data/tables/recipients.json")["rows"]
    assert sum(fen(g["amountAwarded"]) for g in withheld) == sum(r["amount_fen"] for r in table if r["withheld"]) > 0
    assert len({g["id"] for g in grants}) == len(grants) > 100


def test_the_exports_are_downloads_with_their_sha256(site: Path) -> None:
    sums = (site / "data" / "SHA256SUMS").read_text(encoding="utf-8")
    page = (site / "downloads.html").read_text(encoding="utf-8")
    for path in ("open/iati-activities.xml", "open/360giving.json"):
        digest = next(line.split()[0] for line in sums.splitlines() if line.endswith(f"  {path}"))
        assert digest in page and f'href="data/{path}"' in page


# --- notice-board sheets -----------------------------------------------------------------------


def test_every_published_item_has_its_sheet_listed_and_linked_from_its_page(site: Path) -> None:
    listed = [i["item_no"] for i in items(site)]
    assert sorted(listed) == sorted(PUBLISHED_ITEMS)
    assert sorted(p.stem for p in (site / "data" / "sheets").glob("*.pdf")) == sorted(listed)
    sums = (site / "data" / "SHA256SUMS").read_text(encoding="utf-8")
    for item_no in listed:
        assert f"  sheets/{item_no}.pdf" in sums
        page = (site / "items" / f"{item_no}.html").read_text(encoding="utf-8")
        assert f'href="../data/sheets/{item_no}.pdf"' in page


def test_every_sheet_embeds_its_font_and_shows_its_title_and_the_checkpoint(site: Path) -> None:
    checkpoint = data(site, "data/figures.json")["checkpoint"]
    for item in items(site):
        pdf = sheet(site, item["item_no"])
        assert pdf.startswith(b"%PDF-")
        fonts = embedded_fonts(pdf)
        assert fonts and all(f["streams"] and f["bytes"] > 0 for f in fonts), item["item_no"]
        text = flat(sheet_text(pdf))
        assert flat(item["title"]) in text, item["item_no"]
        assert checkpoint["root"] in text and str(checkpoint["size"]) in text


def test_a_corrected_items_sheet_carries_its_correction_note(site: Path) -> None:
    [corrected] = [i for i in items(site) if i["corrected_by"]]
    text = flat(sheet_text(sheet(site, corrected["item_no"])))
    assert flat(NOTE) in text and corrected["corrected_by"] in text
    assert "请公布物资的具体型号" in text and "型号已在更正后的公开事项中列明" in text  # feedback and response


def test_a_sheets_qr_code_holds_its_items_address(site: Path) -> None:
    item_no = items(site)[0]["item_no"]
    assert qr_payloads(sheet(site, item_no)) == [item_url("", item_no)]  # no --base-url: the path in the site


def test_the_privacy_scanner_finds_nothing_in_any_sheet(site: Path, published: Published) -> None:
    known = published.secrets
    assert len(known.names) > 600 and known.protected
    leaks = {i["item_no"]: found for i in items(site) if (found := scan(sheet_text(sheet(site, i["item_no"])), known))}
    assert leaks == {}


# --- the options -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_town(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A town with one published item; the environment ``gongkai`` needs to publish it."""
    work = tmp_path_factory.mktemp("options")
    url = f"sqlite:///{work / 'town.db'}"
    app = Ledger(env=database_env(url))
    town = b.found_town(app)
    town.submit(town.recorder, "donation.receive", b.money_donation(100_000))
    item = {"item_no": "GK-2026-007", "date": "2026-07-20"}
    town.submit(town.recorder, "disclosure.draft", dict(item, title="7月洪灾社会捐赠款物接收情况", kind="execution",
                area="disaster", department="shehui", posting=False, obligations=[],
                content={"type": "report", "report": "flows", "params": {"fund": "F-DISASTER"},
                         "checkpoint": {"size": 12, "root": "A" * 43 + "="}}))  # fmt: skip
    town.submit(town.recorder, "disclosure.submit", item)
    town.submit(town.head, "disclosure.review", item)
    town.submit(town.leader, "disclosure.approve", dict(item, date="2026-07-22"))
    town.submit(town.recorder, "disclosure.publish", dict(item, date="2026-07-23", channels=["notice_board"]))
    app.close()
    write_keypair(LOG_KEY, work / "log", PASSPHRASE)
    return {"GONGKAI_DATABASE_URL": url, "GONGKAI_LOG_KEY_FILE": str(work / "log.key"),
            "GONGKAI_LOG_KEY_PASSPHRASE": PASSPHRASE.decode(), "GONGKAI_ENV": "development", "WORK": str(work)}  # fmt: skip


def test_publish_takes_the_sites_address_and_the_towns_identifier(small_town: dict[str, str]) -> None:
    first17 = "11520122MB1234567"
    org_id = "CN-USCC-" + first17 + credit_code_check_char(first17)
    out = Path(small_town["WORK"]) / "site"
    result = CliRunner().invoke(main, ["publish", "--out", str(out), "--base-url", "https://gk.example.cn/liuchang",
                                       "--org-id", org_id, "--json"], env=small_town)  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    assert json.loads(result.output)["sheets"] == 1
    pdf = (out / "data" / "sheets" / "GK-2026-007.pdf").read_bytes()
    assert "https://gk.example.cn/liuchang/items/GK-2026-007.html" in flat(sheet_text(pdf))
    reporting = ET.fromstring((out / "data/open/iati-activities.xml").read_bytes()).find("iati-activity/reporting-org")
    assert reporting is not None and reporting.attrib["ref"] == org_id
    assert json.loads((out / "data/open/360giving.json").read_text(encoding="utf-8"))["publisher"]["identifier"] == org_id


@pytest.mark.parametrize(("option", "value", "says"), [
    ("--org-id", "XM-DAC-41114", "must start with CN-USCC-"),
    ("--org-id", "CN-USCC-11520122DEMX00014A", "check character"),
    ("--sheet-font", "/nonexistent/font.ttc", "no such file"),
    ("--base-url", "https://gk.example.cn/a b/", "white space"),
])  # fmt: skip
def test_publish_refuses_a_bad_option_before_doing_anything(small_town: dict[str, str], option: str, value: str,
                                                           says: str) -> None:  # fmt: skip
    out = Path(small_town["WORK"]) / "refused"
    result = CliRunner().invoke(main, ["publish", "--out", str(out), option, value], env=small_town)
    assert result.exit_code == 1 and says in result.stderr
    assert not out.exists()
