"""Faults to survive (issue 8): ``gongkai import`` and ``gongkai serve`` killed with SIGKILL in
the middle of their writes, PostgreSQL stopped and started again under load, and a backup
restored into a fresh database.

After each fault: nothing is half-recorded, every acknowledged command is stored exactly once
(counted per idempotency key over the whole notification log), a retry with the same key
records nothing new and answers ``Idempotent-Replayed: true`` with the first result, and the
ledger still passes ``gongkai verify``. Each test is bounded (``TIME_LIMIT`` on top of a timeout
on every wait) and kills every process it started. The PostgreSQL that is stopped is one the
test starts itself (``tests.processes.PrivatePostgres``), never the server ``make test`` shares.
"""

from __future__ import annotations

import base64
import csv
import json
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any
from urllib.parse import urlparse, urlunparse
from uuid import uuid4

import httpx
import psycopg
import pytest
from click.testing import CliRunner

from api.cli import main
from api.config import DEVELOPMENT_LOG_KEY_PASSPHRASE
from ledger.accounts import Program
from ledger.application import Ledger
from ledger.commands import Signer, payload_of
from ledger.keys import PrivateKey, write_keypair
from projections.sql import Database
from projections.store import database_env
from tests.builders import JURISDICTION, found_town, key, money_donation
from tests.clients import Clients
from tests.conftest import open_ledger, postgres_url
from tests.processes import (
    GONGKAI,
    PrivatePostgres,
    Processes,
    Server,
    gongkai,
    pg_tool,
    sigkill,
    wait_for,
)

TIME_LIMIT = 75  # seconds, per test
PASSPHRASE = "fault-tests"
PROBLEM = "application/problem+json"
IMPORT_ROWS = 2000
FUNDED = 10**10  # fen in P-DIBAO before the import
IMPORT_APP = "gongkai-fault-import"  # the import's application_name on PostgreSQL


@pytest.fixture(autouse=True)
def time_limit() -> Iterator[None]:
    """Fail a test that runs over ``TIME_LIMIT`` (a backstop: every wait has its own timeout)."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise TimeoutError(f"the fault test ran over {TIME_LIMIT} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, TIME_LIMIT)
    yield
    signal.setitimer(signal.ITIMER_REAL, 0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    started = Processes(tmp_path / "logs")
    yield started
    started.close()


def cli_env(url: str, folder: Path) -> dict[str, str]:
    """The environment of the CLI and the server: the database, passphrases, the log's key."""
    return {"GONGKAI_DATABASE_URL": url, "GONGKAI_PASSPHRASE": PASSPHRASE, "GONGKAI_ENV": "development",
            "GONGKAI_LOG_KEY_FILE": str(folder / "log.key"),
            "GONGKAI_INTAKE_KEY_FILE": str(folder / "intake.key")}  # fmt: skip


@contextmanager
def opened(url: str) -> Iterator[Ledger]:
    app = open_ledger(url)
    try:
        yield app
    finally:
        app.close()


def found(url: str, folder: Path, funded: int = 0) -> None:
    """The standard town and the log's key in ``folder``; with ``funded`` fen appropriated to
    F-DIBAO and allocated to P-DIBAO."""
    write_keypair(PrivateKey.generate(), folder / "log", DEVELOPMENT_LOG_KEY_PASSPHRASE.encode())
    with opened(url) as app:
        town = found_town(app)
        if funded:
            town.submit(town.recorder, "appropriation.receive", {
                "document_no": "息财〔2026〕12号", "level": "county", "fund": "F-DIBAO",
                "amount": funded, "date": "2026-07-01"})  # fmt: skip
            town.submit(town.recorder, "allocation.make", {
                "fund": "F-DIBAO", "program": "P-DIBAO", "amount": funded, "date": "2026-07-02"})  # fmt: skip


def recorder() -> Signer:
    return Signer(key("recorder"), JURISDICTION)


