"""The portal rendered from a small town's books on both backends: figures straight from the
fund-flow report, a page per published item, the same bytes for the same checkpoint whatever
happened after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from api.bootstrap import bootstrap
from api.cli import main
from api.config import Settings
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
    assert 'href="goods-issues/2026-07.html"' in goods  # every issue, listed by month
    issues = (tmp_path / "site" / "goods-issues" / "2026-07.html").read_text(encoding="utf-8")
    assert "张主任" in issues  # the approver of the goods issue


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


# --- publishing again into the last site's folder ---------------------------------------------


def cli(database_url: str, keys: Path) -> Callable[..., dict[str, Any]]:
    """``gongkai publish ... --json`` on this town's ledger, with a log key in ``keys``."""
    settings = Settings(database_url=database_url, log_key_file=keys / "log.key")
    services = bootstrap(settings)
    services.log_key(create=True)
    services.close()
    env = {"GONGKAI_DATABASE_URL": database_url, "GONGKAI_LOG_KEY_FILE": str(keys / "log.key"),
           "GONGKAI_ENV": "development"}  # fmt: skip

    def publish(*args: str) -> dict[str, Any]:
        result = CliRunner().invoke(main, ["publish", *args, "--json"], env=env, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        data: dict[str, Any] = json.loads(result.output)
        return data

    return publish


def test_a_publish_into_the_last_sites_folder_writes_only_what_changed_and_ends_the_same(
    town: Town, database_url: str, tmp_path: Path
) -> None:
    flood_year(town)
    for n in range(2, 6):
        town.submit(town.recorder, "donation.receive", money_donation(10_000 * n, receipt_no=f"R2026-000{n}"))
    publish = cli(database_url, tmp_path / "keys")
    site, fresh = tmp_path / "site", tmp_path / "fresh"
    first = publish("--out", str(site))
    assert not first["incremental"] and first["reused"] == 0
    untouched = site / "donations" / "R2026-0003.html"
    untouched_at = untouched.stat().st_mtime_ns
    assert "R2026-0003" in untouched.read_text(encoding="utf-8")

    # The log grows: a new donation, a payment drawing on the first one (its trace changes).
    town.submit(town.recorder, "donation.receive", money_donation(7_000, receipt_no="R2026-0009"))
    town.submit(town.recorder, "disbursement.make", disbursement(5_000))
    # And by hand: one kept page is edited, another deleted, and a byte of the bundle changed.
    edited = site / "en" / "donations" / "R2026-0004.html"
    edited.write_text("edited by hand", encoding="utf-8")
    (site / "donations" / "R2026-0005.html").unlink()
    later = publish("--out", str(site))
    assert later["incremental"]
    assert later["checkpoint"]["size"] > first["checkpoint"]["size"]
    assert later["reused"] >= 2 * 3  # R2026-0002/3/5 (en) and R2026-0002/3/4 (zh), their JSON
    assert untouched.stat().st_mtime_ns == untouched_at  # neither rendered nor written again
    assert "edited by hand" not in edited.read_text(encoding="utf-8")
    assert (site / "donations" / "R2026-0009.html").is_file() and (site / "donations" / "R2026-0005.html").is_file()

    full = publish("--out", str(fresh), "--full")
    assert not full["incremental"] and full["checkpoint"] == later["checkpoint"]
    assert digest(site) == digest(fresh)


def test_a_bundle_changed_by_hand_is_written_whole_again(town: Town, database_url: str, tmp_path: Path) -> None:
    flood_year(town)
    publish = cli(database_url, tmp_path / "keys")
    site, fresh = tmp_path / "site", tmp_path / "fresh"
    publish("--out", str(site))
    events = site / "bundle" / "events.jsonl"
    lines = events.read_text(encoding="utf-8").splitlines(keepends=True)
    events.write_text("".join(lines[:-1]), encoding="utf-8")  # the last leaf dropped
    town.submit(town.recorder, "disbursement.make", disbursement(5_000))
    later = publish("--out", str(site))
    assert later["incremental"]  # the pages are kept; the bundle is rewritten whole
    assert len(events.read_text(encoding="utf-8").splitlines()) == later["checkpoint"]["size"]
    publish("--out", str(fresh), "--full")
    assert digest(site) == digest(fresh)
