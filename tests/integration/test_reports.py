"""The fund-flow report and the goods ledger on the demo year, on both backends: every
identity of issue 4 reconciles exactly, an incremental read model equals a rebuilt one, and a
report as of a checkpoint equals the report the live books gave at that moment."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from api.demo import build_demo
from ledger.application import Ledger
from ledger.catalogue import AREAS
from projections.balances import BalancesProjection
from projections.flows import FlowsProjection
from projections.merkle_log import MerkleProjection, tree_size
from projections.replay import scratch_as_of
from projections.reports import Scope, area_reports, flow_report, goods_ledger
from projections.runner import Runner
from projections.sql import Database
from projections.store import database_env
from tests.conftest import BACKENDS, own_database


@dataclass
class Books:
    app: Ledger
    db: Database
    runner: Runner


def _projections() -> list[BalancesProjection | MerkleProjection | FlowsProjection]:
    return [BalancesProjection(), MerkleProjection(), FlowsProjection()]


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Books]:
    """The demo year, built once per backend into a database of its own."""
    with own_database(request.param, tmp_path_factory, "reports") as url:
        app = Ledger(env=database_env(url))
        build_demo(app)
        db = Database(url)
        runner = Runner(app, db, _projections())
        runner.catch_up(page=700)
        yield Books(app, db, runner)
        db.close()
        app.close()


def test_every_fund_program_and_the_whole_ledger_reconcile(demo: Books) -> None:
    report = flow_report(demo.db, Scope())
    for fund in report["funds"]:
        assert fund["received"] + fund["transfers_in"] == (
            fund["allocated"] + fund["transfers_out"] + fund["idle"]
        ), fund["code"]
    for program in report["programs"]:
        assert program["allocated"] == program["disbursed"] + program["idle"], program["code"]
    totals = report["totals"]
    assert report["sources"]["total"] == totals["incoming"]
    assert totals["incoming"] == totals["outgoing"] + totals["idle"]
    assert totals["crossing_in"] == totals["crossing_out"] == 0
    assert report["recipients"]["total"] == totals["outgoing"]
    assert totals["reconciles"]


def test_fund_idle_balances_equal_the_ledgers_own_balances(demo: Books) -> None:
    report = flow_report(demo.db, Scope())
    balances = dict(demo.db.query("SELECT code, balance FROM gk_accounts WHERE kind <> 'store'"))
    for row in report["funds"] + report["programs"]:
        assert row["idle"] == balances[row["code"]], row["code"]


def test_goods_in_equal_issued_plus_in_store(demo: Books) -> None:
    ledger = goods_ledger(demo.db, Scope())
    stock: dict[str, int] = {}
    for bucket, quantity in demo.db.query(
        "SELECT b.bucket, b.amount FROM gk_buckets b JOIN gk_accounts a ON a.id = b.account_id "
        "WHERE a.kind = 'store'"
    ):
        stock[bucket] = stock.get(bucket, 0) + int(quantity)
    assert ledger["goods"]
    for goods in ledger["goods"]:
        assert goods["received"] == goods["issued"] + goods["in_store"]
    assert sum(g["in_store"] for g in ledger["goods"]) == sum(stock.values())


def test_every_goods_issue_names_who_approved_it(demo: Books) -> None:
    issues = goods_ledger(demo.db, Scope())["issues"]
    assert issues
    assert all(i["approved_by_name"] for i in issues)
    assert all(i["institution"] or i["recipient"] for i in issues)


def test_a_period_report_reconciles_with_its_opening_balances(demo: Books) -> None:
    report = flow_report(demo.db, Scope(date(2026, 7, 1), date(2026, 9, 30)))
    t = report["totals"]
    assert t["opening_idle"] > 0
    assert t["opening_idle"] + t["incoming"] == t["outgoing"] + t["idle"]
    for fund in report["funds"]:
        assert fund["opening_idle"] + fund["received"] + fund["transfers_in"] == (
            fund["allocated"] + fund["transfers_out"] + fund["idle"]
        )


def test_a_one_fund_report_reconciles_across_its_boundary(demo: Books) -> None:
    report = flow_report(demo.db, Scope(fund="F-DONATION"))
    t = report["totals"]
    assert [f["code"] for f in report["funds"]] == ["F-DONATION"]
    assert t["reconciles"]
    assert t["incoming"] + t["crossing_in"] == t["outgoing"] + t["crossing_out"] + t["idle"]


def test_pledges_are_reported_but_never_counted(demo: Books) -> None:
    report = flow_report(demo.db, Scope())
    assert report["pledged"]["total"] > 0
    assert report["pledged"]["counted"] is False


def test_protected_payments_appear_only_as_one_withheld_line(demo: Books) -> None:
    recipients = flow_report(demo.db, Scope())["recipients"]
    assert recipients["withheld"]["payments"] > 0
    assert all(g["village"] for g in recipients["groups"])


def test_an_incremental_read_model_equals_a_rebuilt_one(demo: Books, tmp_path: Path) -> None:
    incremental = flow_report(demo.db, Scope()), goods_ledger(demo.db, Scope())
    flows = demo.db.query("SELECT * FROM gk_flows ORDER BY position, seq")
    rebuilt_db = Database(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    try:
        Runner(demo.app, rebuilt_db, _projections()).rebuild()
        assert rebuilt_db.query("SELECT * FROM gk_flows ORDER BY position, seq") == flows
        assert (flow_report(rebuilt_db, Scope()), goods_ledger(rebuilt_db, Scope())) == incremental
    finally:
        rebuilt_db.close()


def test_a_report_as_of_a_size_equals_the_report_the_books_gave_then(demo: Books, tmp_path: Path) -> None:
    size = tree_size(demo.db) // 2
    with scratch_as_of(demo.app, demo.db, size, _projections()) as then:
        as_of = flow_report(then, Scope())
    partial = Database(f"sqlite:///{tmp_path / 'partial.db'}")
    try:
        stop = int(demo.db.query("SELECT notification_id FROM gk_merkle_leaves WHERE idx = ?",
                                 (size - 1,))[0][0])  # fmt: skip
        Runner(demo.app, partial, _projections()).catch_up(stop=stop)
        assert flow_report(partial, Scope()) == as_of
        assert tree_size(partial) == size
    finally:
        partial.close()
    assert as_of != flow_report(demo.db, Scope())


@pytest.mark.parametrize("period", [(None, None), (date(2026, 7, 1), date(2026, 9, 30))])
def test_all_area_reports_at_once_equal_each_area_report(demo: Books, period: tuple[date | None, date | None]) -> None:
    start, end = period
    whole, together, links = area_reports(demo.db, Scope(start, end))
    assert whole == flow_report(demo.db, Scope(start, end))
    if start is None:  # all time: the links are the flows' net money between accounts
        assert links == [{"kind": k, "source": s, "dest": d, "amount": int(n)} for k, s, d, n in sorted(demo.db.query(
            "SELECT kind, source, dest, SUM(amount) FROM gk_flows WHERE quantity = 0 AND kind <> 'pledge' "
            "GROUP BY kind, source, dest HAVING SUM(amount) <> 0"))] and len(links) > 20  # fmt: skip
    assert list(together) == list(AREAS)
    for area in AREAS:
        assert together[area] == flow_report(demo.db, Scope(start, end, area=area)), area
    assert any(r["recipients"]["groups"] and r["sources"]["donors"] and r["goods"] for r in together.values())