def query(url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    db = Database(url)
    try:
        return db.query(sql, params)
    finally:
        db.close()


@dataclass(frozen=True)
class Stored:
    """One idempotency key's events in the log, and how many aggregates its command targets."""

    events: int
    targets: int


def stored_commands(url: str) -> dict[str, Stored]:
    """Every command in the log by idempotency key, streamed from the notification log."""
    events: Counter[str] = Counter()
    targets: dict[str, int] = {}
    with opened(url) as app:
        start = 1
        while page := app.recorder.select_notifications(start=start, limit=1000):
            for notification in page:
                payload = payload_of(app.mapper.to_domain_event(notification).signed)  # type: ignore[attr-defined]
                events[payload["idem"]] += 1
                targets[payload["idem"]] = len(payload["targets"])
            start = page[-1].id + 1
    return {idem: Stored(count, targets[idem]) for idem, count in events.items()}


def assert_stored_once(url: str, idems: set[str]) -> None:
    """Each command is in the log exactly once: one event per aggregate it targets, no more."""
    stored = stored_commands(url)
    missing = sorted(idems - set(stored))
    assert not missing, f"{len(missing)} command(s) lost, e.g. {missing[:3]}"
    twice = {idem: s for idem, s in stored.items() if s.events != s.targets}
    assert not twice, f"commands stored more than once: {list(twice.items())[:3]}"
    journal = query(url, "SELECT count(*) FROM gongkai_commands")[0][0]
    assert journal == len(stored), "the idempotency journal and the log disagree"


def assert_verifies(env: dict[str, str]) -> dict[str, Any]:
    done = gongkai(env, "verify", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["ok"]
    return report


# --- 1. SIGKILL during an import -----------------------------------------------------------------


def write_disbursements(path: Path, rows: int) -> int:
    """A sheet of ``rows`` disbursements from P-DIBAO; returns their total in fen."""
    total = 0
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        sheet = csv.writer(out)
        sheet.writerow(["项目代码", "受助人编号", "村（社区）", "金额（元）", "发放日期", "所属月份", "保护对象"])
        for i in range(rows):
            yuan = 100 + i % 97
            sheet.writerow(["P-DIBAO", f"R-{i:06X}", "流长村", f"{yuan}.00", "2026-07-15", "2026-07", "否"])
            total += yuan * 100
    return total


class ImportWatch:
    """An import in progress, seen from outside as another client of its database."""

    def __init__(self, url: str) -> None:
        env = database_env(url)
        self.sqlite = "SQLITE_DBNAME" in env
        if self.sqlite:
            self._sqlite = sqlite3.connect(env["SQLITE_DBNAME"], timeout=0, isolation_level=None)
        else:
            self._pg = psycopg.connect(url, autocommit=True)

    def writing(self) -> bool:
        """Whether the import is writing its rows right now.

        PostgreSQL: its session (by application_name) holds the row-write lock on the
        idempotency journal. SQLite: the write lock is held (our own ``BEGIN IMMEDIATE`` fails
        at once) on two probes running, which the schema checks at start-up do not last.
        """
        if not self.sqlite:
            return bool(self._pg_count(
                "SELECT count(*) FROM pg_locks JOIN pg_stat_activity USING (pid) WHERE "
                "application_name = %s AND relation = 'gongkai_commands'::regclass "
                "AND mode = 'RowExclusiveLock'", IMPORT_APP))  # fmt: skip
        for attempt in range(2):
            try:
                self._sqlite.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                time.sleep(0.001 * (attempt == 0))
                continue
            self._sqlite.execute("ROLLBACK")
            return False
        return True

    def committed(self) -> int:
        """How many of the import's rows another client sees recorded."""
        sql = "SELECT count(*) FROM gongkai_commands WHERE key LIKE 'import:%%'"
        if self.sqlite:
            return int(self._sqlite.execute(sql.replace("%%", "%")).fetchone()[0])
        return self._pg_count(sql)

    def _pg_count(self, sql: str, *params: object) -> int:
        row = self._pg.execute(sql, params).fetchone()
        return int(row[0]) if row else 0

    def __enter__(self) -> ImportWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.sqlite:
            self._sqlite.close()
        else:
            self._pg.close()


def test_an_import_killed_while_writing_records_all_rows_or_none_and_a_rerun_records_each_once(
    database_url: str, tmp_path: Path, processes: Processes
) -> None:
    found(database_url, tmp_path, funded=FUNDED)
    keyfile, _ = write_keypair(key("recorder"), tmp_path / "li", PASSPHRASE.encode())
    sheet = tmp_path / "BIG.csv"
    total = write_disbursements(sheet, IMPORT_ROWS)
    env = cli_env(database_url, tmp_path)

    run = processes.start("import", [str(GONGKAI), "import", str(sheet), "--as", str(keyfile)],
                          {**env, "PGAPPNAME": IMPORT_APP})  # fmt: skip
    with ImportWatch(database_url) as watch:
        # Kill a moment into the writing: mid-transaction when the import is one transaction,
        # and after the first chunk's commit if it were ever split into several (never right).
        into_write = 0.005 if watch.sqlite else 0.1
        began: list[float] = []

        def time_to_kill() -> bool:
            assert watch.committed() in (0, IMPORT_ROWS), "another client saw half an import"
            if not began and watch.writing():
                began.append(time.monotonic())
            return run.poll() is not None or bool(began and time.monotonic() - began[0] >= into_write)

        wait_for("the import to write", time_to_kill, timeout=60, every=0.001)
        killed = run.poll() is None
        sigkill(run)
        recorded = watch.committed()

    # All or nothing. (Should the import's one transaction commit before the signal lands, the
    # kill came too late to matter, and every row is there; half an import is never right.)
    assert recorded in (0, IMPORT_ROWS), f"half an import: {recorded} of {IMPORT_ROWS} rows"
    assert killed or recorded == IMPORT_ROWS

    rerun = gongkai(env, "import", str(sheet), "--as", str(keyfile))
    assert rerun.returncode == 0, rerun.stderr
    done = IMPORT_ROWS - recorded
    assert f"{IMPORT_ROWS} disbursements row(s); {done} recorded, {recorded} already recorded" in rerun.stdout

    stored = stored_commands(database_url)
    rows = {idem: s for idem, s in stored.items() if idem.startswith("import:")}
    assert len(rows) == IMPORT_ROWS
    assert all(s.events == s.targets == 1 for s in rows.values())
    with opened(database_url) as app:
        assert app.account(Program, "P-DIBAO").total == FUNDED - total


# --- 2. SIGKILL during concurrent HTTP writes ------------------------------------------------------


def test_a_server_killed_during_concurrent_writes_keeps_every_acknowledged_command_exactly_once(
    database_url: str, tmp_path: Path, processes: Processes
) -> None:
    found(database_url, tmp_path)
    env = cli_env(database_url, tmp_path)
    server = Server(processes, env)
    server.start()
    clients = Clients(server.url, "kill", count=8, per_client=40)
    clients.run(until_unanswered=True)
    wait_for("80 acknowledged commands", lambda: clients.acknowledged() >= 80, timeout=30)

    server.kill()
    clients.join(timeout=10)
    acknowledged = {sent.idem for sent in clients.every() if sent.acknowledged}
    assert len(acknowledged) < len(clients.every()), "the server finished before it was killed"
    assert not clients.errors, clients.errors[:5]
    assert_stored_once(database_url, acknowledged)

    server.start()
    clients.retry_everything()

    assert_stored_once(database_url, {sent.idem for sent in clients.every()})
    assert_verifies(env)


# --- 3. PostgreSQL stopped and started again under load ------------------------------------------


@pytest.fixture
def private_postgres(tmp_path: Path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own, which it may stop: never the shared one."""
    postgres_url()  # where make test's PostgreSQL is absent, skip (or fail) like every PostgreSQL test
    server = PrivatePostgres(tmp_path / "pg")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def is_unavailable_problem(response: httpx.Response) -> bool:
    body = response.json()
    return (response.status_code == 503 and response.headers["content-type"] == PROBLEM
            and int(response.headers["Retry-After"]) > 0 and body["code"] == "database_unavailable"
            and body["title_zh"] == "服务暂时不可用")  # fmt: skip


@pytest.mark.postgres
def test_postgres_stopped_under_load_is_503_then_the_server_recovers_losing_and_doubling_nothing(
    tmp_path: Path, processes: Processes, private_postgres: PrivatePostgres
) -> None:
    url = private_postgres.url
    found(url, tmp_path)
    env = cli_env(url, tmp_path)
    server = Server(processes, env)
    server.start()
    clients = Clients(server.url, "down", count=8, per_client=25)
    clients.run(until_unanswered=False)
    wait_for("30 acknowledged commands", lambda: clients.acknowledged() >= 30, timeout=30)
    assert httpx.get(f"{server.url}/api/v1/balances", timeout=30).is_success  # reads are warm

    private_postgres.pause()  # pg_ctl stop -m fast: every session is cut off
    wait_for("clients to hear that the database is away",
             lambda: len(clients.problems) >= 3 or bool(clients.errors), timeout=30)  # fmt: skip
    assert not clients.errors, clients.errors[:5]
    read = httpx.get(f"{server.url}/api/v1/balances", timeout=30)
    assert is_unavailable_problem(read), read.text
    assert clients.acknowledged() < len(clients.every()), "the load ended before the fault"
    private_postgres.resume()

    clients.join(timeout=45)  # the same server process, never restarted, takes writes again
    assert server.process is not None and server.process.poll() is None
    assert not clients.errors, clients.errors[:5]
    assert clients.acknowledged() == len(clients.every())
    assert all(is_unavailable_problem(response) for response in clients.problems)
    wait_for("reads to work again", lambda: httpx.get(f"{server.url}/api/v1/balances", timeout=10).is_success,
             timeout=10, every=0.2)  # fmt: skip
    assert_stored_once(url, {sent.idem for sent in clients.every()})

    clients.retry_everything()
    assert_stored_once(url, {sent.idem for sent in clients.every()})
    assert_verifies(env)


# --- 4. Backup and restore ---------------------------------------------------------------------------


def record_some_days(url: str) -> None:
    """Donations, an allocation and disbursements: a ledger worth restoring."""
    signer = recorder()
    with opened(url) as app:
        for i in range(20):
            app.submit(signer.sign("donation.receive", money_donation(50_000 + i, receipt_no=f"B-{i:04d}")))
        app.submit(signer.sign("allocation.make", {"fund": "F-DISASTER", "program": "P-FLOOD",
                                                   "amount": 500_000, "date": "2026-07-11"}))  # fmt: skip
        for i in range(10):
            app.submit(signer.sign("disbursement.make", {
                "program": "P-FLOOD", "recipient": f"R-B{i:05d}", "village": "流长村",
                "amount": 10_000, "date": "2026-07-12"}))  # fmt: skip


def checkpoint(env: dict[str, str]) -> tuple[int, bytes]:
    done = gongkai(env, "log", "checkpoint", "--json")
    assert done.returncode == 0, done.stderr
    signed = json.loads(done.stdout)
    return int(signed["size"]), base64.b64decode(signed["root"])


def restore_sqlite(url: str, folder: Path) -> str:
    """``gongkai backup`` while another client is in the middle of a write, into a new file."""
    path = database_env(url)["SQLITE_DBNAME"]
    copy = folder / "restored" / "gongkai.db"
    writer = sqlite3.connect(path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO gongkai_commands VALUES ('uncommitted', '{}')")
        done = gongkai(cli_env(url, folder), "backup", "--out", str(copy))
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert done.returncode == 0, done.stderr
    copied = f"sqlite:///{copy}"
    assert query(copied, "SELECT count(*) FROM gongkai_commands WHERE key = ?", "uncommitted") == [(0,)]
    return copied


@contextmanager
def restored_postgres(url: str, folder: Path) -> Iterator[str]:
    """``pg_dump -Fc`` of the ledger, ``pg_restore``-d into a database of its own (then dropped)."""
    dump = folder / "gongkai.pgdump"
    done = subprocess.run([pg_tool("pg_dump"), "-Fc", "-f", str(dump), url],
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    name = f"gongkai_restored_{uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        restored = urlunparse(urlparse(url)._replace(path=f"/{name}"))
        done = subprocess.run([pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "-d", restored, str(dump)],
                              capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert done.returncode == 0, done.stderr
        yield restored
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def restored(url: str, folder: Path) -> Iterator[str]:
    if "SQLITE_DBNAME" in database_env(url):
        yield restore_sqlite(url, folder)
    else:
        with restored_postgres(url, folder) as copy:
            yield copy


def test_a_restored_backup_passes_verify_with_the_same_checkpoint_root(
    database_url: str, tmp_path: Path
) -> None:
    found(database_url, tmp_path)
    record_some_days(database_url)
    size, root = checkpoint(cli_env(database_url, tmp_path))

    with restored(database_url, tmp_path) as copy:
        env = cli_env(copy, tmp_path)  # the same log key file
        report = assert_verifies(env)
        assert (report["size"], bytes.fromhex(report["root"])) == (size, root)
        assert size in report["checkpoints"]  # the signed checkpoint came along, and matches
        assert checkpoint(env) == (size, root)


def test_gongkai_backup_never_overwrites_and_sends_postgresql_to_pg_dump(tmp_path: Path) -> None:
    runner = CliRunner()
    ledger = tmp_path / "gongkai.db"
    sqlite3.connect(ledger).close()
    taken = runner.invoke(main, ["--db", f"sqlite:///{ledger}", "backup", "--out", str(tmp_path / "copy.db")])
    assert taken.exit_code == 0, taken.output

    again = runner.invoke(main, ["--db", f"sqlite:///{ledger}", "backup", "--out", str(tmp_path / "copy.db")])
    assert again.exit_code == 1
    assert "refusing to overwrite" in again.stderr
    postgres = runner.invoke(main, ["--db", "postgresql://127.0.0.1:1/gongkai", "backup", "--out", "x.db"])
    assert postgres.exit_code == 1
    assert "pg_dump -Fc" in postgres.stderr
