"""Export the log as C2SP tlog-tiles for static hosting.

    checkpoint                      the latest signed checkpoint (with cosignatures)
    tile/<L>/<N>[.p/<W>]            hashes: tile N of level L holds up to 256 hashes of tree level 8·L
    tile/entries/<N>[.p/<W>]        entry bundles: each leaf's data as a 2-byte big-endian length ‖ data

A leaf's data is the event's signed bytes ‖ signature ‖ key id, so SHA-256(0x00 ‖ data) is its
leaf hash and anyone can recompute the tree from the entry bundles. Streams by tile.
"""

from __future__ import annotations

import base64
import struct
from pathlib import Path

from ledger.application import Ledger
from ledger.checkpoint import SignedNote
from projections.sql import Database

WIDTH = 256
HEIGHT = 8


def tile_path(index: int) -> str:
    """C2SP index encoding: 1234067 -> x001/x234/067."""
    text = str(index)
    text = "0" * (-len(text) % 3) + text
    parts = [text[i : i + 3] for i in range(0, len(text), 3)]
    return "/".join([*("x" + p for p in parts[:-1]), parts[-1]])


def _name(prefix: str, index: int, width: int) -> str:
    suffix = f".p/{width}" if width < WIDTH else ""
    return f"{prefix}/{tile_path(index)}{suffix}"


def write_tiles(app: Ledger, db: Database, note: SignedNote, out: Path, *, since: int = 0) -> int:
    """Write the tiles of the tree of the checkpoint's size; return how many files.

    ``since``: ``out`` already holds the tiles of the tree of that size (an earlier checkpoint of
    the same log). Full tiles never change, so only the tiles from its right edge on are written,
    and its partial tiles that the new tree has replaced are deleted: the folder ends as a
    from-zero write of the new size leaves it.
    """
    size = note.checkpoint.size
    out.mkdir(parents=True, exist_ok=True)
    (out / "checkpoint").write_text(note.text(), encoding="utf-8")
    files = 1
    level = 0
    count = size
    while count > 0:
        old = since >> (level * HEIGHT)
        written = set()
        for tile in range(old // WIDTH, (count + WIDTH - 1) // WIDTH):
            start = tile * WIDTH
            width = min(WIDTH, count - start)
            rows = db.query(
                "SELECT hash FROM gk_merkle_nodes WHERE level = ? AND idx >= ? AND idx < ? "
                "ORDER BY idx",
                (level * HEIGHT, start, start + width),
            )
            if len(rows) != width:
                raise LookupError(f"Merkle nodes missing for tile {level}/{tile}")
            name = _name(f"tile/{level}", tile, width)
            path = out / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"".join(bytes(r[0]) for r in rows))
            written.add(name)
            files += 1
        _drop_partial(out, f"tile/{level}", old, written)
        level += 1
        count = size >> (level * HEIGHT)
    return files + _write_entries(app, db, size, out, since)


def _drop_partial(out: Path, prefix: str, old: int, written: set[str]) -> None:
    """Delete the partial tile of an earlier tree (``old`` hashes at this level) if it was not
    written again under the same name."""
    if old % WIDTH == 0:
        return
    name = _name(prefix, old // WIDTH, old % WIDTH)
    if name not in written:
        path = out / name
        path.unlink(missing_ok=True)
        if path.parent.name.endswith(".p") and not any(path.parent.iterdir()):
            path.parent.rmdir()


def _write_entries(app: Ledger, db: Database, size: int, out: Path, since: int) -> int:
    files = 0
    bundle: list[bytes] = []
    written = set()
    for start in range(since // WIDTH * WIDTH, size, WIDTH):
        rows = db.query(
            "SELECT notification_id FROM gk_merkle_leaves WHERE idx >= ? AND idx < ? ORDER BY idx",
            (start, min(size, start + WIDTH)),
        )
        first, last = int(rows[0][0]), int(rows[-1][0])
        notifications = app.recorder.select_notifications(start=first, limit=len(rows), stop=last)
        for n in notifications:
            event = app.mapper.to_domain_event(n)
            data = (
                event.signed.encode("utf-8")  # type: ignore[attr-defined]
                + base64.b64decode(event.sig)  # type: ignore[attr-defined]
                + event.key_id.encode("ascii")  # type: ignore[attr-defined]
            )
            bundle.append(struct.pack(">H", len(data)) + data)
        name = _name("tile/entries", start // WIDTH, len(bundle))
        path = out / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"".join(bundle))
        written.add(name)
        bundle = []
        files += 1
    _drop_partial(out, "tile/entries", since, written)
    return files
