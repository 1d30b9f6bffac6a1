"""The site's read models kept between publishes (``kept_as_of``): after new events, the kept
store caught up is exactly the store rebuilt from zero at the same size; a store built over
another log, or past the size asked for, is rebuilt rather than used."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from projections.merkle_log import MerkleProjection, tree_size
from projections.replay import kept_as_of, scratch_as_of
from projections.runner import Runner
from projections.sql import Database
from publish.site import site_projections
from tests.builders import Town, allocation, disbursement, money_donation


@pytest.fixture
def live(town: Town, database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    yield db
    db.close()


def grow(town: Town, live: Database, n: int) -> int:
    """``n`` more payments (and their funding), the live Merkle log caught up; its size."""
    receipt = f"R2026-{9000 + town.position()}"
    town.submit(town.recorder, "donation.receive", money_donation(100_000 * n, receipt_no=receipt))
    town.submit(town.recorder, "allocation.make", allocation(100_000 * n))
    for i in range(n):
        town.submit(
            town.recorder, "disbursement.make", disbursement(1_000 + i, recipient=f"R-K{n}P{i}X")
        )
    Runner(town.app, live, [MerkleProjection()]).catch_up()
    return tree_size(live)


def tables(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    names = [t for p in site_projections() for t in p.tables] + ["gk_tracking"]
    return {name: sorted(db.query(f"SELECT * FROM {name}"), key=repr) for name in names}


def from_zero(town: Town, live: Database, size: int) -> dict[str, list[tuple[Any, ...]]]:
    with scratch_as_of(town.app, live, size, site_projections()) as db:
        return tables(db)


def test_a_kept_store_caught_up_equals_one_rebuilt_from_zero(
    town: Town, live: Database, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.db"
    first = grow(town, live, 3)
    with kept_as_of(town.app, live, first, site_projections(), kept) as db:
        assert tables(db) == from_zero(town, live, first)
    second = grow(town, live, 4)
    with kept_as_of(town.app, live, second, site_projections(), kept) as db:
        assert tables(db) == from_zero(town, live, second)


def test_a_store_past_the_size_asked_for_is_rebuilt(
    town: Town, live: Database, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.db"
    first = grow(town, live, 2)
    second = grow(town, live, 2)
    with kept_as_of(town.app, live, second, site_projections(), kept):
        pass
    with kept_as_of(town.app, live, first, site_projections(), kept) as db:  # publish --as-of
        assert tables(db) == from_zero(town, live, first)


def test_a_store_built_over_another_log_is_rebuilt(
    town: Town, live: Database, tmp_path: Path
) -> None:
    kept = tmp_path / "kept.db"
    size = grow(town, live, 2)
    # As if it had been built over another log: another root, other rows.
    with (
        kept_as_of(town.app, live, size, site_projections(), kept) as db,
        db.transaction() as cursor,
    ):
        cursor.execute("UPDATE gk_kept_as_of SET root = ?", (b"\x00" * 32,))
        cursor.execute("DELETE FROM gk_flows")
    with kept_as_of(town.app, live, size, site_projections(), kept) as db:
        assert tables(db) == from_zero(town, live, size)


def test_an_unreadable_store_is_rebuilt(town: Town, live: Database, tmp_path: Path) -> None:
    kept = tmp_path / "kept.db"
    kept.write_bytes(b"not a database at all" * 100)
    size = grow(town, live, 2)
    with kept_as_of(town.app, live, size, site_projections(), kept) as db:
        assert tables(db) == from_zero(town, live, size)
