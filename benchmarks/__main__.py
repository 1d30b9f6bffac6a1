"""``python -m benchmarks`` (``make bench``): run the benchmarks of issue 8 and print the table.

    python -m benchmarks [--events N] [--import-rows N] [--records N] [--http-seconds S]
                         [--only 1,2,3,4,5,6] [--backends sqlite,postgresql] [--json FILE] [--keep]

The defaults build a big ledger of 100,000 events for benchmarks 4–6; the issue asks
1,000,000 (``--events 1000000``: 36 minutes for the whole run on a 2-core machine, see
``docs/benchmarks.md``). The
results table goes to stdout (Markdown, as ``docs/benchmarks.md`` records it), progress and
the machine's description to stderr.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path

from api.config import Settings
from benchmarks import (
    audit,
    big_ledger,
    databases,
    harness,
    http_load,
    importing,
    publishing,
    rebuild,
    recording,
)
from benchmarks.harness import Result, say

BACKENDS = ("sqlite", "postgresql")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--events", type=int, default=100_000,
                        help="size of the big ledger for audit, rebuild and publish (default 100,000)")
    parser.add_argument("--import-rows", type=int, default=100_000, help="rows of the import sheet")
    parser.add_argument("--records", type=int, default=1_000, help="commands timed by benchmark 1")
    parser.add_argument("--http-seconds", type=float, default=20.0, help="length of the HTTP load window")
    parser.add_argument("--only", default="1,2,3,4,5,6", help="which benchmarks, by number")
    parser.add_argument("--backends", default=",".join(BACKENDS), help="sqlite and/or postgresql")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the demo year")
    parser.add_argument("--json", type=Path, default=None, help="also write the results here")
    parser.add_argument("--keep", action="store_true", help="keep the run's folder (databases, sites)")
    return parser.parse_args()


def main() -> None:
    args = _arguments()
    # Stopped with SIGTERM (kill, a CI timeout) it still stops its PostgreSQL server and removes
    # its folder: the ``finally`` blocks below run only if the signal becomes an exception.
    signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    only = {int(n) for n in args.only.split(",") if n.strip()}
    backends = [b for b in args.backends.split(",") if b in BACKENDS]
    folder = Path(tempfile.mkdtemp(prefix="gongkai-bench-"))
    started = time.monotonic()
    info = harness.machine()
    loads = [harness.load_average()]
    results: list[Result] = []
    try:
        with databases.PostgresServer(folder, needed="postgresql" in backends) as server:
            info["postgresql"] = server.version() if "postgresql" in backends else "not run"

            def url(backend: str, name: str) -> str:
                return databases.sqlite_url(folder, name) if backend == "sqlite" else server.database(name)

            if 1 in only:
                for backend in backends:
                    results += recording.run(backend, url(backend, "recording"), url(backend, "recording_bare"),
                                             args.records)  # fmt: skip
            if 2 in only:
                sheet = folder / "disbursements.csv"
                importing.write_sheet(sheet, args.import_rows)
                for backend in backends:
                    results += importing.run(backend, url(backend, "import"), url(backend, "import_bare"),
                                             sheet, args.import_rows)  # fmt: skip
            if 3 in only and "postgresql" in backends:
                results += http_load.run(url("postgresql", "http"), folder, args.http_seconds)
            loads.append(harness.load_average())
            if only & {4, 5, 6}:
                say(f"building the big ledger (~{args.events:,} events)")
                built = big_ledger.build(databases.sqlite_url(folder, "big"), args.events, args.seed)
                info["big ledger"] = (f"demo year ×{built.scale}: {built.events:,} events, "
                                      f"{built.commands:,} commands, recorded in {built.seconds:.0f} s")  # fmt: skip
                ledgers = {"sqlite": built}
                if "postgresql" in backends:
                    ledgers["postgresql"] = big_ledger.copy(built, server.database("big"))
                for backend in backends:
                    ledger = ledgers[backend]
                    # A folder of its own per backend: publish keeps its read models beside the key.
                    (folder / backend).mkdir(exist_ok=True)
                    settings = Settings(database_url=ledger.url, log_key_file=folder / backend / "log.key",
                                        intake_key_file=folder / backend / "intake.key")  # fmt: skip
                    if 4 in only:
                        results += audit.run(backend, ledger.url)
                    if only & {5, 6}:
                        rebuilt = rebuild.run(backend, ledger.url, settings)
                        bare_seconds = ledger.events / (rebuilt[0].baseline_value or 1)
                        if 5 in only:
                            results += rebuilt
                        if 6 in only:
                            results += publishing.run(backend, settings, folder, bare_seconds, args.seed)
            loads.append(harness.load_average())
    finally:
        if args.keep:
            say(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    results.sort(key=lambda r: (r.number, BACKENDS.index(r.backend) if r.backend in BACKENDS else 9))
    info["load average (1/5/15 min) at start, middle, end"] = " | ".join(loads)
    info["wall time"] = f"{time.monotonic() - started:.0f} s"
    for key, value in info.items():
        say(f"{key}: {value}")
    print(harness.table(results))
    if args.json is not None:
        args.json.write_text(json.dumps({"machine": info, "results": [r.to_json() for r in results]},
                                        ensure_ascii=False, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
