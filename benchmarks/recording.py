"""1. Recording: signed single-event commands per second through ``Ledger.submit``, the client's
signing included, against a bare eventsourcing save of events of the same size on the same
database server (one transaction per event in both)."""

from __future__ import annotations

import base64
import time

from benchmarks import town
from benchmarks.bare import bare_app, save_each
from benchmarks.harness import Progress, Result, Target
from ledger.application import Ledger
from projections.store import database_env


def run(backend: str, ledger_url: str, bare_url: str, count: int) -> list[Result]:
    app = Ledger(env=database_env(ledger_url))
    try:
        recorder = town.found(app)
        # Warm up (imports, caches, prepared statements) before the timed window.
        for index in range(20):
            app.submit(recorder.sign("disbursement.make", town.disbursement(index)))
        with Progress(f"recording ({backend})", count) as bar:
            started = time.perf_counter()
            for index in range(100, 100 + count):
                app.submit(recorder.sign("disbursement.make", town.disbursement(index)))
                bar.update()
            ledger_seconds = time.perf_counter() - started
        sample = recorder.sign("disbursement.make", town.disbursement(99))
    finally:
        app.close()
    payload = (sample.signed.decode(), base64.b64encode(sample.signature).decode(), sample.key_id)
    bare = bare_app(bare_url)
    try:
        save_each(bare, [payload] * 20)
        started = time.perf_counter()
        save_each(bare, [payload] * count)
        bare_seconds = time.perf_counter() - started
    finally:
        bare.close()
    rate, bare_rate = count / ledger_seconds, count / bare_seconds
    return [Result(1, "recording", backend, "Ledger.submit, signed 1-event commands", rate,
                   "cmd/s", "bare eventsourcing save, ev/s", bare_rate, rate / bare_rate,
                   Target(0.7, on="ratio"))]  # fmt: skip
