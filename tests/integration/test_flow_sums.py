"""The flows' running totals (``projections.flow_sums``) give the portal exactly what the raw
rows give: every fund-flow report, the goods totals, the IATI activities and the 360Giving
grants of the demo year, on both backends, read once over the sums and once over the raw rows
(the same database with the sums' tracking row removed, so ``summarised`` falls back)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from api.demo import build_demo
from ledger.application import Ledger
from projections.balances import BalancesProjection
from projections.flow_sums import RAW, SUMMED, FlowSumsProjection, summarised
from projections.flows import FlowsProjection
from projections.log_clock import LogClockProjection, log_time
from projections.reports import Scope, area_reports, flow_report, goods_ledger
from projections.runner import Projection, Runner
from projections.sql import Database
from projections.store import database_env
from publish.books import Stamp
from publish.giving360 import grants_package
from publish.iati import iati_activities
from publish.organisation import Organisation
from publish.site import site_projections
from tests.conftest import BACKENDS, own_database


@pytest.fixture(scope="module", params=BACKENDS)
def books(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """The demo year's flows and their sums, applied a page of 700 at a time (so the sums are
    added to across pages), in a database of its own per backend."""
    with own_database(request.param, tmp_path_factory, "flow_sums") as url:
        app = Ledger(env=database_env(url))
        build_demo(app)
        db = Database(url)
        projections: list[Projection] = [BalancesProjection(), FlowsProjection(), FlowSumsProjection(),
                                         LogClockProjection()]
        Runner(app, db, projections).catch_up(page=700, batched=True)
        yield db
        db.close()
        app.close()


def _everything(db: Database) -> dict[str, object]:
    stamp = Stamp("流长镇", "gongkai/流长镇", 1, b"\0" * 32, log_time(db) or "")
    org = Organisation.of_town("流长镇")
    whole = area_reports(db, Scope())
    return {
        "whole": whole.whole, "by_area": whole.by_area, "links": whole.links,
        "flow_report": flow_report(db, Scope()), "goods": goods_ledger(db, Scope()),
        "iati": iati_activities(db, stamp, org), "360giving": grants_package(db, stamp, org),
    }  # fmt: skip


def test_the_sums_give_what_the_raw_rows_give(books: Database) -> None:
    # What makes the distinct counts and the signs matter is in the demo year.
    kinds = dict(books.query("SELECT kind, COUNT(*) FROM gk_flows GROUP BY kind"))
    assert kinds["disbursement"] > 1000 and kinds["goods_issue"] and kinds["pledge"]
    assert books.query("SELECT COUNT(*) FROM gk_flows WHERE kind = 'disbursement' AND amount < 0")[0][0]
    assert books.query("SELECT COUNT(*) FROM gk_flows WHERE kind = 'disbursement' AND protected = 1")[0][0]
    assert summarised(books) is SUMMED
    summed = _everything(books)
    (position,) = books.query("SELECT position FROM gk_tracking WHERE name = 'flow_sums'")[0]
    with books.transaction() as cursor:
        cursor.execute("DELETE FROM gk_tracking WHERE name = 'flow_sums'")
    try:
        assert summarised(books) is RAW
        raw = _everything(books)
    finally:
        with books.transaction() as cursor:
            cursor.execute("INSERT INTO gk_tracking (name, position) VALUES ('flow_sums', ?)", (position,))
    for name in raw:
        assert summed[name] == raw[name], name


def test_the_sums_are_the_rows_summed(books: Database) -> None:
    """Added to page by page, they equal one GROUP BY over every row."""
    dims = "day, boundary, kind, source, dest, fund, program, store, area, category, donor_class, " \
           "level, village, protected, item, grade, unit, correction"  # fmt: skip
    grouped = f"{dims}, CASE WHEN quantity <> 0 THEN 1 ELSE 0 END, CASE WHEN amount < 0 THEN 1 ELSE 0 END"
    expected = books.query(
        f"SELECT {grouped}, SUM(amount), SUM(quantity), COUNT(*), SUM(CASE WHEN amount > 0 THEN 1 ELSE -1 END) "
        f"FROM gk_flows GROUP BY {grouped}"
    )
    kept = books.query(f"SELECT {dims}, goods, negative, amount, quantity, rows, signs FROM gk_flow_sums")
    assert len(kept) < len(books.query("SELECT position FROM gk_flows")) / 2  # they do sum up
    assert sorted(kept, key=repr) == sorted(expected, key=repr)
    payees = books.query("SELECT COUNT(*) FROM (SELECT DISTINCT program, substr(day, 1, 7), village, protected, "
                         "recipient FROM gk_flows WHERE kind = 'disbursement' AND recipient IS NOT NULL) d")  # fmt: skip
    assert books.query("SELECT COUNT(*) FROM gk_flow_payees") == payees


def test_a_dated_scope_reads_the_raw_rows(books: Database) -> None:
    assert summarised(books, dated=True) is RAW


def test_read_models_without_a_runner_read_the_raw_rows(tmp_path: Path) -> None:
    """The offline replay (``publish.log_replay``) applies its read models itself: no tracking."""
    db = Database(f"sqlite:///{tmp_path / 'bare.db'}")
    try:
        assert summarised(db) is RAW
    finally:
        db.close()


def _indexes(db: Database) -> set[str]:
    if db.dialect == "sqlite":
        return {str(r[0]) for r in db.query("SELECT name FROM sqlite_master WHERE type = 'index'")}
    return {str(r[0]) for r in db.query("SELECT indexname FROM pg_indexes")}


def test_the_portal_indexes_are_built_once_the_read_models_are_caught_up(ledger: Ledger, database_url: str) -> None:
    db = Database(database_url)
    try:
        runner = Runner(ledger, db, site_projections())
        assert not {"gk_flows_by_kind", "gk_trace_by_source_position"} & _indexes(db)  # not kept up from zero
        runner.catch_up()
        assert {"gk_flows_by_kind", "gk_trace_by_source_position"} <= _indexes(db)
        runner.catch_up()  # again: they are there already
    finally:
        db.close()


class _FailOnce:
    """A read model whose page fails once, after the running totals applied theirs."""

    name = "fails_once"
    tables: tuple[str, ...] = ()

    def __init__(self, at_page: int) -> None:
        self.pages, self.at_page = 0, at_page

    def create(self, cursor: object, dialect: str) -> None:
        """No table."""

    def apply(self, cursor: object, event: object, position: int) -> None:
        """Nothing."""

    def apply_page(self, cursor: object, events: object) -> None:
        self.pages += 1
        if self.pages == self.at_page:
            raise RuntimeError("this page fails")


def test_a_page_rolled_back_is_written_again_whole(tmp_path: Path) -> None:
    """The all-time sets are offered each row once per catch-up; a page that rolled back is
    not taken as written (the tracking row says so), so its rows are written when it is
    applied again."""
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    app = Ledger(env=database_env(url))
    db = Database(url)
    try:
        build_demo(app)
        projections: list[Projection] = [FlowsProjection(), FlowSumsProjection(), _FailOnce(at_page=4)]
        runner = Runner(app, db, projections)
        with pytest.raises(RuntimeError, match="this page fails"):
            runner.catch_up(page=500, batched=True)
        runner.catch_up(page=500, batched=True)
        for table, columns in (("gk_flow_payees_all", "program, COALESCE(village, ''), protected, recipient"),
                               ("gk_flow_receipts", "COALESCE(fund, ''), kind, COALESCE(donor_class, ''), "
                                                    "COALESCE(level, ''), receipt_no")):  # fmt: skip
            where = ("kind = 'disbursement' AND recipient IS NOT NULL" if table == "gk_flow_payees_all"
                     else "boundary = 'incoming' AND quantity = 0 AND receipt_no IS NOT NULL")  # fmt: skip
            expected = db.query(f"SELECT COUNT(*) FROM (SELECT DISTINCT {columns} FROM gk_flows WHERE {where}) d")
            assert db.query(f"SELECT COUNT(*) FROM {table}") == expected, table
    finally:
        db.close()
        app.close()
