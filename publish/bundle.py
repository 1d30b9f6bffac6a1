"""The public bundle: the complete log, as of one signed checkpoint, for anyone to verify.

``write_bundle`` writes under ``<site>/bundle/``::

    checkpoint          the signed note (C2SP), with every witness cosignature
    checkpoints/<size>  each earlier stored checkpoint, so anyone sees the history only grew
    log-key.txt         the log's note verifier key (compare it with the one published elsewhere)
    events.jsonl        one line per leaf, in log order, up to the checkpoint's size:
                        {"index", "signed", "sig", "key_id", "sealed"}
    tile/…              the C2SP tlog-tiles (hash tiles and entry bundles) of the same tree
    README.txt          how to verify by hand (Chinese and English)

A line's ``signed`` is the exact text the official signed (the event's public part: sealed
personal data is in it only as its salted digest, repeated as ``sealed``), ``sig`` the base64
Ed25519 signature, ``key_id`` the signer's key id; its leaf is SHA-256(0x00 ‖ UTF-8 signed ‖ sig
‖ key id). A command touching two aggregates is stored as two events with the same signed bytes,
so it is two identical consecutive lines (two leaves). The same checkpoint always gives the same
bytes. The bundle is checked against the checkpoint's root while it is written: a bundle that
does not recompute to its checkpoint is never published.
"""

from __future__ import annotations

import base64
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.application import Ledger
from ledger.checkpoint import SignedNote, verifier_key
from ledger.commands import payload_of
from ledger.errors import LedgerError
from ledger.keys import PublicKey
from ledger.merkle import CompactRange
from projections import checkpoints
from projections.merkle_log import compact_range, leaf_of, stored_leaf, tree
from projections.sql import Database
from projections.store import database_env
from projections.tiles import write_tiles
from publish.site_state import BundleMark

BUNDLE = "bundle"
PAGE = 1000
_README = Path(__file__).with_name("static") / "bundle-README.txt"


class BundleError(LedgerError):
    """The log in the database does not recompute to the checkpoint being published."""

    code = "bundle_mismatch"


def event_line(index: int, event: Any) -> str:
    """One line of ``events.jsonl`` for a decoded stored event (deterministic bytes)."""
    line = {
        "index": index,
        "signed": event.signed,
        "sig": event.sig,
        "key_id": event.key_id,
        "sealed": payload_of(event.signed).get("sealed"),
    }
    return json.dumps(line, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"


def stored_events(app: Ledger, size: int, start: int = 1) -> Iterator[Any]:
    """``size`` stored events in the global order (the Merkle leaf order) from notification id
    ``start`` on, streamed."""
    count = 0
    while count < size:
        page = app.recorder.select_notifications(start=start, limit=min(PAGE, size - count))
        if not page:
            raise BundleError(f"the log ends {size - count} events before the checkpoint's size")
        for notification in page:
            yield app.mapper.to_domain_event(notification)
        count += len(page)
        start = page[-1].id + 1


def write_bundle(
    app: Ledger, db: Database, note: SignedNote, site_dir: Path, *, log_key: PublicKey,
    since: BundleMark | None = None,
) -> BundleMark:  # fmt: skip
    """Write the public bundle of ``note``'s tree under ``site_dir/bundle``; return how far it
    goes (for the next publish's ``since``).

    ``note`` is the checkpoint to publish as stored (with its cosignatures); ``log_key`` the
    log's public key, published as its verifier key string. ``since`` is how far the bundle in
    the folder went when the last publish left it: if ``events.jsonl`` is still as it was left
    (length and modification time) and that tree is this log's, the new leaves are appended and
    only the tiles from the old right edge on are written; otherwise the bundle is written whole.
    Raises ``BundleError`` if the stored events do not recompute to the checkpoint's root (an
    append is then undone).
    """
    checkpoint = note.checkpoint
    out = site_dir / BUNDLE
    events = out / "events.jsonl"
    start = _appendable(db, since, events, checkpoint.size)
    if start == 0:
        if out.exists():
            shutil.rmtree(out)  # written whole: no stale tiles of another size
        out.mkdir(parents=True)
        tree, first_id = CompactRange(), 1
    else:
        tree = compact_range(db, start)
        first_id = leaf_of(db, start)[0] if start < checkpoint.size else 1
    with events.open("a" if start else "w", encoding="utf-8", newline="\n") as lines:
        for index, event in enumerate(stored_events(app, checkpoint.size - start, first_id), start):
            tree.append(stored_leaf(event))
            lines.write(event_line(index, event))
        if tree.root() != checkpoint.root:
            if since is not None and start:
                lines.truncate(since.events_bytes)
            raise BundleError(
                f"the stored log's root at size {checkpoint.size} is not the checkpoint's root"
            )
    write_tiles(app, db, note, out, since=start)  # writes ``checkpoint`` too
    (out / "log-key.txt").write_text(
        verifier_key(checkpoint.origin, log_key) + "\n", encoding="utf-8"
    )
    shutil.rmtree(out / "checkpoints", ignore_errors=True)
    for earlier in checkpoints.all_checkpoints(db):
        size = earlier.checkpoint.size
        if size < checkpoint.size:
            (out / "checkpoints").mkdir(exist_ok=True)
            (out / "checkpoints" / str(size)).write_text(earlier.text(), encoding="utf-8")
    shutil.copyfile(_README, out / "README.txt")
    written = events.stat()
    return BundleMark(checkpoint.size, checkpoint.root, written.st_size, written.st_mtime_ns)


def write_bundle_apart(url: str, note_text: str, site_dir: Path, log_key: PublicKey,
                       since: BundleMark | None) -> tuple[BundleMark, float]:  # fmt: skip
    """``write_bundle`` over connections of its own, for another process (``gongkai publish``
    writes the bundle beside the pages, on the other core); returns how far it went and the
    seconds it took."""
    started = time.monotonic()
    app, db = Ledger(env=database_env(url)), Database(url)
    try:
        mark = write_bundle(app, db, SignedNote.parse(note_text), site_dir, log_key=log_key, since=since)
    finally:
        db.close()
        app.close()
    return mark, time.monotonic() - started


def _appendable(db: Database, since: BundleMark | None, events: Path, size: int) -> int:
    """The size of the tree the bundle in the folder holds, if new leaves can be appended to it;
    otherwise 0 (write it whole)."""
    if since is None or not 0 < since.size <= size or not (events.parent / "tile").is_dir():
        return 0
    try:
        found = events.stat()
    except FileNotFoundError:
        return 0
    if (found.st_size, found.st_mtime_ns) != (since.events_bytes, since.events_mtime_ns):
        return 0
    if tree(db, since.size).root() != since.root:
        return 0  # not this log's tree (another ledger published into the same folder)
    return since.size


def checkpoint_json(note: SignedNote) -> dict[str, Any]:
    """The checkpoint as ``data/figures.json`` names it: origin, size, base64 root."""
    checkpoint = note.checkpoint
    return {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode(),
    }
