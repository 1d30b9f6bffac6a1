"""Rows a read model has decided on but not yet written, written with one ``executemany`` each.

A read model applying a page of events (``apply_page``) adds its writes here and writes them
when the page ends, or sooner, before any statement that must see them: SQLite and PostgreSQL
then run one prepared statement over many rows instead of one call per row. Statements are
written in the order each was first added, and each one's rows in the order they were added.
It must never hold a write that a later statement of the same page depends on unflushed: the
read model calls ``flush`` before any other statement that reads or changes those tables.
"""

from __future__ import annotations

from typing import Any

from projections.sql import Params


class PendingRows:
    def __init__(self, cursor: Any) -> None:
        self.cursor = cursor
        self._rows: dict[str, list[Params]] = {}

    def add(self, sql: str, params: Params) -> None:
        rows = self._rows.get(sql)
        if rows is None:
            self._rows[sql] = [params]
        else:
            rows.append(params)

    def flush(self) -> None:
        for sql, rows in self._rows.items():
            self.cursor.executemany(sql, rows)
        self._rows.clear()
