"""Runs read-model projections over the ledger's notification log, exactly once.

Each projection records its position in ``gk_tracking`` in the same transaction as its rows,
so after a crash it resumes where the last committed batch ended, and two runners never apply
an event twice (the transaction holds the write lock, and re-reads the position inside it).
Notifications are pulled in pages after the position: the whole log is never in memory.
``rebuild`` replays the log from zero into scratch files and swaps the new rows in at once.
"""

from __future__ import annotations

import gc
import multiprocessing
import secrets
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.popo import POPOApplicationRecorder

from ledger.application import Ledger
from ledger.commands import read_payload
from projections.sql import Database

TRACKING_DDL = "CREATE TABLE IF NOT EXISTS gk_tracking (name TEXT PRIMARY KEY, position BIGINT NOT NULL)"
REBUILD_PAGE = 1000

# A page of decoded events with their positions in the log, in log order.
Events = Sequence[tuple[DomainEventProtocol[Any], int]]


def signed_payloads(events: Events) -> Iterator[tuple[DomainEventProtocol[Any], dict[str, Any], int]]:
    """A page's events with their signed payloads (parsed once, ``read_payload``) and positions."""
    for event, position in events:
        signed = getattr(event, "signed", None)
        if signed is None:  # pragma: no cover - every ledger event is signed
            continue
        yield event, read_payload(signed), position


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
# it; a projection without it gets ``apply`` per event. And ``rebuild_cost``: its share of a
# rebuild's work, by which ``rebuild`` splits the projections between processes (measured in
# tenths of a second of CPU per 100,000 events of the demo year, beyond reading and decoding
# the log, as found by timing groups of read models built together, which cost more than
# each built alone; default 1, a read model that does next to nothing). And ``finish(cursor)``:
# called once a catch-up has applied all there is (indexes are best built over the rows at
# once, not kept up row by row from zero; ``rebuild`` does not call it).


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
        finish: bool = True,
    ) -> int:
        """Apply every notification not yet applied (up to ``stop``); return how many
        applications were made (a notification applied to three read models counts three).
        Then each read model's ``finish`` (unless ``finish`` is false: a rebuild's scratch).

        ``batched``: each read model takes the page at once (``apply_page``, when it has one)
        instead of event by event: the same rows, in far fewer statements."""
        applied = 0
        while True:
            count, pulled = self._page(page, stop, batched=batched)
            applied += count
            if progress and count:
                progress(count)
            if pulled < page:
                if finish:
                    self._finish()
                return applied

    def _finish(self) -> None:
        """Each read model's ``finish``, if it has one, once caught up (in one transaction)."""
        finishers = [f for p in self.projections if (f := getattr(p, "finish", None)) is not None]
        if finishers:
            with self.db.transaction() as cursor:
                for finish in finishers:
                    finish(cursor)

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

    def rebuild(self, *, progress: Callable[[int], None] | None = None, stop: int | None = None) -> int:
        """Apply the whole log again to every read model (up to ``stop``, a notification id,
        if given); return the applications.

        The log up to its current end is applied, a page at a time (``batched``), to scratch
        SQLite files (no journal, no fsync; the read models' SQL is the same on both backends):
        the read models are split in two groups of similar cost, one applied in this process,
        the other in a child process at the same time, each group to its own file. Then, in
        **one transaction** of the target database, every read model's rows are replaced by
        the scratch files' and its position set, and what was recorded meanwhile is caught up.
        SQLite: ``ATTACH`` and ``INSERT ... SELECT``. PostgreSQL: each process first loads its
        group's rows (binary ``COPY``) into new tables in a staging schema of this rebuild's
        own, which no reader sees, and builds their keys and indexes after the load, both
        processes at once; the transaction then only drops the old tables and moves the new
        ones (with their indexes, under the same names) into the read models' schema. So the
        rebuild is whole or nothing: readers see the old read models until the new ones
        commit, never a half-built one, and a failure anywhere (in either process) leaves the
        old ones as they were (the staging schema is dropped whatever happens). An in-memory
        ledger (or a single read model) is rebuilt in this process alone, the same way. The
        child process is started with ``spawn``, which imports the main module again: a script
        that calls ``rebuild`` needs its ``if __name__ == "__main__":`` guard (the CLI and
        ``python -m benchmarks`` have one).
        """
        given, end = stop, self.app.recorder.max_notification_id() or 0
        stop = end if given is None else min(given, end)
        groups = self._groups()
        with tempfile.TemporaryDirectory(prefix="gongkai-rebuild-") as folder, self._staging() as staging:
            files = [Path(folder) / f"read-models-{n}.db" for n in range(len(groups))]
            if len(groups) == 1:
                applied = _build_scratch(self.app, files[0], groups[0], stop, progress, staging)
            else:
                spawn = multiprocessing.get_context("spawn")
                with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
                    child = pool.submit(_build_scratch_from_env, type(self.app), dict(self.app.env),
                                        files[1], groups[1], stop, staging)  # fmt: skip
                    applied = _build_scratch(self.app, files[0], groups[0], stop, progress, staging)
                    elsewhere = child.result()  # raises what the child raised
                if progress and elsewhere:
                    progress(elsewhere)
                applied += elsewhere
            built = list(zip(files, groups, strict=True))
            if staging is None:
                self._swap_in(built)
            else:
                self._move_in(built, staging[1])
        # Whatever was recorded while the scratch files were built (up to ``stop``, if given).
        return applied + self.catch_up(progress=progress, stop=given)

    @contextmanager
    def _staging(self) -> Iterator[tuple[str, str] | None]:
        """PostgreSQL: a new, empty schema for this rebuild's tables (the database's URL and
        the schema's name), dropped with whatever is left in it at the end; SQLite: None."""
        if self.db.dialect != "postgresql":
            yield None
            return
        schema = f"gk_rebuild_{secrets.token_hex(6)}"
        with self.db.transaction() as cursor:
            cursor.execute(f"CREATE SCHEMA {schema}")
        try:
            yield self.db.url, schema
        finally:
            with self.db.transaction() as cursor:
                cursor.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def _groups(self) -> list[list[Projection]]:
        """The read models in two groups of similar cost, or one when a second process could
        not read the log (an in-memory ledger) or there is nothing to split."""
        recorder = self.app.recorder
        in_memory = isinstance(recorder, POPOApplicationRecorder) or ":memory:" in str(
            self.app.env.get("SQLITE_DBNAME", "")
        )
        if in_memory or len(self.projections) < 2:
            return [list(self.projections)]
        # A read model that reads another's rows as they are written (``built_with``: its
        # name) is built in the same process, after it: the two are one unit to split.
        units: dict[str, list[Projection]] = {}
        for projection in self.projections:
            units.setdefault(getattr(projection, "built_with", None) or projection.name, []).append(projection)
        if len(units) < 2:
            return [list(self.projections)]
        # The split whose costlier group costs least (every split is tried: read models are
        # few), the costliest unit in this process's group.
        def cost_of(unit: list[Projection]) -> int:
            return sum(int(getattr(p, "rebuild_cost", 1)) for p in unit)

        ordered = sorted(units.values(), key=lambda unit: -cost_of(unit))
        costs = [cost_of(unit) for unit in ordered]
        best, best_cost = (1 << len(ordered)) - 1, sum(costs)  # all here, to begin with
        for mask in range(1 << (len(ordered) - 1)):
            here = 1 | mask << 1  # bit n: the n-th costliest read model is built here
            cost = sum(c for n, c in enumerate(costs) if here >> n & 1)
            worst = max(cost, sum(costs) - cost)
            if worst < best_cost:
                best, best_cost = here, worst
        groups = (
            [p for n, unit in enumerate(ordered) if best >> n & 1 for p in unit],
            [p for n, unit in enumerate(ordered) if not best >> n & 1 for p in unit],
        )
        return [group for group in groups if group]  # a unit's read models in the order given

    def _swap_in(self, built: Sequence[tuple[Path, Sequence[Projection]]]) -> None:
        """SQLite: replace every read model's rows and position by its scratch file's, in one
        transaction."""
        sources = [(Database(f"sqlite:///{path}"), group) for path, group in built]
        schemas = [f"scratch{n}" for n in range(len(built))]
        try:
            files = [(path, schema) for (path, _), schema in zip(built, schemas, strict=True)]
            with self.db.attached(files), self.db.transaction() as target:
                for (scratch, group), schema in zip(sources, schemas, strict=True):
                    with scratch.read() as source:
                        for projection in group:
                            for table in projection.tables:
                                target.execute(f"DELETE FROM main.{table}")  # the projections' own names
                                target.execute(_copy_statement(target, table, schema))
                            _set_position(target, projection, source)
        finally:
            for scratch, _ in sources:
                scratch.close()

    def _move_in(self, built: Sequence[tuple[Path, Sequence[Projection]]], staging: str) -> None:
        """PostgreSQL: in one short transaction, drop every read model's table and move its
        staged copy (loaded and indexed by ``_stage``) into the read models' schema in its place,
        and set each read model's position to its scratch file's."""
        with self.db.transaction() as target:
            self._lock(target)
            target.execute("SELECT current_schema()")
            home = _identifier(str(target.fetchone()[0]))
            for path, group in built:
                scratch = Database(f"sqlite:///{path}")
                try:
                    with scratch.read() as source:
                        for projection in group:
                            for table in projection.tables:  # names are the projections' own
                                target.execute(f"DROP TABLE {home}.{table}")
                                target.execute(f"ALTER TABLE {staging}.{table} SET SCHEMA {home}")
                            _set_position(target, projection, source)
                finally:
                    scratch.close()


