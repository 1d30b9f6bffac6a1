"""Fresh databases for the benchmarks: SQLite files in the run's folder, and PostgreSQL
databases on a private server (``scripts/pg.sh`` copied into the run's folder, so its state
file is the run's own and ``make test``'s server is never touched) or on the server of
``GONGKAI_BENCH_POSTGRES_URL``. Only what this run started is stopped; only the databases it
created (``gkbench_*``) are dropped."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from types import TracebackType
from urllib.parse import urlparse, urlunparse

import psycopg

REPO = Path(__file__).resolve().parent.parent
BENCH_URL_VAR = "GONGKAI_BENCH_POSTGRES_URL"


class PostgresServer:
    """The benchmarks' PostgreSQL: one started for the run, or the one named by the env."""

    def __init__(self, folder: Path, *, needed: bool = True) -> None:
        self.folder = folder
        self.needed = needed
        self.url = os.environ.get(BENCH_URL_VAR, "")
        self.started = False
        self.created: list[str] = []

    def __enter__(self) -> PostgresServer:
        if self.needed and not self.url:
            scripts = self.folder / "scripts"
            scripts.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / "scripts" / "pg.sh", scripts / "pg.sh")
            out = self._pg("start")
            self.url = out.strip().splitlines()[-1]
            self.started = True
            if not self.url.startswith("postgresql://"):
                raise RuntimeError(f"scripts/pg.sh start printed no URL: {out!r}")
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:  # fmt: skip
        try:
            if self.created and not self.started:
                with psycopg.connect(self.url, autocommit=True) as connection:
                    for name in self.created:
                        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            if self.started:
                self._pg("stop")

    def _pg(self, command: str) -> str:
        env = {**os.environ, "GONGKAI_PG_STATE": str(self.folder / ".pg-state")}
        done = subprocess.run(  # noqa: S603 - our own copy of the repository's script
            ["/bin/bash", str(self.folder / "scripts" / "pg.sh"), command],
            env=env, check=True, capture_output=True, text=True,
        )  # fmt: skip
        return done.stdout

    def version(self) -> str:
        with psycopg.connect(self.url) as connection:
            row = connection.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "unknown"

    def database(self, name: str) -> str:
        """A new, empty database; its URL."""
        full = f"gkbench_{os.getpid()}_{name}"
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{full}" WITH (FORCE)')
            connection.execute(f'CREATE DATABASE "{full}"')
        self.created.append(full)
        parsed = urlparse(self.url)
        return urlunparse(parsed._replace(path=f"/{full}"))


def sqlite_url(folder: Path, name: str) -> str:
    path = folder / f"{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return f"sqlite:///{path}"
