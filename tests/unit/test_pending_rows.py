"""Pending rows: nothing reaches the table before ``flush``; then each statement's rows are
written in the order they were added, statements in the order each was first added."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from projections.pending_rows import PendingRows

INSERT = "INSERT INTO log (n, what) VALUES (?, ?)"
BUMP = "UPDATE log SET what = what || '+' WHERE n = ?"


@pytest.fixture
def cursor() -> Iterator[sqlite3.Cursor]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE log (seq INTEGER PRIMARY KEY, n INTEGER, what TEXT)")
    yield connection.cursor()
    connection.close()


def rows(cursor: sqlite3.Cursor) -> list[tuple[int, str]]:
    return [(int(n), str(what)) for n, what in cursor.execute("SELECT n, what FROM log ORDER BY seq")]


def test_nothing_is_written_before_flush(cursor: sqlite3.Cursor) -> None:
    pending = PendingRows(cursor)
    pending.add(INSERT, (1, "a"))
    assert rows(cursor) == []
    pending.flush()
    assert rows(cursor) == [(1, "a")]


def test_rows_are_written_in_the_order_added_statement_by_statement(cursor: sqlite3.Cursor) -> None:
    pending = PendingRows(cursor)
    for n, what in [(1, "a"), (2, "b"), (3, "c")]:
        pending.add(INSERT, (n, what))
    pending.add(BUMP, (2,))
    pending.add(INSERT, (4, "d"))
    pending.flush()
    # Every insert first (the statement first added), then the update over the rows it finds.
    assert rows(cursor) == [(1, "a"), (2, "b+"), (3, "c"), (4, "d")]


def test_a_flush_empties_the_pending_rows(cursor: sqlite3.Cursor) -> None:
    pending = PendingRows(cursor)
    pending.add(INSERT, (1, "a"))
    pending.flush()
    pending.flush()
    assert rows(cursor) == [(1, "a")]
