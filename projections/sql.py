"""A thin, dialect-aware SQL connection for read models (SQLite file or PostgreSQL).

Read models live in the same database as the events. SQL is written once with ``?``
placeholders and portable statements (``INSERT ... ON CONFLICT``); ``Database`` converts the
placeholders for psycopg. ``transaction()`` takes the write lock (``BEGIN IMMEDIATE`` on SQLite,
a row lock on the tracking row on PostgreSQL) so two runners never apply the same event twice.
A PostgreSQL connection that the server dropped (a restart) is replaced on the next use: the
statement that found it broken fails, the ones after it work again once the server is back.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any, Protocol

import psycopg

from projections.store import database_env

Params = Sequence[Any]


class Cursor(Protocol):
    def execute(self, sql: str, params: Params = ()) -> Any: ...
    def executemany(self, sql: str, rows: Sequence[Params]) -> Any: ...
    def fetchone(self) -> Any: ...
    def fetchall(self) -> list[Any]: ...


class _PgCursor:
    def __init__(self, cursor: psycopg.Cursor[Any], *, pipelined: bool = False) -> None:
        self._cursor = cursor
        self._pipelined = pipelined

    def execute(self, sql: str, params: Params = ()) -> Any:
        if self._pipelined:
            # In a pipeline a cursor may hold an earlier statement's result when a later one is
            # fetched (psycopg then says "the last operation didn't produce records"): one
            # cursor per statement, so each fetch waits for its own statement's rows.
            self._cursor = self._cursor.connection.cursor()
        return self._cursor.execute(sql.replace("?", "%s"), list(params))

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        self._cursor.executemany(sql.replace("?", "%s"), rows)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """Load rows with ``COPY ... FROM STDIN`` in binary format, each value sent as its
        column's type (read from the catalogue), which the server need not parse; names are
        the read models' own, never input. Returns the count."""
        self._cursor.execute(
            "SELECT column_name, udt_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND table_name = %s",
            [table],
        )
        types = {str(name): str(kind) for name, kind in self._cursor.fetchall()}
        count = 0
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with self._cursor.copy(statement) as copy:
            copy.set_types([types[column] for column in columns])
            for row in rows:
                copy.write_row(row)
                count += 1
        return count

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()


class Scan(Protocol):
    def execute(self, sql: str, params: Params = ()) -> None: ...
    def __iter__(self) -> Iterator[tuple[Any, ...]]: ...


class _SqliteScan:
    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Params = ()) -> None:
        self._cursor.execute(sql, params)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._cursor)


class _PgScan:
    def __init__(self, cursor: psycopg.ServerCursor[Any]) -> None:
        cursor.itersize = 2000
        self._cursor = cursor

    def execute(self, sql: str, params: Params = ()) -> None:
        self._cursor.execute(sql.replace("?", "%s"), list(params))

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self._cursor)


class Database:
    """One connection to the ledger's database for read models."""

    def __init__(self, url: str) -> None:
        env = database_env(url)
        self.url = url
        self.dialect = "postgresql" if "POSTGRES_DBNAME" in env else "sqlite"
        if self.dialect == "sqlite":
            self._sqlite = sqlite3.connect(
                env["SQLITE_DBNAME"], isolation_level=None, timeout=30, check_same_thread=False
            )
        else:
            self._conninfo = _pg_conninfo(env)
            self._pg = self._connect()

    def _connect(self) -> psycopg.Connection[Any]:
        connection = psycopg.connect(self._conninfo, autocommit=False, connect_timeout=5)
        # Never wait forever behind another session (a runner holds its tracking-row lock).
        connection.execute("SET lock_timeout = '30s'")
        connection.commit()
        return connection

    def _connection(self) -> psycopg.Connection[Any]:
        if self._pg.closed or self._pg.broken:
            self._pg = self._connect()
        return self._pg

    def tune_for_scratch(self) -> None:
        """A throwaway SQLite file (a rebuild's scratch copy): no journal, no fsync."""
        if self.dialect == "sqlite":
            self._sqlite.execute("PRAGMA journal_mode = OFF")
            self._sqlite.execute("PRAGMA synchronous = OFF")
            self.tune_for_bulk()

    def tune_for_bulk(self) -> None:
        """SQLite: a page cache of up to 128 MB (the default is 2 MB), for read models built from
        zero, whose indexes (by source, by move…) take their rows in no useful order."""
        if self.dialect == "sqlite":
            self._sqlite.execute("PRAGMA cache_size = -131072")

    @contextmanager
    def attached(self, files: Sequence[tuple[Path, str]]) -> Iterator[None]:
        """SQLite: other database files attached as these schemas meanwhile (``ATTACH`` cannot
        run inside a transaction, so this wraps one); schema names are the caller's own."""
        if self.dialect != "sqlite":
            raise ValueError("only a SQLite database can attach files")
        done: list[str] = []
        try:
            for path, schema in files:
                self._sqlite.execute(f"ATTACH DATABASE ? AS {schema}", (str(path),))
                done.append(schema)
            yield
        finally:
            for schema in done:
                self._sqlite.execute(f"DETACH DATABASE {schema}")

    def close(self) -> None:
        if self.dialect == "sqlite":
            self._sqlite.close()
        else:
            self._pg.close()

    @contextmanager
    def transaction(self, *, pipelined: bool = False) -> Iterator[Any]:
        """A write transaction; commits on success, rolls back on any exception.

        ``pipelined`` (PostgreSQL only) sends each statement without waiting for its answer
        until a result is read back: for many small writes, such as a read model's page. An
        error then surfaces at the next read or at the commit, and still rolls back everything.
        """
        if self.dialect == "sqlite":
            cursor = self._sqlite.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                yield cursor
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")
        else:
            connection = self._connection()
            with (
                connection.pipeline() if pipelined else nullcontext(),
                connection.transaction(),
                connection.cursor() as pg_cursor,
            ):
                yield _PgCursor(pg_cursor, pipelined=pipelined)

    @contextmanager
    def read(self) -> Iterator[Any]:
        if self.dialect == "sqlite":
            cursor = self._sqlite.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            finally:
                cursor.execute("COMMIT")
        else:
            connection = self._connection()
            with connection.transaction(), connection.cursor() as pg_cursor:
                yield _PgCursor(pg_cursor)

    @contextmanager
    def scans(self, count: int) -> Iterator[list[Scan]]:
        """``count`` cursors in one read transaction, to walk several ordered result sets side
        by side; rows stream (server-side cursors on PostgreSQL) instead of being loaded whole."""
        if self.dialect == "sqlite":
            with self.read() as first:
                yield [_SqliteScan(first), *(_SqliteScan(first.connection.cursor()) for _ in range(count - 1))]
        else:
            connection = self._connection()
            with connection.transaction():
                cursors = [connection.cursor(name=f"gk_scan_{i}") for i in range(count)]
                try:
                    yield [_PgScan(c) for c in cursors]
                finally:
                    for cursor in cursors:
                        cursor.close()

    def query(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        with self.read() as cursor:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]


def _pg_conninfo(env: dict[str, str]) -> str:
    parts = {
        "dbname": env["POSTGRES_DBNAME"],
        "host": env["POSTGRES_HOST"],
        "port": env["POSTGRES_PORT"],
        "user": env["POSTGRES_USER"],
    }
    if env.get("POSTGRES_PASSWORD"):
        parts["password"] = env["POSTGRES_PASSWORD"]
    return psycopg.conninfo.make_conninfo(**parts)
