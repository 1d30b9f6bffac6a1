"""The portal rendered from a small town's books on both backends: figures straight from the
fund-flow report, a page per published item, the same bytes for the same checkpoint whatever
happened after it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from projections.log_clock import LogClockProjection, log_time
from projections.merkle_log import MerkleProjection, tree, tree_size
from projections.replay import scratch_as_of
from projections.runner import Runner
from projections.sql import Database
from publish.books import Stamp
from publish.site import SiteError, build_site, prepare, site_projections
from tests.builders import (
    Town,
    allocation,
    disbursement,
    goods_donation,
    goods_issue,
    goods_line,
    money_donation,
)

ROOT = "A" * 43 + "="


@pytest.fixture
def live(database_url: str) -> Any:
    database = Database(database_url)
    yield database
    database.close()


def publish(town: Town, live: Database, out: Path, size: int | None = None) -> Stamp:
    """What ``gongkai publish`` does, without the CLI and the bundle."""
    Runner(town.app, live, [MerkleProjection()]).catch_up()
    size = tree_size(live) if size is None else size
    with scratch_as_of(town.app, live, size, site_projections()) as db:
        stamp = Stamp(town.jurisdiction, "gongkai/流长镇", size, tree(live, size).root(), log_time(db) or "")
        prepare(out)
        build_site(db, stamp, out)
    return stamp


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def flood_year(town: Town) -> None:
    town.submit(town.recorder, "donation.receive", money_donation(100_000))
    town.submit(town.recorder, "donation.receive", goods_donation(goods_line(100)))
    town.submit(town.recorder, "allocation.make", allocation(60_000))
    town.submit(town.recorder, "disbursement.make", disbursement(25_000))
    town.submit(town.recorder, "goods.issue", goods_issue(goods_line(30), approved_by=town.head.key.key_id))
    item = {"item_no": "GK-2026-007", "date": "2026-07-20"}
    town.submit(town.recorder, "disclosure.draft", dict(item, title="7月洪灾社会捐赠款物接收情况",
                kind="execution", area="disaster", department="shehui", posting=False, obligations=[],
                content={"type": "report", "report": "flows", "params": {"fund": "F-DISASTER"},
                         "checkpoint": {"size": 12, "root": ROOT}}))  # fmt: skip
    town.submit(town.recorder, "disclosure.submit", item)
    town.submit(town.head, "disclosure.review", item)
    town.submit(town.leader, "disclosure.approve", dict(item, date="2026-07-22"))
    town.submit(town.recorder, "disclosure.publish", dict(item, date="2026-07-23", channels=["notice_board"]))


def test_the_site_publishes_the_fund_flow_report_as_figures(town: Town, live: Database, tmp_path: Path) -> None:
    flood_year(town)
    stamp = publish(town, live, tmp_path / "site")
    data = json.loads((tmp_path / "site" / "data" / "figures.json").read_text(encoding="utf-8"))
    figures = {k: f["value"] for k, f in data["figures"].items()}
    assert data["checkpoint"] == stamp.to_json()
    assert figures["fund/F-DISASTER/received"] == 100_000
    assert figures["fund/F-DISASTER/allocated"] == 60_000
    assert figures["fund/F-DISASTER/idle"] == 40_000
    assert figures["program/P-FLOOD/disbursed"] == 25_000
    assert figures["program/P-FLOOD/idle"] == 35_000
    assert figures["totals/incoming"] == 100_000 == figures["sources/donor/enterprise"]
    assert figures["totals/idle"] == 75_000
    assert figures["donation/R2026-0001/amount"] == 100_000
    assert figures["goods/S-MAIN/KN95 口罩|GB 2626|只/in_store"] == 70
    assert data["figures"]["goods/S-MAIN/KN95 口罩|GB 2626|只/issued"]["unit"] == "只"


def test_a_published_item_has_its_page_with_its_trail(town: Town, live: Database, tmp_path: Path) -> None:
    flood_year(town)
    publish(town, live, tmp_path / "site")
    page = (tmp_path / "site" / "items" / "GK-2026-007.html").read_text(encoding="utf-8")
    assert "7月洪灾社会捐赠款物接收情况" in page
    assert all(name in page for name in ("李经办", "张主任", "赵镇长"))
    assert (tmp_path / "site" / "en" / "items" / "GK-2026-007.html").is_file()
    goods = (tmp_path / "site" / "goods.html").read_text(encoding="utf-8")
    assert "张主任" in goods  # the approver of the goods issue


def test_the_same_checkpoint_gives_the_same_site_whatever_came_after(
    town: Town, live: Database, tmp_path: Path
) -> None:
    flood_year(town)
    first = publish(town, live, tmp_path / "first")
    town.submit(town.recorder, "disbursement.make", disbursement(5_000))
    publish(town, live, tmp_path / "later")
    again = publish(town, live, tmp_path / "again", size=first.size)
    assert again == first
    assert digest(tmp_path / "again") == digest(tmp_path / "first") != digest(tmp_path / "later")


def test_the_log_clock_is_the_latest_signed_time(town: Town, live: Database, tmp_path: Path) -> None:
    flood_year(town)
    Runner(town.app, live, [LogClockProjection()]).catch_up()
    assert (log_time(live) or "").endswith("+08:00")


def test_a_folder_that_is_not_a_site_is_never_emptied(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SiteError):
        prepare(tmp_path)
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "keep me"
