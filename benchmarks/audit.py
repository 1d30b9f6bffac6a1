"""4. Audit: ``projections.audit.verify`` over the big ledger (every signature against the key
registry as it stood, every command decided again, every leaf and the root), in a process of
its own so its peak memory is its own, against the machine's Ed25519 verification rate
measured in the same run over signatures of the same log (one core: verify is one thread)."""

from __future__ import annotations

import base64
import json
import multiprocessing
import time
from multiprocessing.connection import Connection

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from benchmarks.harness import Result, Target, peak_rss_mb
from ledger.application import Ledger
from ledger.batch import is_batch_signature
from projections.store import database_env

CORES_USED = 1  # verify runs in one thread


def ed25519_rate(url: str, seconds: float = 3.0, sample: int = 2_000) -> float:
    """Signatures verified per second by ``cryptography`` on one core, keys already parsed."""
    app = Ledger(env=database_env(url))
    try:
        registry = app.registry()
        triples = []
        for n in app.recorder.select_notifications(start=1, limit=sample):
            event = app.mapper.to_domain_event(n)
            key_id = event.key_id  # type: ignore[attr-defined]
            official = registry.find(key_id)
            if official is None or is_batch_signature(base64.b64decode(event.sig)):  # type: ignore[attr-defined]
                continue  # plain signatures over the signed text only
            triples.append((Ed25519PublicKey.from_public_bytes(official.public_key.raw),
                            base64.b64decode(event.sig), event.signed.encode()))  # type: ignore[attr-defined]  # fmt: skip
    finally:
        app.close()
    done = 0
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        for key, signature, message in triples:
            key.verify(signature, message)
        done += len(triples)
    return done / (time.perf_counter() - started)


def _verify(url: str, out: Connection) -> None:
    from benchmarks.harness import Progress
    from projections.audit import verify

    app = Ledger(env=database_env(url))
    try:
        total = int(app.recorder.max_notification_id() or 0)
        with Progress("verify", total) as bar:
            started = time.perf_counter()
            report = verify(app, progress=bar.update)
            seconds = time.perf_counter() - started
    finally:
        app.close()
    failure = report.failure.describe() if report.failure else ""
    out.send((report.events, report.commands, seconds, peak_rss_mb(), failure))
    out.close()


def signature_mix(url: str) -> tuple[int, int, int]:
    """(events with a plain signature, batch-signed events, distinct batches) in the log:
    verify checks one Ed25519 signature per plain event and one per batch."""
    app = Ledger(env=database_env(url))
    plain = rows = 0
    batches: set[bytes] = set()
    try:
        position = 0
        while page := app.recorder.select_notifications(start=position + 1, limit=2_000):
            for n in page:
                sig = base64.b64decode(json.loads(n.state)["sig"])
                if is_batch_signature(sig):
                    rows += 1
                    batches.add(sig[4:68])
                else:
                    plain += 1
            position = page[-1].id
    finally:
        app.close()
    return plain, rows, len(batches)


def run(backend: str, url: str) -> list[Result]:
    limit = ed25519_rate(url) * CORES_USED
    plain, rows, batches = signature_mix(url)
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_verify, args=(url, sender))
    child.start()
    events, commands, seconds, peak, failure = receiver.recv()
    child.join()
    if failure:
        raise RuntimeError(f"verify failed on the benchmark ledger: {failure}")
    rate = events / seconds
    note = (f"{events:,} events ({commands:,} commands) in {seconds:.1f} s; Ed25519 alone "
            f"{limit:,.0f} verifications/s on {CORES_USED} core; {plain:,} events signed alone, "
            f"{rows:,} rows of {batches:,} batch-signed sheets (one Ed25519 check per sheet, a "
            f"Merkle proof per row)")  # fmt: skip
    return [
        Result(4, "audit", backend, "verify, events/s", rate, "ev/s",
               "Ed25519 verify/s × cores used", limit, rate / limit, Target(0.8, on="ratio"), note),
        Result(4, "audit", backend, "verify, peak memory", peak, "MB", "", None, None,
               Target(300, at_most=True)),
    ]  # fmt: skip
