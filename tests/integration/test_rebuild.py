"""Rebuilding the read models, on both backends: a page applied at once (``apply_page``) writes
the same rows as its events applied one by one, a rebuild split between two processes equals
the read models kept up to date as the log grew, and a rebuild that fails anywhere, in this
process or in the other one, leaves the old read models and their positions as they were."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

import projections.runner as runner_module
from api.demo import build_demo, demo_officials
from api.demo_disclosures import demo_disclosures
from ledger.application import Ledger
from projections.balances import BalancesProjection
from projections.deadlines import DisclosureProjection
from projections.flows import FlowsProjection
from projections.log_clock import LogClockProjection
from projections.merkle_log import MerkleProjection
from projections.recipients import RecipientsProjection
from projections.runner import Events, Projection, Runner
from projections.sql import Database
from projections.store import database_env
from projections.tracing import TracingProjection
from tests.conftest import BACKENDS, own_database

Snapshot = dict[str, list[tuple[Any, ...]]]


def every_read_model() -> list[Projection]:
    """The server's read models (``api.bootstrap``) and the log clock, which has no
    ``apply_page`` and so is applied event by event even in a batched page."""
    return [BalancesProjection(), MerkleProjection(), FlowsProjection(), RecipientsProjection(),
            DisclosureProjection(), TracingProjection(), LogClockProjection()]  # fmt: skip


def snapshot(db: Database, projections: list[Projection]) -> Snapshot:
    """Every row of every read model and every position, in a stable order."""
    tables = {t: sorted(db.query(f"SELECT * FROM {t}"), key=repr) for p in projections for t in p.tables}
    tables["gk_tracking"] = sorted(db.query("SELECT name, position FROM gk_tracking"))
    return tables


def forget(db: Database, projections: list[Projection]) -> None:
    """Empty the read models and set them back to the start of the log."""
    with db.transaction() as cursor:
        for projection in projections:
            for table in projection.tables:
                cursor.execute(f"DELETE FROM {table}")
            cursor.execute("UPDATE gk_tracking SET position = 0 WHERE name = ?", (projection.name,))


@dataclass
class Year:
    app: Ledger
    db: Database
    incremental: Snapshot  # kept up to date while the year was recorded, event by event


@pytest.fixture(scope="module", params=BACKENDS)
def year(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Year]:
    """The demo year with its disclosure record, its read models caught up after every batch
    in odd-sized pages, one event at a time: built once per backend, in a database of its own."""
    with own_database(request.param, tmp_path_factory, "rebuild") as url:
        app = Ledger(env=database_env(url))
        db = Database(url)
        try:
            runner = Runner(app, db, every_read_model())

            def catch_up(_: int) -> None:
                runner.catch_up(page=389)

            build_demo(app, progress=catch_up)
            demo_disclosures(app, demo_officials(2026))
            runner.catch_up(page=389)
            yield Year(app, db, snapshot(db, every_read_model()))
        finally:
            db.close()
            app.close()


def test_the_year_fills_every_read_model(year: Year) -> None:
    empty = [table for table, rows in year.incremental.items() if not rows]
    assert not empty, "the story leaves read models untested"


def test_pages_applied_at_once_write_the_rows_of_events_applied_one_by_one(year: Year) -> None:
    projections = every_read_model()
    forget(year.db, projections)
    Runner(year.app, year.db, projections).catch_up(page=1000, batched=True)
    assert snapshot(year.db, projections) == year.incremental


def test_a_rebuild_in_two_processes_equals_the_read_models_kept_as_the_log_grew(year: Year) -> None:
    projections = every_read_model()
    runner = Runner(year.app, year.db, projections)
    assert len(runner._groups()) == 2, "the rebuild would not use a second process"
    applied = runner.rebuild()
    assert snapshot(year.db, projections) == year.incremental
    assert applied == len(projections) * len(year.incremental["gk_merkle_leaves"])  # one per event


def test_the_two_groups_are_the_split_of_least_cost(year: Year) -> None:
    projections = every_read_model()
    here, there = Runner(year.app, year.db, projections)._groups()
    assert sorted(p.name for p in here + there) == sorted(p.name for p in projections)
    assert here[0].name == "tracing"  # the costliest is built in this process

    def cost(group: list[Projection]) -> int:
        return sum(int(getattr(p, "rebuild_cost", 1)) for p in group)

    splits = itertools.product((0, 1), repeat=len(projections))
    least = min(max(cost([p for p, s in zip(projections, side, strict=True) if s == n]) for n in (0, 1))
                for side in splits)  # fmt: skip
    assert max(cost(here), cost(there)) == least


# --- failures ------------------------------------------------------------------------------


class BrokenFlows(FlowsProjection):
    """Flows whose rebuild fails half-way through the log (on purpose); module-level, so the
    child process that rebuilds it can import it."""

    rebuild_cost = 1

    def apply_page(self, cursor: Any, events: Events) -> None:
        super().apply_page(cursor, events)
        if any(position > 3000 for _, position in events):
            raise RuntimeError("the disk filled up")


@pytest.mark.parametrize("where", ["this process", "the other process"])
def test_a_rebuild_that_fails_in_either_process_leaves_the_old_read_models(year: Year, where: str) -> None:
    # The costlier group is rebuilt here, the other one in the child process.
    broken: list[Projection] = [BrokenFlows(), DisclosureProjection()]
    if where == "the other process":
        broken = [TracingProjection(), BrokenFlows()]
    runner = Runner(year.app, year.db, broken)
    group = runner._groups()[0 if where == "this process" else 1]
    assert [p.name for p in group] == ["flows"]
    before = snapshot(year.db, broken)
    with pytest.raises(RuntimeError, match="the disk filled up"):
        runner.rebuild()
    assert snapshot(year.db, broken) == before


def test_a_rebuild_that_fails_while_swapping_in_leaves_the_old_read_models(
    year: Year, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Some read models' new rows are in place when the transaction fails: all are rolled back.
    projections = every_read_model()
    runner = Runner(year.app, year.db, projections)
    before = snapshot(year.db, projections)
    calls: list[str] = []
    real = runner_module._set_position

    def fail_the_third(target: Any, projection: Projection, source: Any) -> None:
        calls.append(projection.name)
        if len(calls) == 3:
            raise RuntimeError("the connection dropped")
        real(target, projection, source)

    monkeypatch.setattr(runner_module, "_set_position", fail_the_third)
    with pytest.raises(RuntimeError, match="the connection dropped"):
        runner.rebuild()
    assert snapshot(year.db, projections) == before
    assert staging_schemas(year.db) == []


def test_a_rebuild_keeps_each_table_s_keys_and_indexes_and_its_readers_find_it(year: Year) -> None:
    projections = every_read_model()
    runner = Runner(year.app, year.db, projections)
    tables = [t for p in projections for t in p.tables]
    before = indexes(year.db, tables)
    reader = Database(year.db.url)  # another session, its statement prepared (PostgreSQL)
    try:
        counted = [reader.query("SELECT COUNT(*) FROM gk_flows WHERE position > ?", (0,)) for _ in range(8)]
        runner.rebuild()
        assert reader.query("SELECT COUNT(*) FROM gk_flows WHERE position > ?", (0,)) == counted[-1]
    finally:
        reader.close()
    assert indexes(year.db, tables) == before
    Runner(year.app, year.db, projections)  # ``create`` again (a restart) adds no second index
    assert indexes(year.db, tables) == before
    assert staging_schemas(year.db) == []
    assert snapshot(year.db, projections) == year.incremental


def indexes(db: Database, tables: list[str]) -> list[tuple[Any, ...]]:
    """Every index (and key) of ``tables``: table, name and what it indexes."""
    names = ", ".join(f"'{t}'" for t in tables)
    if db.dialect == "sqlite":
        return sorted(db.query(f"SELECT tbl_name, name, sql FROM sqlite_master WHERE type = 'index' "
                               f"AND tbl_name IN ({names})"))  # fmt: skip
    return sorted(db.query(f"SELECT tablename, indexname, indexdef FROM pg_indexes "
                           f"WHERE schemaname = current_schema() AND tablename IN ({names})"))  # fmt: skip


def staging_schemas(db: Database) -> list[tuple[Any, ...]]:
    """PostgreSQL schemas a rebuild left behind (none, ever)."""
    if db.dialect == "sqlite":
        return []
    return db.query("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, 'gk_rebuild_')")
