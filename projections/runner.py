"""Runs read-model projections over the ledger's notification log, exactly once.

Each projection records its position in ``gk_tracking`` in the same transaction as its rows,
so after a crash it resumes where the last committed batch ended, and two runners never apply
an event twice (the transaction holds the write lock, and re-reads the position inside it).
Notifications are pulled in pages after the position: the whole log is never in memory.
``rebuild`` drops a projection's rows and replays from zero.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol

from ledger.application import Ledger
from projections.sql import Database

TRACKING_DDL = "CREATE TABLE IF NOT EXISTS gk_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"


class Projection(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tables(self) -> Sequence[str]: ...

    def create(self, cursor: Any, dialect: str) -> None: ...
    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None: ...


class Runner:
    def __init__(self, app: Ledger, db: Database, projections: Sequence[Projection]) -> None:
        self.app = app
        self.db = db
        self.projections = list(projections)
        with self.db.transaction() as cursor:
            cursor.execute(TRACKING_DDL)
            for projection in self.projections:
                projection.create(cursor, db.dialect)
                cursor.execute(
                    "INSERT INTO gk_tracking (name, position) VALUES (?, 0) "
                    "ON CONFLICT (name) DO NOTHING",
                    (projection.name,),
                )

    def position(self, projection: Projection) -> int:
        rows = self.db.query("SELECT position FROM gk_tracking WHERE name = ?", (projection.name,))
        return int(rows[0][0]) if rows else 0

    def catch_up(
        self,
        *,
        page: int = 1000,
        stop: int | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Apply every notification not yet applied (up to ``stop``); return how many."""
        applied = 0
        for projection in self.projections:
            while True:
                count = self._page(projection, page, stop)
                applied += count
                if progress and count:
                    progress(count)
                if count < page:
                    break
        return applied

    def _page(self, projection: Projection, page: int, stop: int | None = None) -> int:
        with self.db.transaction() as cursor:
            lock = " FOR UPDATE" if self.db.dialect == "postgresql" else ""
            cursor.execute(f"SELECT position FROM gk_tracking WHERE name = ?{lock}", (projection.name,))
            position = int(cursor.fetchone()[0])
            begin = getattr(projection, "begin", None)
            if begin is not None:
                begin(cursor)
            if stop is not None and position >= stop:
                return 0
            notifications = self.app.recorder.select_notifications(
                start=position + 1, limit=page, stop=stop
            )
            for notification in notifications:
                event = self.app.mapper.to_domain_event(notification)
                projection.apply(cursor, event, notification.id)
                position = notification.id
            if notifications:
                cursor.execute(
                    "UPDATE gk_tracking SET position = ? WHERE name = ?", (position, projection.name)
                )
            return len(notifications)

    def rebuild(self) -> int:
        with self.db.transaction() as cursor:
            for projection in self.projections:
                for table in projection.tables:
                    cursor.execute(f"DELETE FROM {table}")  # names are the projections' own
                cursor.execute("UPDATE gk_tracking SET position = 0 WHERE name = ?", (projection.name,))
        return self.catch_up()
