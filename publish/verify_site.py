"""Verify a published site from its public bundle alone: no database, no server, no trust in it.

``verify_site(DIR)`` checks, and names every mismatch (it never stops at the first):

1. the checkpoint (``bundle/checkpoint``) is signed by the log key — the one given
   (``--log-key``), else ``bundle/log-key.txt`` (and the report says which was trusted: a key
   that came with the site only proves the site agrees with itself); each witness key given
   has a valid cosignature; each earlier checkpoint (``bundle/checkpoints/``) is signed too;
2. every leaf recomputed from ``bundle/events.jsonl`` folds to the checkpoint's size and root,
   the root at each earlier checkpoint's size is that checkpoint's, and the C2SP tiles hold the
   same hashes and entries (so a changed line is named by its leaf);
3. every command's Ed25519 signature is valid for a key enrolled and unrevoked at that point
   of the log, and every command passes the ledger's own rules again (``publish.log_replay``);
4. every figure of ``data/figures.json`` equals the figure recomputed from the events through
   the same flows logic and the site's own ``publish.site_figures``, for the same checkpoint;
5. every ``data-figure``/``data-value`` of every HTML page equals figures.json and the
   recomputed figure, and the element's text shows that value (``publish.page_figures``); and every ``SHA256SUMS`` file (paths relative to its folder, or to the
   site) and ``*.sha256`` sidecar matches.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ledger.checkpoint import (
    Checkpoint,
    CheckpointError,
    SignedNote,
    parse_verifier_key,
    verifier_key,
    verify_cosignature,
    verify_log_signature,
)
from ledger.errors import LedgerError
from ledger.money import format_yuan
from publish.log_replay import Replayed, replay
from publish.page_figures import FEN, displays, figures_on_pages
from publish.site_figures import Figure

BUNDLE_KEY = "bundle/log-key.txt"


@dataclass(frozen=True, slots=True)
class Problem:
    check: str  # checkpoint, log, tiles, event, signature, rules, figures, page, checksum
    where: str  # a leaf, a figure id, a page, a file
    message: str
    published: Any = None
    recomputed: Any = None

    def describe(self) -> str:
        values = [f"{name} {value}" for name, value in (("published", self.published),
                  ("recomputed", self.recomputed)) if value is not None]  # fmt: skip
        return f"{self.check} {self.where}: {self.message}" + (f" ({', '.join(values)})" if values else "")


@dataclass
class SiteReport:
    site: str
    key_source: str = ""
    log_key: str = ""
    checkpoint: dict[str, Any] = field(default_factory=dict)
    cosigners: list[str] = field(default_factory=list)
    witnesses_verified: list[str] = field(default_factory=list)
    earlier_checkpoints: list[int] = field(default_factory=list)
    leaves: int = 0
    commands: int = 0
    commands_decided: int = 0
    tile_files: int = 0
    figures: int = 0
    pages: int = 0
    page_figures: int = 0
    checksums: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, check: str, where: str, message: str, published: Any = None, recomputed: Any = None) -> None:
        self.problems.append(Problem(check, where, message, published, recomputed))

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def show(value: int, unit: str) -> str:
    return f"{format_yuan(value)} ({value} fen)" if unit == FEN else f"{value} {unit}"


def verify_site(site: Path, *, log_key: str | None = None, witness_keys: Sequence[str] = ()) -> SiteReport:
    """Check ``site`` as the module docstring says; the report lists every problem found."""
    report = SiteReport(site=str(site))
    bundle = site / "bundle"
    checkpoint = _checkpoint(report, bundle, log_key, witness_keys)
    earlier = _earlier_checkpoints(report, bundle, log_key or _read(bundle / "log-key.txt"))
    if not (bundle / "events.jsonl").is_file():
        report.add("log", "bundle/events.jsonl", "the bundle has no events: nothing can be recomputed")
        return report
    replayed = replay(bundle, set(earlier))
    _log(report, replayed, checkpoint, earlier)
    published = _figures_json(report, site, checkpoint, replayed.figures)
    _pages(report, site, published, replayed.figures)
    _checksums(report, site)
    return report


def _read(path: Path) -> str | None:
    return path.read_text(encoding="utf-8").strip() if path.is_file() else None


def _checkpoint(report: SiteReport, bundle: Path, given: str | None, witness_keys: Sequence[str]) -> Checkpoint | None:
    published_key = _read(bundle / "log-key.txt")
    if given is not None:
        report.key_source = "--log-key"
        if published_key is not None and published_key != given.strip():
            report.add("checkpoint", BUNDLE_KEY, "the site publishes another log key than the one trusted",
                       published_key, given.strip())  # fmt: skip
    elif published_key is not None:
        report.key_source = (f"{BUNDLE_KEY} (came with the site: it shows the site agrees with "
                             "itself; compare it with the key published elsewhere)")  # fmt: skip
    else:
        report.add("checkpoint", BUNDLE_KEY, "no log key: give --log-key or publish bundle/log-key.txt")
    vkey = given.strip() if given is not None else published_key
    path = bundle / "checkpoint"
    if not path.is_file():
        report.add("checkpoint", "bundle/checkpoint", "the bundle has no checkpoint")
        return None
    try:
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
        checkpoint = note.checkpoint
    except (CheckpointError, UnicodeDecodeError) as error:
        report.add("checkpoint", "bundle/checkpoint", str(error))
        return None
    report.checkpoint = {"origin": checkpoint.origin, "size": checkpoint.size,
                         "root": base64.b64encode(checkpoint.root).decode()}  # fmt: skip
    report.cosigners = [s.name for s in note.signatures if s.name != checkpoint.origin]
    if vkey is None:
        return checkpoint
    try:
        name, _, public = parse_verifier_key(vkey)
        report.log_key = verifier_key(name, public)
        verify_log_signature(note, name, public)
    except (CheckpointError, LedgerError) as error:
        report.add("checkpoint", "bundle/checkpoint", f"not signed by the trusted log key: {error}")
    for witness in witness_keys:
        try:
            name, _, public = parse_verifier_key(witness)
            verify_cosignature(note, name, public)
            report.witnesses_verified.append(name)
        except (CheckpointError, LedgerError) as error:
            report.add("checkpoint", "bundle/checkpoint", f"witness cosignature: {error}")
    return checkpoint


def _earlier_checkpoints(report: SiteReport, bundle: Path, vkey: str | None) -> dict[int, Checkpoint]:
    found: dict[int, Checkpoint] = {}
    folder = bundle / "checkpoints"
    if not folder.is_dir():
        return found
    for path in sorted(folder.iterdir()):
        where = f"bundle/checkpoints/{path.name}"
        try:
            note = SignedNote.parse(path.read_text(encoding="utf-8"))
            if vkey is not None:
                name, _, public = parse_verifier_key(vkey)
                verify_log_signature(note, name, public)
            found[note.checkpoint.size] = note.checkpoint
        except (CheckpointError, LedgerError, UnicodeDecodeError) as error:
            report.add("checkpoint", where, f"earlier checkpoint not signed by the log key: {error}")
    report.earlier_checkpoints = sorted(found)
    return found


def _log(report: SiteReport, replayed: Replayed, checkpoint: Checkpoint | None,
         earlier: dict[int, Checkpoint]) -> None:  # fmt: skip
    report.leaves, report.commands = replayed.leaves, replayed.commands
    report.commands_decided = replayed.rules_checked
    for problem in replayed.problems:
        report.add(problem.check, f"leaf {problem.leaf}", problem.message)
    tiles = replayed.tiles
    if tiles is not None:
        report.tile_files = tiles.files
        for tile in tiles.problems:
            report.add("tiles", tile.path, tile.message)
    root = base64.b64encode(replayed.root).decode()
    if checkpoint is not None and replayed.leaves != checkpoint.size:
        report.add("log", "bundle/events.jsonl", "the number of leaves is not the checkpoint's size",
                   checkpoint.size, replayed.leaves)  # fmt: skip
    elif checkpoint is not None and replayed.root != checkpoint.root:
        bad = tiles.first_bad_leaf if tiles is not None else None
        where = f"leaf {bad}" if bad is not None else "bundle/events.jsonl"
        why = (f"leaf {bad} is not the one the published tiles hold: that entry was changed"
               if bad is not None else "the events do not recompute to the signed root")  # fmt: skip
        report.add("log", where, f"root mismatch: {why}", report.checkpoint["root"], root)
    for size, old in sorted(earlier.items()):
        if checkpoint is not None and size > checkpoint.size:
            report.add("checkpoint", f"bundle/checkpoints/{size}", "an earlier checkpoint is larger than the current one")
        elif size in replayed.roots and replayed.roots[size] != old.root:
            report.add("checkpoint", f"bundle/checkpoints/{size}",
                       "the log's first leaves no longer give this earlier checkpoint's root: history was rewritten",
                       base64.b64encode(old.root).decode(), base64.b64encode(replayed.roots[size]).decode())  # fmt: skip


def _figures_json(report: SiteReport, site: Path, checkpoint: Checkpoint | None,
                  recomputed: dict[str, Figure]) -> dict[str, dict[str, Any]]:  # fmt: skip
    where = "data/figures.json"
    try:
        data = json.loads((site / where).read_text(encoding="utf-8"))
        published: dict[str, dict[str, Any]] = data["figures"]
        stated = data["checkpoint"]
    except FileNotFoundError:
        report.add("figures", where, "the site publishes no figures.json")
        return {}
    except (ValueError, KeyError, TypeError) as error:
        report.add("figures", where, f"not a figures file: {error!r}")
        return {}
    named = {k: stated.get(k) for k in ("origin", "size", "root")} if isinstance(stated, dict) else stated
    if checkpoint is not None and named != report.checkpoint:
        report.add("figures", where, "the figures are stated for another checkpoint than the bundle's",
                   stated, report.checkpoint)  # fmt: skip
    for figure_id, figure in sorted(published.items()):
        report.figures += 1
        value, unit = (figure.get("value"), figure.get("unit")) if isinstance(figure, dict) else (None, None)
        again = recomputed.get(figure_id)
        if not isinstance(value, int) or isinstance(value, bool):
            report.add("figure", figure_id, "the published value is not an integer", value)
        elif again is None:
            report.add("figure", figure_id, "no such figure can be computed from the log", show(value, str(unit)))
        elif value != again.value:
            report.add("figure", figure_id, "the published figure is not what the log gives",
                       show(value, again.unit), show(again.value, again.unit))  # fmt: skip
        elif unit != again.unit:
            report.add("figure", figure_id, "the published unit is wrong", unit, again.unit)
    return {k: v for k, v in published.items() if isinstance(v, dict)}


def _pages(report: SiteReport, site: Path, published: dict[str, dict[str, Any]],
           recomputed: dict[str, Figure]) -> None:  # fmt: skip
    for _, shown in figures_on_pages(site):
        report.pages += 1
        for figure in shown:
            report.page_figures += 1
            where = f"{figure.page}:{figure.line} {figure.figure_id}"
            listed, again = published.get(figure.figure_id), recomputed.get(figure.figure_id)
            unit = again.unit if again is not None else str((listed or {}).get("unit"))
            try:
                value = int(figure.value or "")
            except ValueError:
                report.add("page", where, "data-value is not an integer", figure.value)
                continue
            if not displays(figure.text, value, unit):
                report.add("page", where, f"the page reads {figure.text.strip()!r}, not the figure it is marked with",
                           show(value, unit))  # fmt: skip
            if listed is None:
                report.add("page", where, "the page shows a figure figures.json does not publish", show(value, unit))
                continue
            stated = listed.get("value")
            wrong = []
            if stated != value:
                wrong.append(f"differs from figures.json ({show(stated, unit) if isinstance(stated, int) else repr(stated)})")
            if again is not None and again.value != value:
                wrong.append("is not what the log gives")
            if wrong:
                report.add("page", where, f"the page's figure {' and '.join(wrong)}", show(value, unit),
                           show(again.value, unit) if again is not None else None)  # fmt: skip


def _checksums(report: SiteReport, site: Path) -> None:
    listed: list[tuple[Path, str, str]] = []  # (file, expected hex, where it is stated)
    for sums in sorted(site.rglob("SHA256SUMS")):
        for number, line in enumerate(sums.read_text(encoding="utf-8").splitlines(), 1):
            if line.strip():
                digest, _, name = line.strip().partition(" ")
                name = name.strip().lstrip("*")
                # Paths are relative to the list's own folder, or (as sha256sum run at the
                # site's root writes them) to the site.
                path = sums.parent / name if (sums.parent / name).is_file() else site / name
                listed.append((path, digest.lower(), f"{sums.relative_to(site).as_posix()}:{number}"))
    for sidecar in sorted(site.rglob("*.sha256")):
        words = sidecar.read_text(encoding="utf-8").split()
        listed.append((sidecar.with_suffix(""), words[0].lower() if words else "",
                       sidecar.relative_to(site).as_posix()))  # fmt: skip
    for path, digest, where in listed:
        report.checksums += 1
        if not path.is_file():
            report.add("checksum", where, f"{path.name} is listed but missing")
            continue
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != digest:
            report.add("checksum", where, f"{path.name} does not match its SHA-256", digest, actual)
