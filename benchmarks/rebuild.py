"""5. Rebuild: every read model of the composition root (``api.bootstrap``: balances, the Merkle
log, flows, recipients, disclosures, tracing) dropped and rebuilt from zero by
``Runner.rebuild`` on the ledger's own database, against a bare read of the same
notifications (the runner's page size, each record decoded into its event)."""

from __future__ import annotations

import time

from api.bootstrap import bootstrap
from api.config import Settings
from benchmarks.harness import Progress, Result, Target
from ledger.application import Ledger
from projections.store import database_env

PAGE = 1000


def bare_read(url: str) -> tuple[int, float]:
    app = Ledger(env=database_env(url))
    try:
        started = time.perf_counter()
        count, position = 0, 0
        while page := app.recorder.select_notifications(start=position + 1, limit=PAGE):
            for notification in page:
                app.mapper.to_domain_event(notification)
            count += len(page)
            position = page[-1].id
        return count, time.perf_counter() - started
    finally:
        app.close()


def run(backend: str, url: str, settings: Settings) -> list[Result]:
    events, bare_seconds = bare_read(url)
    services = bootstrap(settings)
    try:
        runner = services.runner
        with Progress(f"rebuild ×{len(runner.projections)} read models", events * len(runner.projections)) as bar:
            started = time.perf_counter()
            runner.rebuild(progress=bar.update)
            seconds = time.perf_counter() - started
    finally:
        services.close()
    rate, bare_rate = events / seconds, events / bare_seconds
    note = f"{events:,} events, {len(runner.projections)} read models, in {seconds:.1f} s"
    return [Result(5, "rebuild", backend, "all read models from zero, events/s", rate, "ev/s",
                   "bare read of the log, ev/s", bare_rate, rate / bare_rate, Target(20_000), note)]  # fmt: skip
