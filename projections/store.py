"""Event-store infrastructure: eventsourcing's recorders plus the idempotency journal and the
sealed store.

Each recorder stores ``(idempotency key, first result)`` in the same transaction as the events
of the command (``save(..., commands=[(key, result)])``), so a retried command is recognised
after a crash or restart and never recorded twice. The same way, ``sealed=[(digest, subject,
nonce, ciphertext)]`` stores encrypted sealed parts (``gk_sealed``, content-addressed by the
digest) and ``erased=[subject]`` replaces subjects' keys by tombstones (``gk_subject_keys``) in
the events' transaction; ``subject_keys`` makes and reads the per-subject keys (see
``ledger.sealing``). An erased key is overwritten in place (SQLite ``secure_delete``); copies
of the database made before (backups, PostgreSQL pages not yet vacuumed) still hold it, so
keep backups of ``gk_subject_keys`` short-lived. ``database_env`` turns ``GONGKAI_DATABASE_URL``
(``sqlite:///path`` or ``postgresql://user:pw@host:port/db``) into the library's environment.

When PostgreSQL goes away, callers must hear so within seconds, and the pool must find the
server again by itself once it is back (``FailFastDatastore``): waiting for a pooled connection
gives up after ``POOL_WAIT`` seconds with ``DatabaseUnavailable``, which the library does not
retry (it retries its ``OperationalError`` ten times, which would multiply the wait); until a
connection is had again, callers wait only ``DOWN_WAIT``. A connection that broke in the pool
(the server restarted) still fails at once and is retried on a fresh one. The pool's reconnect
backoff starts afresh every ``RECONNECT_WINDOW`` seconds, so recovery never waits on a long one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import unquote, urlparse
from uuid import UUID

import psycopg
from eventsourcing.persistence import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    StoredEvent,
)
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import (
    PostgresApplicationRecorder,
    PostgresDatastore,
    PostgresFactory,
)
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from eventsourcing.utils import Environment, EnvType, retry
from psycopg import Connection, Cursor
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Identifier
from psycopg_pool import PoolTimeout

from ledger.sealing import new_subject_key

JOURNAL_TABLE = "gongkai_commands"
SEALED_TABLE = "gk_sealed"
KEYS_TABLE = "gk_subject_keys"
_SEALED_COLUMNS = "(digest TEXT PRIMARY KEY, subject TEXT NOT NULL, nonce {0} NOT NULL, ciphertext {0} NOT NULL)"
_KEYS_COLUMNS = "(subject TEXT PRIMARY KEY, key {0}, created_at TEXT NOT NULL, erased_at TEXT)"
_INSERT_SEALED = (
    "INSERT INTO {0} (digest, subject, nonce, ciphertext) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (digest) DO NOTHING"
)
_ERASE = (
    "INSERT INTO {0} (subject, key, created_at, erased_at) VALUES (?, NULL, ?, ?) "
    "ON CONFLICT (subject) DO UPDATE SET key = NULL, erased_at = excluded.erased_at"
)
T = TypeVar("T")
_BEGIN, _COMMIT = SQL("BEGIN"), SQL("COMMIT")
_OPEN = (TransactionStatus.INTRANS, TransactionStatus.INERROR)
_NEW_KEY = "INSERT INTO {0} (subject, key, created_at) VALUES (?, ?, ?) ON CONFLICT (subject) DO NOTHING"
CHUNK = 500
STATEMENT_ROWS = 5_000  # rows per INSERT of a large write (see ``_insert_unpipelined``)
PIPELINE_LIMIT = 1_000_000  # bytes of events above which PostgreSQL writes are not pipelined
POOL_WAIT = 3  # seconds to wait for a pooled PostgreSQL connection before giving up
DOWN_WAIT = 0.25  # the same, while the database is known to be unreachable
RECONNECT_WINDOW = 5.0  # seconds the pool backs off reconnecting before it starts afresh


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _chunks(values: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    for start in range(0, len(values), size):
        yield list(values[start : start + size])


def _rows_in(cursor: Any, select: str, column: str, values: Sequence[str]) -> Iterator[Any]:
    """The rows of ``select`` whose ``column`` is one of ``values``, a chunk of ``IN`` at a time
    (SQLite limits the parameters of one statement)."""
    for chunk in _chunks(values):
        cursor.execute(f"{select} WHERE {column} IN ({', '.join('?' for _ in chunk)})", chunk)
        yield from cursor.fetchall()


def _new_keys(subjects: Sequence[str]) -> list[tuple[str, bytes, str]]:
    now = _now()
    return [(s, new_subject_key(), now) for s in subjects]


def _tombstones(kwargs: dict[str, Any]) -> list[tuple[str, str, str]]:
    now = _now()
    return [(s, now, now) for s in kwargs.get("erased") or []]


def _columns(stored_events: Sequence[StoredEvent]) -> tuple[list[Any], list[int], list[str], list[bytes]]:
    """Stored events as their four columns (originator ids, versions, topics, states)."""
    return (
        [e.originator_id for e in stored_events],
        [e.originator_version for e in stored_events],
        [e.topic for e in stored_events],
        [e.state for e in stored_events],
    )


class DatabaseURLError(ValueError):
    pass


class DatabaseUnavailable(DatabaseError):
    """No connection to the database could be had in time: it is down or unreachable.

    Not an ``OperationalError``, so that the library's retry loop does not wait again.
    """


def database_env(url: str) -> dict[str, str]:
    """The eventsourcing environment for a database URL."""
    parsed = urlparse(url)
    if parsed.scheme == "sqlite":
        path = unquote(parsed.path if not parsed.netloc else parsed.netloc + parsed.path)
        if url.startswith("sqlite:///"):
            path = url[len("sqlite:///") :]
        if not path:
            raise DatabaseURLError(f"{url!r}: give a file, like sqlite:///var/gongkai.db")
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        return {
            "PERSISTENCE_MODULE": f"{__name__}:JournalSQLiteFactory",
            "SQLITE_DBNAME": path,
            "SQLITE_LOCK_TIMEOUT": "30",
        }
    if parsed.scheme in ("postgresql", "postgres"):
        if not parsed.path.strip("/"):
            raise DatabaseURLError(f"{url!r}: name the database, like postgresql://host/gongkai")
        return {
            "PERSISTENCE_MODULE": f"{__name__}:JournalPostgresFactory",
            "POSTGRES_DBNAME": unquote(parsed.path.lstrip("/")),
            "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parsed.port or 5432),
            "POSTGRES_USER": unquote(parsed.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parsed.password or ""),
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_CONNECT_TIMEOUT": str(POOL_WAIT),  # the pool's wait, despite the name
        }
    if parsed.scheme == "memory":
        return {"PERSISTENCE_MODULE": f"{__name__}:JournalPOPOFactory"}
    raise DatabaseURLError(
        f"{url!r}: the database URL must start with sqlite:///, postgresql:// or memory://"
    )


class JournalSQLiteRecorder(SQLiteApplicationRecorder):
    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's query and notifications, read faster (every read of the log comes
        here: rebuild, publish, verify): rows as plain tuples rather than ``sqlite3.Row``
        looked up by name, and each originator id parsed once while it recurs
        (``_originator``: a program's or a store's events name it again and again)."""
        where: list[str] = []
        params: list[int | str] = []
        if start is not None:
            where.append("rowid >= ?" if inclusive_of_start else "rowid > ?")
            params.append(start)
        if stop is not None:
            where.append("rowid <= ?")
            params.append(stop)
        if topics:
            where.append(f"topic IN ({','.join('?' * len(topics))})")
            params += list(topics)
        statement = (
            f"SELECT rowid, originator_id, originator_version, topic, state FROM {self.events_table_name} "
            + (f"WHERE {' AND '.join(where)} " if where else "")
            + "ORDER BY rowid LIMIT ?"
        )
        params.append(limit)
        uuids = self.datastore.originator_id_type == "uuid"
        with self.datastore.transaction(commit=False) as c:
            cursor = c.sqlite_cursor
            cursor.row_factory = None
            cursor.execute(statement, params)
            return [
                Notification(
                    id=row[0],
                    originator_id=_originator(row[1]) if uuids else row[1],
                    originator_version=row[2],
                    topic=row[3],
                    state=row[4],
                )
                for row in cursor.fetchall()
            ]

    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {JOURNAL_TABLE} "
            "(key TEXT PRIMARY KEY, result TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {SEALED_TABLE} " + _SEALED_COLUMNS.format("BLOB"),
            f"CREATE TABLE IF NOT EXISTS {KEYS_TABLE} " + _KEYS_COLUMNS.format("BLOB"),
        ]

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        returning = super()._insert_events(c, stored_events, **kwargs)
        commands: list[tuple[str, str]] = kwargs.get("commands") or []
        try:
            c.executemany(f"INSERT INTO {JOURNAL_TABLE} VALUES (?, ?)", commands)
        except sqlite3.IntegrityError as exc:
            raise IntegrityError(exc) from exc
        c.executemany(_INSERT_SEALED.format(SEALED_TABLE), kwargs.get("sealed") or [])
        erased = _tombstones(kwargs)
        if erased:
            c.execute("PRAGMA secure_delete = ON")  # overwrite the destroyed keys' bytes
            c.executemany(_ERASE.format(KEYS_TABLE), erased)
        return returning

    def subject_keys(self, subjects: Sequence[str], *, create: bool) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        with self.datastore.transaction(commit=create) as c:
            if create and subjects:
                c.executemany(_NEW_KEY.format(KEYS_TABLE), _new_keys(subjects))
            for chunk in _chunks(subjects):
                c.execute(
                    f"SELECT subject, key FROM {KEYS_TABLE} WHERE key IS NOT NULL "
                    f"AND subject IN ({', '.join('?' for _ in chunk)})",
                    chunk,
                )
                found.update((row[0], bytes(row[1])) for row in c.fetchall())
        return found

    def find_sealed(self, digests: Sequence[str]) -> dict[str, tuple[str, bytes, bytes]]:
        with self.datastore.transaction(commit=False) as c:
            rows = _rows_in(c, f"SELECT digest, subject, nonce, ciphertext FROM {SEALED_TABLE}",
                            "digest", digests)  # fmt: skip
            return {r[0]: (r[1], bytes(r[2]), bytes(r[3])) for r in rows}

    def find_command(self, key: str) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT result FROM {JOURNAL_TABLE} WHERE key = ?", (key,))
            row = c.fetchone()
        return None if row is None else str(row[0])

    def find_commands(self, keys: Sequence[str]) -> dict[str, str]:
        """``find_command`` for many keys at once: the ones found, with their first result."""
        with self.datastore.transaction(commit=False) as c:
            rows = _rows_in(c, f"SELECT key, result FROM {JOURNAL_TABLE}", "key", keys)
            return {str(row[0]): str(row[1]) for row in rows}

    def find_existing(self, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these aggregates have events (one query, not one per aggregate)."""
        with self.datastore.transaction(commit=False) as c:
            return self._existing(c, aggregate_ids)

    def _existing(self, c: SQLiteCursor, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        # One index probe per id (EXISTS), not a scan of every event of the ones that exist.
        found: set[UUID] = set()
        for chunk in _chunks([i.hex for i in aggregate_ids]):  # as the library stores them
            c.execute(
                f"SELECT column1 FROM (VALUES {', '.join('(?)' for _ in chunk)}) WHERE EXISTS "
                f"(SELECT 1 FROM {self.events_table_name} WHERE originator_id = column1)",
                chunk,
            )
            found.update(UUID(str(row[0])) for row in c.fetchall())
        return found

    def look_up(
        self, keys: Sequence[str], aggregate_ids: Sequence[UUID]
    ) -> tuple[int, dict[str, str], set[UUID]]:
        """What a unit of work reads before deciding, in one read transaction: the log's head,
        the first results stored under ``keys``, and which of ``aggregate_ids`` have events."""
        with self.datastore.transaction(commit=False) as c:
            head = self._max_notification_id(c) or 0
            rows = _rows_in(c, f"SELECT key, result FROM {JOURNAL_TABLE}", "key", keys)
            known = {str(row[0]): str(row[1]) for row in rows}
            return head, known, self._existing(c, aggregate_ids)


@lru_cache(maxsize=8_192)
def _originator(text: str) -> UUID:
    return UUID(text)


class JournalSQLiteFactory(SQLiteFactory):
    application_recorder_class = JournalSQLiteRecorder


CREATE_LOCK = 0x676B_7461_626C  # an advisory lock's key: "gktabl"


class JournalPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        schema = self.datastore.schema or "public"
        self.journal_table = Identifier(schema, JOURNAL_TABLE)
        self.sealed_table = Identifier(schema, SEALED_TABLE)
        self.keys_table = Identifier(schema, KEYS_TABLE)
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0} (key TEXT PRIMARY KEY, result TEXT NOT NULL)").format(
                self.journal_table
            )
        )
        for table, columns in ((self.sealed_table, _SEALED_COLUMNS), (self.keys_table, _KEYS_COLUMNS)):
            self.sql_create_statements.append(
                SQL("CREATE TABLE IF NOT EXISTS {0} " + columns.format("BYTEA")).format(table)
            )
        events = Identifier(schema, self.events_table_name)
        self.look_up_statement = SQL(
            "SELECT 0 AS kind, (SELECT MAX(notification_id) FROM {events})::text AS a, NULL AS b "
            "UNION ALL SELECT 1, key, result FROM {journal} WHERE key = ANY(%b::text[]) "
            "UNION ALL SELECT 2, id::text, NULL FROM unnest(%b::uuid[]) AS id "
            "WHERE EXISTS (SELECT 1 FROM {events} WHERE originator_id = id)"
        ).format(events=events, journal=self.journal_table).as_bytes(None)  # rendered once
        # A command's whole write as one statement (one implicit transaction in autocommit):
        # its idempotency keys, then, as the library's insert does, the events table locked
        # (commit order = notification order), a notification, and the events.
        self.record_function = Identifier(schema, f"gk_record_{self.events_table_name}")
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {function}(ids uuid[], versions bigint[], topics text[], "
            "states bytea[], keys text[], results text[]) "
            "RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$ BEGIN "
            "SET LOCAL lock_timeout = '{lock_timeout}s'; "
            "INSERT INTO {journal} (key, result) SELECT * FROM unnest(keys, results); "
            "LOCK TABLE {events} IN EXCLUSIVE MODE; "
            "NOTIFY {channel}; "
            "RETURN QUERY INSERT INTO {events} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(ids, versions, topics, states) RETURNING notification_id; "
            "END; $BODY$"
        ).format(function=self.record_function, lock_timeout=self.datastore.lock_timeout,
                 journal=self.journal_table, events=events, channel=Identifier(self.channel_name)))  # fmt: skip
        # Ledgers that start at once (a publish's spawned helpers, two servers) make their
        # tables and replace the function above in turn: two concurrent CREATE OR REPLACE of
        # one function fail with "tuple concurrently updated". A lock for the transaction.
        self.sql_create_statements.insert(0, SQL("SELECT pg_advisory_xact_lock({0})").format(CREATE_LOCK))
        self.record_statement = SQL(
            "SELECT id FROM {0}(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[], %b::text[], %b::text[]) AS id"
        ).format(self.record_function).as_bytes(None)  # rendered once, not at every command
        # Events as four arrays in binary: psycopg adapts an array of composite rows in Python,
        # text field by field (about 20 times slower: 0.85 s for 5,000 events, 36 ms so).
        self.insert_columns_statement = SQL(
            "INSERT INTO {0} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::uuid[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id"
        ).format(events)

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        """The library's query and notifications, read faster (every read of the log comes
        here: rebuild, publish, verify): in PostgreSQL's binary format, so each record's
        state comes as its bytes, not as hexadecimal text that the server writes out and the
        client parses back (twice the bytes on the wire), and rows as plain tuples."""
        where: list[SQL] = []
        params: list[int | str | list[str]] = []
        if start is not None:
            where.append(SQL("notification_id >= %s" if inclusive_of_start else "notification_id > %s"))
            params.append(start)
        if stop is not None:
            where.append(SQL("notification_id <= %s"))
            params.append(stop)
        if topics:
            where.append(SQL("topic = ANY(%s)"))
            params.append(list(topics))
        statement = SQL(
            "SELECT notification_id, originator_id, originator_version, topic, state FROM {0}"
        ).format(Identifier(self.datastore.schema, self.events_table_name))
        if where:
            statement += SQL(" WHERE ") + SQL(" AND ").join(where)
        statement += SQL(" ORDER BY notification_id LIMIT %s")
        params.append(limit)
        with self.datastore.get_connection() as conn, conn.cursor(binary=True, row_factory=tuple_row) as curs:
            curs.execute(statement, params, prepare=True)
            return [
                Notification(
                    id=row[0], originator_id=row[1], originator_version=row[2], topic=row[3], state=row[4]
                )
                for row in curs.fetchall()
            ]

    def _pg(self, statement: str, table: Identifier) -> Any:
        return SQL(statement.replace("?", "%s").replace("{0}", "{table}")).format(table=table)

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """One round trip, except for large writes (imports, big batches).

        Most writes (events and idempotency keys) are one statement (``_insert_in_one_statement``).
        Writes with sealed parts or erasures are one pipelined transaction with a single sync
        (``_insert_pipelined``; the library's syncs four times). Either way a unique key taken
        meanwhile (an idempotency key, an aggregate's version) raises ``IntegrityError`` and
        nothing of the write is recorded.

        In pipeline mode psycopg 3.3.9 (libpq 18) hangs for ever once one statement's parameters
        pass about 5.5 MB (the server waits in ClientRead, the client in ``Pipeline.sync``):
        10,000 disbursements in one batch never returned. So writes of more than
        ``PIPELINE_LIMIT`` bytes of events go in a plain transaction; their few extra round
        trips cost nothing next to their size.
        """
        inserted: Sequence[int] | None  # the library's retry decorator hides the types
        if sum(len(e.state) for e in stored_events) >= PIPELINE_LIMIT:
            inserted = self._insert_unpipelined(stored_events, **kwargs)
        elif stored_events and not kwargs.get("sealed") and not kwargs.get("erased"):
            inserted = self._insert_in_one_statement(stored_events, **kwargs)
        else:
            inserted = self._insert_pipelined(stored_events, **kwargs)
        return inserted

    @retry((OperationalError, InterfaceError), max_attempts=10, wait=0.2)  # as the library does
    def _insert_in_one_statement(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Events and idempotency keys (most commands: no sealed part, no erasure) through the
        ``record_function``: one statement, so one round trip and one transaction; a key or
        version taken meanwhile raises ``IntegrityError`` and records nothing."""
        commands: list[tuple[str, str]] = kwargs.get("commands") or []
        keys = ([key for key, _ in commands], [result for _, result in commands])
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.record_statement, (*_columns(stored_events), *keys), prepare=True)
            return [row["id"] for row in curs.fetchall()]

    @retry((OperationalError, InterfaceError), max_attempts=10, wait=0.2)  # as the library does
    def _insert_pipelined(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if not stored_events:
            return None
        with self.datastore.get_connection() as conn, conn.cursor() as curs, conn.cursor() as events:
            # BEGIN and COMMIT sent as statements: psycopg's ``transaction()`` in a pipeline
            # nests pipelines, and each nested one syncs (a round trip each: four in all).
            try:
                with conn.pipeline():
                    curs.execute(_BEGIN)
                    self._insert_events(curs, stored_events, **kwargs)
                    self._insert_stored_events(events, stored_events, **kwargs)
                    curs.execute(_COMMIT)
                # Leaving the pipeline synced: an error of any statement was raised there.
            except BaseException:
                # The statements after the error were skipped, COMMIT too: roll back, unless the
                # connection is gone (the pool drops it; the error in hand is the one to raise).
                if conn.pgconn.transaction_status in _OPEN:
                    with suppress(psycopg.Error):
                        conn.rollback()
                raise
            return self._fetch_ids_after_insert_events(events, stored_events, **kwargs)

    @retry((OperationalError, InterfaceError), max_attempts=10, wait=0.2)  # as the library does
    def _insert_unpipelined(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # In statements of STATEMENT_ROWS rows: the server ends a transaction left idle for
        # ``idle_in_transaction_session_timeout`` (5 s), and psycopg adapting 100,000 rows for one
        # statement kept it idle longer than that.
        ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            for chunk in _chunks(stored_events, STATEMENT_ROWS):
                self._insert_stored_events(curs, chunk, **kwargs)
                ids += self._fetch_ids_after_insert_events(curs, chunk, **kwargs) or []
        return ids

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        """The library's (table lock, notify, insert returning the notification ids), the events
        passed as binary arrays of their columns."""
        self._lock_table(curs)
        self._notify_channel(curs)
        curs.execute(self.insert_columns_statement, _columns(stored_events), prepare=True)

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        # One statement per table, whatever the number of rows: a batch of 100,000 commands
        # is one round trip, not 100,000 pipelined ones.
        commands: list[tuple[str, str]] = kwargs.get("commands") or []
        for chunk in _chunks(commands, STATEMENT_ROWS):
            curs.execute(
                SQL("INSERT INTO {0} (key, result) SELECT * FROM unnest(%b::text[], %b::text[])")
                .format(self.journal_table),
                ([key for key, _ in chunk], [result for _, result in chunk]),
            )
        sealed: list[tuple[str, str, bytes, bytes]] = kwargs.get("sealed") or []
        for part in _chunks(sealed, STATEMENT_ROWS):
            curs.execute(
                SQL("INSERT INTO {0} (digest, subject, nonce, ciphertext) SELECT * FROM "
                    "unnest(%s::text[], %s::text[], %s::bytea[], %s::bytea[]) "
                    "ON CONFLICT (digest) DO NOTHING").format(self.sealed_table),
                [list(column) for column in zip(*part, strict=True)],
            )  # fmt: skip
        erased = _tombstones(kwargs)
        if erased:
            curs.executemany(self._pg(_ERASE, self.keys_table), erased)

    def subject_keys(self, subjects: Sequence[str], *, create: bool) -> dict[str, bytes]:
        with self.datastore.transaction(commit=create) as curs:
            if create and subjects:
                curs.executemany(self._pg(_NEW_KEY, self.keys_table), _new_keys(subjects))
            curs.execute(
                SQL("SELECT subject, key FROM {0} WHERE key IS NOT NULL AND subject = ANY(%s)").format(
                    self.keys_table
                ),
                (list(subjects),),
            )
            return {row["subject"]: bytes(row["key"]) for row in curs.fetchall()}

    def find_sealed(self, digests: Sequence[str]) -> dict[str, tuple[str, bytes, bytes]]:
        with self.datastore.transaction(commit=False) as curs:
            curs.execute(
                SQL("SELECT digest, subject, nonce, ciphertext FROM {0} WHERE digest = ANY(%s)").format(
                    self.sealed_table
                ),
                (list(digests),),
            )
            return {
                r["digest"]: (r["subject"], bytes(r["nonce"]), bytes(r["ciphertext"]))
                for r in curs.fetchall()
            }

    def find_command(self, key: str) -> str | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT result FROM {0} WHERE key = %s").format(self.journal_table), (key,)
            )
            row = curs.fetchone()
        return None if row is None else str(row["result"])

    def find_commands(self, keys: Sequence[str]) -> dict[str, str]:
        """``find_command`` for many keys at once: the ones found, with their first result."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT key, result FROM {0} WHERE key = ANY(%s)").format(self.journal_table),
                (list(keys),),
            )
            return {str(row["key"]): str(row["result"]) for row in curs.fetchall()}

    def find_existing(self, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these aggregates have events (one query, not one per aggregate)."""
        existing: set[UUID] = self.look_up([], aggregate_ids)[2]  # (the retry hides types)
        return existing

    @retry((OperationalError, InterfaceError), max_attempts=10, wait=0.2)  # as the library reads
    def look_up(
        self, keys: Sequence[str], aggregate_ids: Sequence[UUID]
    ) -> tuple[int, dict[str, str], set[UUID]]:
        """What a unit of work reads before deciding, in one statement (one round trip, one
        snapshot): the log's head, the first results stored under ``keys``, and which of
        ``aggregate_ids`` have events (an index probe each, not a scan of their events)."""
        head = 0
        known: dict[str, str] = {}
        existing: set[UUID] = set()
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self.look_up_statement, (list(keys), list(aggregate_ids)), prepare=True)
            for row in curs.fetchall():
                kind, first, second = row["kind"], row["a"], row["b"]
                if kind == 0:
                    head = int(first or 0)
                elif kind == 1:
                    known[first] = second
                else:
                    existing.add(UUID(first))
        return head, known, existing


class FailFastDatastore(PostgresDatastore):
    """A datastore whose pool timeout is ``DatabaseUnavailable``, raised once, never retried."""

    pool_wait: float

    @classmethod
    def adopt(cls, datastore: PostgresDatastore) -> None:
        """Make the library's datastore fail fast (it builds the datastore itself)."""
        datastore.__class__ = cls
        assert isinstance(datastore, cls)
        pool = datastore.pool
        datastore.pool_wait = pool.timeout
        pool.reconnect_timeout = RECONNECT_WINDOW
        if isinstance(pool.kwargs, dict):  # a dead host's SYN must not hang a reconnect attempt
            pool.kwargs.setdefault("connect_timeout", POOL_WAIT)

    @contextmanager
    def get_connection(self) -> Iterator[Connection[DictRow]]:
        try:
            with super().get_connection() as connection:
                self.pool.timeout = self.pool_wait  # reachable (again)
                yield connection
        except OperationalError as error:
            if isinstance(error.__cause__, PoolTimeout):
                self.pool.timeout = min(DOWN_WAIT, self.pool_wait)
                raise DatabaseUnavailable(f"the database is unreachable: {error}") from error
            raise


class JournalPostgresFactory(PostgresFactory):
    application_recorder_class = JournalPostgresRecorder

    def __init__(self, env: Environment | EnvType | None) -> None:
        super().__init__(env)
        FailFastDatastore.adopt(self.datastore)


class JournalPOPORecorder(POPOApplicationRecorder):
    def __init__(self) -> None:
        super().__init__()
        self._journal: dict[str, str] = {}
        self._sealed: dict[str, tuple[str, bytes, bytes]] = {}
        self._keys: dict[str, bytes | None] = {}

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        with self._database_lock:
            commands: list[tuple[str, str]] = kwargs.get("commands") or []
            for key, _ in commands:
                if key in self._journal:
                    raise IntegrityError(f"command {key} already recorded")
            returning = super()._insert_events(stored_events, **kwargs)
            self._journal.update(commands)
            for digest, subject, nonce, ciphertext in kwargs.get("sealed") or []:
                self._sealed.setdefault(digest, (subject, nonce, ciphertext))
            for subject, _, _ in _tombstones(kwargs):
                self._keys[subject] = None
            return returning

    def find_command(self, key: str) -> str | None:
        return self._journal.get(key)

    def find_commands(self, keys: Sequence[str]) -> dict[str, str]:
        return {key: self._journal[key] for key in keys if key in self._journal}

    def find_existing(self, aggregate_ids: Sequence[UUID]) -> set[UUID]:
        with self._database_lock:
            return {i for i in aggregate_ids if self._stored_events_index.get(str(i))}

    def look_up(
        self, keys: Sequence[str], aggregate_ids: Sequence[UUID]
    ) -> tuple[int, dict[str, str], set[UUID]]:
        with self._database_lock:
            head = self.max_notification_id() or 0
            return head, self.find_commands(keys), self.find_existing(aggregate_ids)

    def subject_keys(self, subjects: Sequence[str], *, create: bool) -> dict[str, bytes]:
        with self._database_lock:
            if create:
                for subject, key, _ in _new_keys([s for s in subjects if s not in self._keys]):
                    self._keys[subject] = key
            return {s: k for s in subjects if (k := self._keys.get(s)) is not None}

    def find_sealed(self, digests: Sequence[str]) -> dict[str, tuple[str, bytes, bytes]]:
        return {d: self._sealed[d] for d in digests if d in self._sealed}


class JournalPOPOFactory(POPOFactory):
    def application_recorder(self) -> JournalPOPORecorder:
        return JournalPOPORecorder()