def _copy_statement(cursor: Any, table: str, schema: str) -> str:
    """``INSERT ... SELECT`` of a scratch table into the emptied target table. When both have
    the same columns in the same order it is ``SELECT *``, which SQLite copies page by page
    with its indexes (its transfer optimisation) instead of inserting row by row."""
    cursor.execute(f"PRAGMA main.table_info({table})")
    target = [str(row[1]) for row in cursor.fetchall()]
    cursor.execute(f"PRAGMA {schema}.table_info({table})")
    source = [str(row[1]) for row in cursor.fetchall()]
    if source == target:
        return f"INSERT INTO main.{table} SELECT * FROM {schema}.{table}"
    names = ", ".join(source)
    return f"INSERT INTO main.{table} ({names}) SELECT {names} FROM {schema}.{table}"


def _set_position(target: Any, projection: Projection, source: Any) -> None:
    """The read model's position in the target: where the scratch file's copy of it stopped."""
    source.execute("SELECT position FROM gk_tracking WHERE name = ?", (projection.name,))
    position = int(source.fetchone()[0])
    target.execute("UPDATE gk_tracking SET position = ? WHERE name = ?", (position, projection.name))


def _build_scratch(
    app: Ledger,
    path: Path,
    projections: Sequence[Projection],
    stop: int,
    progress: Callable[[int], None] | None = None,
    staging: tuple[str, str] | None = None,
) -> int:
    """Apply the log up to ``stop`` to ``projections`` in a new scratch SQLite file; with
    ``staging`` (a PostgreSQL URL and schema), then load their rows there (``_stage``)."""
    scratch = Database(f"sqlite:///{path}")
    # The cyclic collector would walk every page's fresh events and rows again and again for
    # nothing: they make no cycles and are freed by reference counts.
    collecting = gc.isenabled()
    gc.disable()
    try:
        scratch.tune_for_scratch()
        runner = Runner(app, scratch, projections)
        applied = runner.catch_up(page=REBUILD_PAGE, stop=stop, progress=progress, batched=True, finish=False)
    finally:
        if collecting:
            gc.enable()
        scratch.close()
    if staging is not None:
        _stage(path, projections, *staging)
    return applied


