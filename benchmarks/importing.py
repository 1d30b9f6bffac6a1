"""2. Import: a disbursement sheet (CSV, ``--import-rows`` rows, 100,000 by default) through
``api.importer.import_file``: the rows checked, signed by the importing official as one batch
(a canonical encoding per row, one Ed25519 signature over the Merkle root of the rows:
``ledger.batch``), then recorded all-or-nothing by ``Ledger.submit_batch``. The baseline is a
bare eventsourcing save of as many events of the same size, 1,000 per transaction, on the
same database server.

The stages are timed apart too: checking the sheet, signing, and recording (server side).
"""

from __future__ import annotations

import base64
import csv
import multiprocessing
import time
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchmarks import town
from benchmarks.bare import bare_app, save_chunks
from benchmarks.harness import Progress, Result, Target, peak_rss_mb
from ledger.application import Ledger
from ledger.commands import SignedCommand, Signer, Unsigned
from projections.store import database_env

HEADERS = ("项目代码", "受助人编号", "村（社区）", "金额(元)", "发放日期", "所属月份")


def write_sheet(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(HEADERS)
        for index in range(rows):
            body = town.disbursement(index)
            writer.writerow((body["program"], body["recipient"], body["village"],
                             f"{body['amount'] / 100:.2f}", body["date"], body["period"]))  # fmt: skip


class _TimedSigner(Signer):
    """The importing official's signer, timing the signing stage (each row's canonical
    payload, then the one batch signature) and counting rows."""

    def __init__(self, signer: Signer, bar: Progress) -> None:
        super().__init__(signer.key, signer.jurisdiction)
        self.seconds = 0.0
        self.bar = bar
        self.last: SignedCommand | None = None

    def prepare(self, cmd: str, body: dict[str, Any], *, idem: str | None = None,
                at: datetime | None = None, **more: Any) -> Unsigned:  # fmt: skip
        started = time.perf_counter()
        unsigned = super().prepare(cmd, body, idem=idem, at=at, **more)
        self.seconds += time.perf_counter() - started
        self.bar.update()
        return unsigned

    def sign_batch(self, commands: Sequence[Unsigned]) -> list[SignedCommand]:
        started = time.perf_counter()
        signed = super().sign_batch(commands)
        self.seconds += time.perf_counter() - started
        self.last = signed[-1]
        return signed


def _import(ledger_url: str, sheet: Path, rows: int, out: Connection) -> None:
    """The import, in a process of its own so that its peak memory is its own."""
    from api.importer import check_sheet, import_file

    app = Ledger(env=database_env(ledger_url))
    try:
        recorder = town.found(app)
        started = time.perf_counter()
        check_sheet(app, sheet.name, sheet.read_bytes())
        check_seconds = time.perf_counter() - started
        with Progress(f"import {rows:,} rows", rows) as bar:
            timed = _TimedSigner(recorder, bar)
            started = time.perf_counter()
            report = import_file(app, timed, sheet)
            total = time.perf_counter() - started
    finally:
        app.close()
    assert report.recorded == rows, report
    sample = timed.last
    assert sample is not None
    payload = (sample.signed.decode(), base64.b64encode(sample.signature).decode(), sample.key_id)
    out.send((check_seconds, timed.seconds, total, peak_rss_mb(), payload))
    out.close()


def run(backend: str, ledger_url: str, bare_url: str, sheet: Path, rows: int) -> list[Result]:
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_import, args=(ledger_url, sheet, rows, sender))
    child.start()
    check_seconds, sign_seconds, total, peak, payload = receiver.recv()
    child.join()
    bare = bare_app(bare_url)
    try:
        started = time.perf_counter()
        save_chunks(bare, [payload] * rows, 1000)
        bare_seconds = time.perf_counter() - started
    finally:
        bare.close()
    rate, bare_rate = rows / total, rows / bare_seconds
    recording = total - check_seconds - sign_seconds
    server = rows / max(1e-9, recording)
    note = (f"{rows:,} rows in {total:.1f} s: checking the sheet {check_seconds:.1f} s, signing the "
            f"batch {sign_seconds:.1f} s, recording {recording:.1f} s ({server:,.0f} rows/s server "
            f"side), one transaction; peak memory of the importing process {peak:,.0f} MB")  # fmt: skip
    target = Target(5000) if backend == "postgresql" else None
    return [
        Result(2, "import", backend, "import_file, batch-signed rows", rate, "rows/s",
               "bare save, 1,000 ev/txn, ev/s", bare_rate, rate / bare_rate, target, note),
        Result(2, "import", backend, "  of which recording (Ledger.submit_batch)", server, "rows/s",
               "bare save, 1,000 ev/txn, ev/s", bare_rate, server / bare_rate, target),
    ]  # fmt: skip
