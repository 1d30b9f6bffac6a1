"""Fixtures shared by the unit and integration suites.

``database_url`` runs a test once on a SQLite file and once on the PostgreSQL server that
``make test`` starts (``GONGKAI_TEST_POSTGRES_URL``); each PostgreSQL test starts from an
empty ``public`` schema. Without the URL the PostgreSQL run is skipped, except in CI or when
``GONGKAI_REQUIRE_POSTGRES`` is set, where a missing server is a failure, not a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from ledger.application import Ledger
from projections.store import database_env
from tests.builders import Town, found_town

POSTGRES_URL_VAR = "GONGKAI_TEST_POSTGRES_URL"


def postgres_url() -> str:
    """The test server's URL; skip (or, where PostgreSQL is required, fail) without one."""
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        if os.environ.get("CI") or os.environ.get("GONGKAI_REQUIRE_POSTGRES"):
            pytest.fail(f"{POSTGRES_URL_VAR} is not set but PostgreSQL tests are required")
        pytest.skip(f"{POSTGRES_URL_VAR} not set; make test starts PostgreSQL")
    return url


@contextmanager
def own_database(backend: str, tmp_path_factory: pytest.TempPathFactory, name: str) -> Iterator[str]:
    """The URL of a database of its own for a module's fixture: a SQLite file, or a PostgreSQL
    database created on the test server and dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp(name) / f'{name}.db'}"
        return
    server = postgres_url()
    database = f"gongkai_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {database}")
    try:
        yield server.rsplit("/", 1)[0] + "/" + database
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE {database} WITH (FORCE)")


def empty_postgres(url: str) -> str:
    """Drop everything in the server's ``public`` schema, so the test starts from nothing."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")
    return url


# Both backends, for a fixture's ``params``: every behaviour runs on SQLite and PostgreSQL.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'gongkai.db'}"
    return empty_postgres(postgres_url())


def open_ledger(url: str, **env: str) -> Ledger:
    return Ledger(env={**database_env(url), **env})


@pytest.fixture
def ledger(database_url: str) -> Iterator[Ledger]:
    app = open_ledger(database_url)
    yield app
    app.close()


@pytest.fixture
def reopen(database_url: str) -> Iterator[Callable[..., Ledger]]:
    """Open another Ledger on the test's database (a restart, or a second process)."""
    opened: list[Ledger] = []

    def open_again(**env: str) -> Ledger:
        opened.append(open_ledger(database_url, **env))
        return opened[-1]

    yield open_again
    for app in opened:
        app.close()


@pytest.fixture
def town(ledger: Ledger) -> Town:
    return found_town(ledger)


@pytest.fixture
def memory_town() -> Iterator[Town]:
    """The standard town on the in-memory store, for unit tests of command handling."""
    app = open_ledger("memory://")
    yield found_town(app)
    app.close()