def _stage(path: Path, projections: Sequence[Projection], url: str, schema: str) -> None:
    """The scratch file's rows of ``projections`` in new tables of the PostgreSQL ``schema``,
    made by the read models' own ``create`` there, so with the same columns, keys and index
    names as their live tables: loaded by binary ``COPY`` with their keys and indexes dropped,
    which are then built again over the loaded rows (faster than row by row as they load), and
    analysed."""
    target, scratch = Database(url), Database(f"sqlite:///{path}")
    try:
        with target.transaction() as cursor, scratch.read() as source:
            cursor.execute(f"SET LOCAL search_path TO {schema}")  # where ``create`` makes tables
            for projection in projections:
                projection.create(cursor, "postgresql")
                tables = list(projection.tables)
                cursor.execute(
                    "SELECT t.relname, c.conname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                    "JOIN pg_class t ON t.oid = c.conrelid JOIN pg_namespace n ON n.oid = t.relnamespace "
                    "WHERE n.nspname = ? AND t.relname = ANY(?) AND c.contype IN ('p', 'u', 'x') "
                    "ORDER BY c.oid",
                    (schema, tables),
                )
                keys = [(str(r[0]), str(r[1]), str(r[2])) for r in cursor.fetchall()]
                cursor.execute(
                    "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
                    "JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid "
                    "JOIN pg_namespace n ON n.oid = t.relnamespace WHERE n.nspname = ? "
                    "AND t.relname = ANY(?) AND NOT EXISTS "
                    "(SELECT 1 FROM pg_constraint c WHERE c.conindid = i.oid) ORDER BY i.oid",
                    (schema, tables),
                )
                indexes = [(str(r[0]), str(r[1])) for r in cursor.fetchall()]
                for name, _ in indexes:
                    cursor.execute(f"DROP INDEX {_identifier(name)}")
                for table, name, _ in keys:
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {_identifier(name)}")
                for table in tables:
                    source.execute(f"SELECT * FROM {table}")
                    columns = [column[0] for column in source.description]
                    cursor.copy_rows(table, columns, source)  # row by row, as read
                for table, name, definition in keys:
                    cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {_identifier(name)} {definition}")
                for _, definition in indexes:
                    cursor.execute(definition)
                for table in tables:  # the planner's statistics, before any reader's first query
                    cursor.execute(f"ANALYZE {table}")
    finally:
        scratch.close()
        target.close()


def _identifier(name: str) -> str:
    """A PostgreSQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def _build_scratch_from_env(
    kind: type[Ledger],
    env: dict[str, str],
    path: Path,
    projections: Sequence[Projection],
    stop: int,
    staging: tuple[str, str] | None = None,
) -> int:
    """``_build_scratch`` in a child process, reading the log through a ledger of its own."""
    app = kind(env=env)
    try:
        return _build_scratch(app, path, projections, stop, staging=staging)
    finally:
        app.close()
