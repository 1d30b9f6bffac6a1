"""``gongkai backup --out FILE``: a consistent copy of a SQLite ledger, safe while it serves."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli import State, main, pass_state
from ledger.errors import InputError
from projections.backup import BackupError, backup_sqlite
from projections.store import database_env


@main.command("backup")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the new file to write (never overwritten)")
@pass_state
def backup(state: State, out: Path) -> None:
    """Copy a SQLite ledger to --out with SQLite's backup API, while it may be in use.

    The copy is one snapshot of events, journal, sealed parts, keys and read models. For
    PostgreSQL use pg_dump -Fc and pg_restore (see the README, Deploy).
    """
    env = database_env(state.settings.database_url)
    path = env.get("SQLITE_DBNAME")
    if path is None or path == ":memory:":
        raise InputError("gongkai backup copies a SQLite ledger; for PostgreSQL use "
                         "pg_dump -Fc (and pg_restore to restore)")  # fmt: skip
    try:
        size = backup_sqlite(Path(path), out)
    except BackupError as error:
        raise InputError(str(error)) from None
    click.echo(f"backed up {path} to {out} ({size:,} bytes)")
