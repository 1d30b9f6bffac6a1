"""The big ledger of benchmarks 4–6: the demo year (``api.demo``) at the scale that gives about
``--events`` events, recorded on SQLite through ``Ledger.submit_batch`` in the demo's batches,
with the demo's disclosure record; then copied, stored record by stored record in log order,
into a PostgreSQL database (no command is decided again there: the records are the same),
with the sealed parts' ciphertexts and the subjects' keys.

The demo's commands are signed in a child process while the parent records them, as officials
sign on their own machines; signing is not what is measured here.
"""

from __future__ import annotations

import multiprocessing
from dataclasses import dataclass
from itertools import islice
from multiprocessing.queues import Queue
from typing import Any

from eventsourcing.persistence import StoredEvent

from benchmarks.harness import Progress
from ledger.application import Ledger
from ledger.commands import SignedCommand
from projections.sql import Database
from projections.store import KEYS_TABLE, SEALED_TABLE, database_env

EVENTS_PER_SCALE = 7_530  # events of one demo year at scale 1 (7,106 commands)
COMMANDS_PER_SCALE = 7_106
CHUNK = 500  # the demo's own batch size
COPY_PAGE = 2_000


@dataclass(frozen=True, slots=True)
class BigLedger:
    url: str
    scale: int
    events: int
    commands: int
    seconds: float


def scale_for(events: int) -> int:
    return max(1, round(events / EVENTS_PER_SCALE))


def _sign(seed: int, scale: int, queue: Queue[list[SignedCommand] | None]) -> None:
    from api.demo import demo_commands

    commands = demo_commands(seed, scale)
    while batch := list(islice(commands, CHUNK)):
        queue.put(batch)
    queue.put(None)
    queue.close()
    queue.join_thread()


def build(url: str, events: int, seed: int = 2026) -> BigLedger:
    """Record the demo year at the scale fitting ``events`` into the empty ledger at ``url``."""
    import time

    from api.demo import demo_officials
    from api.demo_disclosures import demo_disclosures

    scale = scale_for(events)
    context = multiprocessing.get_context("spawn")
    queue: Queue[list[SignedCommand] | None] = context.Queue(maxsize=16)
    signer = context.Process(target=_sign, args=(seed, scale, queue), daemon=True)
    signer.start()
    app = Ledger(env=database_env(url))
    started = time.perf_counter()
    try:
        commands = 0
        with Progress(f"demo year ×{scale} (SQLite)", COMMANDS_PER_SCALE * scale) as bar:
            while (batch := queue.get()) is not None:
                app.submit_batch(batch)
                commands += len(batch)
                bar.update(len(batch))
        commands += demo_disclosures(app, demo_officials(seed), seed=seed)
        stored = int(app.recorder.max_notification_id() or 0)
    finally:
        app.close()
        signer.join(timeout=10)
        queue.close()
        queue.join_thread()
    return BigLedger(url, scale, stored, commands, time.perf_counter() - started)


def copy(source: BigLedger, url: str) -> BigLedger:
    """The same stored records, in the same order, in another database."""
    import time

    started = time.perf_counter()
    origin = Ledger(env=database_env(source.url))
    target = Ledger(env=database_env(url))
    try:
        position = 0
        with Progress("copy to PostgreSQL", source.events) as bar:
            while True:
                page = origin.recorder.select_notifications(start=position + 1, limit=COPY_PAGE)
                if not page:
                    break
                records: list[Any] = [
                    StoredEvent(n.originator_id, n.originator_version, n.topic, n.state) for n in page
                ]
                target.recorder.insert_events(records)
                position = page[-1].id
                bar.update(len(page))
        stored = int(target.recorder.max_notification_id() or 0)
    finally:
        origin.close()
        target.close()
    assert stored == source.events, (stored, source.events)
    _copy_sealed(source.url, url)
    return BigLedger(url, source.scale, stored, source.commands, time.perf_counter() - started)


def _copy_sealed(source: str, target: str) -> None:
    """The sealed parts' ciphertexts and the subjects' keys, as stored: ``verify`` checks that
    every sealed part a command names is still held."""
    origin, destination = Database(source), Database(target)
    try:
        with origin.read() as rows, destination.transaction() as cursor:
            for table, columns in ((SEALED_TABLE, ("digest", "subject", "nonce", "ciphertext")),
                                   (KEYS_TABLE, ("subject", "key", "created_at", "erased_at"))):  # fmt: skip
                rows.execute(f"SELECT {', '.join(columns)} FROM {table}")
                cursor.copy_rows(table, columns, rows)
    finally:
        origin.close()
        destination.close()
