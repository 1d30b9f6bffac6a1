"""Runs read-model projections over the ledger's notification log, exactly once.

Each projection records its position in ``gk_tracking`` in the same transaction as its rows,
so after a crash it resumes where the last committed batch ended, and two runners never apply
an event twice (the transaction holds the write lock, and re-reads the position inside it).
Notifications are pulled in pages after the position: the whole log is never in memory.
``rebuild`` drops a projection's rows and replays from zero, a page at a time.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol

from ledger.application import Ledger
from projections.sql import Database

TRACKING_DDL = "CREATE TABLE IF NOT EXISTS gk_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
REBUILD_PAGE = 1000

# A page of decoded events with their positions in the log, in log order.
Events = Sequence[tuple[DomainEventProtocol[Any], int]]


class Projection(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def tables(self) -> Sequence[str]: ...

    def create(self, cursor: Any, dialect: str) -> None: ...
    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None: ...


# A projection may also have ``begin(cursor)``, called at the start of each page before any
# event of it, and ``apply_page(cursor, events)``: the page's events at once, to the same
# rows as ``apply`` on each in turn, in fewer statements. Batched catch-ups (``rebuild``) call
# it; a projection without it gets ``apply`` per event.


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
        batched: bool = False,
    ) -> int:
        """Apply every notification not yet applied (up to ``stop``); return how many
        applications were made (a notification applied to three read models counts three).

        ``batched``: each read model takes the page at once (``apply_page``, when it has one)
        instead of event by event: the same rows, in far fewer statements."""
        applied = 0
        while True:
            count, pulled = self._page(page, stop, batched=batched)
            applied += count
            if progress and count:
                progress(count)
            if pulled < page:
                return applied

    def _page(self, page: int, stop: int | None = None, *, batched: bool = False) -> tuple[int, int]:
        """One page of the log, applied to every read model not yet past it, in one transaction.

        Read models at the same position go through the log together, so each record is read
        and decoded once, not once per read model; one that is ahead skips what it has. On
        PostgreSQL the page is pipelined: statements go out without waiting for each answer
        until a row is read back (the read models mostly write).
        """
        with self.db.transaction(pipelined=True) as cursor:
            positions = self._lock(cursor)
            behind = [p for p in self.projections if stop is None or positions[p.name] < stop]
            if not behind:
                return 0, 0
            for projection in behind:
                begin = getattr(projection, "begin", None)
                if begin is not None:
                    begin(cursor)
            notifications = self.app.recorder.select_notifications(
                start=min(positions[p.name] for p in behind) + 1, limit=page, stop=stop
            )
            applied = 0
            if batched:
                events = [(self.app.mapper.to_domain_event(n), n.id) for n in notifications]
                for projection in behind:
                    after = positions[projection.name]
                    mine = [e for e in events if e[1] > after] if events and events[0][1] <= after else events
                    apply_page = getattr(projection, "apply_page", None)
                    if apply_page is not None:
                        apply_page(cursor, mine)
                    else:
                        for event, position in mine:
                            projection.apply(cursor, event, position)
                    applied += len(mine)
            else:
                for notification in notifications:
                    event = self.app.mapper.to_domain_event(notification)
                    for projection in behind:
                        if notification.id > positions[projection.name]:
                            projection.apply(cursor, event, notification.id)
                            applied += 1
            if notifications:
                last = notifications[-1].id
                for projection in behind:
                    if last > positions[projection.name]:
                        cursor.execute(
                            "UPDATE gk_tracking SET position = ? WHERE name = ?", (last, projection.name)
                        )
            return applied, len(notifications)

    def _lock(self, cursor: Any) -> dict[str, int]:
        """The read models' positions, read inside the transaction that holds the write lock
        (a row lock on each tracking row on PostgreSQL, taken in name order)."""
        names = sorted({p.name for p in self.projections})
        lock = " FOR UPDATE" if self.db.dialect == "postgresql" else ""
        cursor.execute(
            f"SELECT name, position FROM gk_tracking WHERE name IN ({', '.join('?' for _ in names)}) "
            f"ORDER BY name{lock}",
            names,
        )
        positions = {str(row[0]): int(row[1]) for row in cursor.fetchall()}
        return {name: positions.get(name, 0) for name in names}

    def rebuild(self, *, progress: Callable[[int], None] | None = None) -> int:
        """Drop every read model's rows and apply the whole log again; return the applications.

        The log is applied a page at a time (``batched``). On PostgreSQL it is applied to a
        scratch SQLite file first (the read models' SQL is the same on both) and the finished
        tables are loaded with ``COPY`` in one transaction: replaying a million events
        statement by statement over the network costs a round trip each, while the scratch
        file costs none. Readers see the old read models until the new ones commit, never a
        half-built one.
        """
        if self.db.dialect == "postgresql":
            return self._rebuild_through_scratch(progress)
        with self.db.transaction() as cursor:
            for projection in self.projections:
                for table in projection.tables:
                    cursor.execute(f"DELETE FROM {table}")  # names are the projections' own
                cursor.execute("UPDATE gk_tracking SET position = 0 WHERE name = ?", (projection.name,))
        return self.catch_up(page=REBUILD_PAGE, progress=progress, batched=True)

    def _rebuild_through_scratch(self, progress: Callable[[int], None] | None) -> int:
        with tempfile.TemporaryDirectory(prefix="gongkai-rebuild-") as folder:
            scratch = Database(f"sqlite:///{Path(folder) / 'read-models.db'}")
            try:
                scratch.tune_for_scratch()
                runner = Runner(self.app, scratch, self.projections)
                applied = runner.catch_up(page=REBUILD_PAGE, progress=progress, batched=True)
                with scratch.read() as source, self.db.transaction() as target:
                    self._lock(target)
                    for projection in self.projections:
                        for table in projection.tables:
                            target.execute(f"DELETE FROM {table}")  # names are the projections' own
                            source.execute(f"SELECT * FROM {table}")
                            columns = [column[0] for column in source.description]
                            target.copy_rows(table, columns, iter(source.fetchone, None))
                        source.execute("SELECT position FROM gk_tracking WHERE name = ?",
                                       (projection.name,))  # fmt: skip
                        target.execute("UPDATE gk_tracking SET position = ? WHERE name = ?",
                                       (int(source.fetchone()[0]), projection.name))  # fmt: skip
            finally:
                scratch.close()
        # Whatever was recorded while the scratch copy was built.
        return applied + self.catch_up(progress=progress)
