"""Event-store infrastructure: eventsourcing's recorders plus the idempotency journal.

Each recorder stores ``(idempotency key, first result)`` in the same transaction as the events
of the command (``save(..., command=(key, result))``), so a retried command is recognised after
a crash or restart and never recorded twice. ``database_env`` turns ``GONGKAI_DATABASE_URL``
(``sqlite:///path`` or ``postgresql://user:pw@host:port/db``) into the library's environment.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

JOURNAL_TABLE = "gongkai_commands"


class DatabaseURLError(ValueError):
    pass


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
        }
    if parsed.scheme == "memory":
        return {"PERSISTENCE_MODULE": f"{__name__}:JournalPOPOFactory"}
    raise DatabaseURLError(
        f"{url!r}: the database URL must start with sqlite:///, postgresql:// or memory://"
    )


class JournalSQLiteRecorder(SQLiteApplicationRecorder):
    def construct_create_table_statements(self) -> list[str]:
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {JOURNAL_TABLE} "
            "(key TEXT PRIMARY KEY, result TEXT NOT NULL)",
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
        return returning

    def find_command(self, key: str) -> str | None:
        with self.datastore.transaction(commit=False) as c:
            c.execute(f"SELECT result FROM {JOURNAL_TABLE} WHERE key = ?", (key,))
            row = c.fetchone()
        return None if row is None else str(row[0])


class JournalSQLiteFactory(SQLiteFactory):
    application_recorder_class = JournalSQLiteRecorder


class JournalPostgresRecorder(PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.journal_table = Identifier(self.datastore.schema or "public", JOURNAL_TABLE)
        self.sql_create_statements.append(
            SQL("CREATE TABLE IF NOT EXISTS {0} (key TEXT PRIMARY KEY, result TEXT NOT NULL)").format(
                self.journal_table
            )
        )

    def _insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_events(curs, stored_events, **kwargs)
        commands: list[tuple[str, str]] = kwargs.get("commands") or []
        if commands:
            curs.executemany(
                SQL("INSERT INTO {0} VALUES (%s, %s)").format(self.journal_table), commands
            )

    def find_command(self, key: str) -> str | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT result FROM {0} WHERE key = %s").format(self.journal_table), (key,)
            )
            row = curs.fetchone()
        return None if row is None else str(row["result"])


class JournalPostgresFactory(PostgresFactory):
    application_recorder_class = JournalPostgresRecorder


class JournalPOPORecorder(POPOApplicationRecorder):
    def __init__(self) -> None:
        super().__init__()
        self._journal: dict[str, str] = {}

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
            return returning

    def find_command(self, key: str) -> str | None:
        return self._journal.get(key)


class JournalPOPOFactory(POPOFactory):
    def application_recorder(self) -> JournalPOPORecorder:
        return JournalPOPORecorder()
