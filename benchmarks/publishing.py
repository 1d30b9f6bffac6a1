"""6. Publish: ``gongkai publish`` (the command line, in a process of its own) of the big ledger,
then again into the same folder after 1,000 more events. The first publish builds the site's
read models from zero as of the checkpoint (kept beside the log key,
``projections.replay.kept_as_of``) and writes every file. The second applies only the new events
to the read models, renders again only the pages that name the checkpoint and the per-record
pages whose record changed, and appends to the public bundle (``publish.site_state``). The
baseline is a bare read of the whole log (every record decoded) in the same run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from api.config import Settings
from benchmarks.harness import Result, Target, say
from ledger.application import Ledger
from ledger.commands import Signer
from projections.store import database_env

NEW_EVENTS = 1_000


def publish(settings: Settings, out: Path) -> tuple[float, dict[str, object]]:
    env = {**os.environ, "GONGKAI_DATABASE_URL": settings.database_url,
           "GONGKAI_LOG_KEY_FILE": str(settings.log_key_file),
           "GONGKAI_INTAKE_KEY_FILE": str(settings.intake_key_file), "GONGKAI_ENV": "development"}  # fmt: skip
    gongkai = Path(sys.executable).with_name("gongkai")
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own command line
        [str(gongkai), "publish", "--out", str(out), "--json"],
        env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    data: dict[str, object] = json.loads(done.stdout)
    return seconds, data


def add_events(url: str, seed: int, count: int) -> None:
    """``count`` goods receipts into the relief store (one event each), in one batch."""
    from api.demo import JURISDICTION, demo_officials

    signer = Signer(demo_officials(seed)["recorder"], JURISDICTION)
    app = Ledger(env=database_env(url))
    try:
        app.submit_batch([
            signer.sign("goods.receive", {
                "store": "S-RELIEF", "source": "县应急管理局调拨", "date": "2026-12-28",
                "goods": [{"item": "棉被", "grade": "200×230cm", "unit": "床", "quantity": 10 + i % 7}],
            }) for i in range(count)
        ])  # fmt: skip
    finally:
        app.close()


def run(backend: str, settings: Settings, folder: Path, bare_seconds: float, seed: int) -> list[Result]:
    from api.bootstrap import bootstrap

    services = bootstrap(settings)
    try:
        services.log_key(create=True)
    finally:
        services.close()
    say(f"publish ({backend}): full portal")
    full, data = publish(settings, folder / f"site-{backend}")
    add_events(settings.database_url, seed, NEW_EVENTS)
    say(f"publish ({backend}): again after {NEW_EVENTS:,} new events")
    again, second = publish(settings, folder / f"site-{backend}")
    note = (f"{data['pages']:,} pages, {data['files']:,} files, {int(str(data['bytes'])) / 1e6:,.0f} MB; "
            f"phases (s): {_phases(data)}")  # fmt: skip
    again_note = (f"phases (s): {_phases(second)}; {second.get('reused', 0):,} per-record files kept as they were, "
                  "the read models caught up on the new events only, the bundle appended to")  # fmt: skip
    return [
        Result(6, "publish", backend, "full portal", full, "s", "bare read of the log, s",
               bare_seconds, full / bare_seconds, Target(120, at_most=True), note),
        Result(6, "publish", backend, f"again after {NEW_EVENTS:,} new events", again, "s",
               "full publish, s", full, again / full, Target(10, at_most=True), again_note),
    ]  # fmt: skip


def _phases(data: dict[str, object]) -> str:
    timings = data.get("timings")
    if not isinstance(timings, dict):
        return "?"
    return ", ".join(f"{name} {float(seconds):.0f}" for name, seconds in timings.items())
