"""``gongkai log …``, ``gongkai witness cosign`` and ``gongkai verify``: the transparency log."""

from __future__ import annotations

import base64
import sys
from pathlib import Path
from typing import Any

import click

from api.cli import State, emit, json_option, main, pass_state
from ledger.checkpoint import (
    SignedNote,
    parse_verifier_key,
    verifier_key,
    verify_log_signature,
)
from ledger.errors import InputError
from ledger.keys import read_private_key
from ledger.merkle import ProofError
from ledger.money import format_yuan
from projections import checkpoints
from projections.audit import verify
from projections.merkle_log import leaf_of, tree
from projections.tiles import write_tiles
from projections.witness import ForkDetected, cosign_latest


def _b64(values: list[bytes]) -> list[str]:
    return [base64.b64encode(v).decode() for v in values]


@main.group()
def log() -> None:
    """The transparency log: checkpoints, proofs, tiles."""


@log.command("key")
@pass_state
def log_key(state: State) -> None:
    """Print the log's note verifier key (publish it; witnesses and auditors need it)."""
    services = state.services
    click.echo(verifier_key(services.origin, services.log_key().public))


@log.command("checkpoint")
@json_option
@pass_state
def log_checkpoint(state: State, as_json: bool) -> None:
    """Bring the log up to date and sign a checkpoint of its current size (C2SP format)."""
    services = state.services
    db = services.read_models()
    note = checkpoints.make_checkpoint(db, services.origin, services.log_key())
    if as_json:
        cp = note.checkpoint
        emit({"origin": cp.origin, "size": cp.size, "root": base64.b64encode(cp.root).decode(),
              "note": note.text()})  # fmt: skip
    else:
        click.echo(note.text(), nl=False)


@log.group("prove")
def prove() -> None:
    """Inclusion and consistency proofs (RFC 9162)."""


@prove.command("inclusion")
@click.argument("index", type=int)
@click.option("--size", type=int, default=None, help="tree size (default: the current size)")
@json_option
@pass_state
def prove_inclusion(state: State, index: int, size: int | None, as_json: bool) -> None:
    """Prove that leaf INDEX (0-based, in the global order) is in the tree."""
    db = state.services.read_models()
    try:
        t = tree(db, size)
        proof = t.inclusion_proof(index)
    except (ValueError, ProofError) as error:
        raise InputError(str(error)) from None
    position, aggregate, version = leaf_of(db, index)
    leaf_row = db.query("SELECT hash FROM gk_merkle_nodes WHERE level = 0 AND idx = ?", (index,))
    data = {"leaf_index": index, "tree_size": t.size, "root": base64.b64encode(t.root()).decode(),
            "leaf_hash": base64.b64encode(bytes(leaf_row[0][0])).decode(), "proof": _b64(proof),
            "position": position, "aggregate": aggregate, "version": version}  # fmt: skip
    _print_proof(data, as_json)


@prove.command("consistency")
@click.argument("old", type=int)
@click.argument("new", type=int)
@json_option
@pass_state
def prove_consistency(state: State, old: int, new: int, as_json: bool) -> None:
    """Prove that the tree of size NEW extends the tree of size OLD."""
    db = state.services.read_models()
    try:
        t_new, t_old = tree(db, new), tree(db, old)
        proof = t_new.consistency_proof(old) if old != new else []
    except (ValueError, ProofError) as error:
        raise InputError(str(error)) from None
    data = {"size1": old, "size2": new, "root1": base64.b64encode(t_old.root()).decode(),
            "root2": base64.b64encode(t_new.root()).decode(), "proof": _b64(proof)}  # fmt: skip
    _print_proof(data, as_json)


def _print_proof(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit(data)
        return
    for key, value in data.items():
        if key == "proof":
            click.echo("proof:")
            for line in value:
                click.echo(f"  {line}")
        else:
            click.echo(f"{key}: {value}")


@log.command("tiles")
@click.option("--out", required=True, type=click.Path(file_okay=False, path_type=Path))
@pass_state
def log_tiles(state: State, out: Path) -> None:
    """Write the latest checkpoint's tree as C2SP tlog-tiles under --out."""
    services = state.services
    db = services.read_models()
    note = checkpoints.latest(db) or checkpoints.make_checkpoint(db, services.origin, services.log_key())
    count = write_tiles(services.ledger, db, note, out)
    click.echo(f"wrote {count} files for a tree of {note.checkpoint.size} leaves to {out}")


@main.group()
def witness() -> None:
    """Witnessing: cosign checkpoints only if they extend what was cosigned before."""


@witness.command("cosign")
@click.option("--key", "keyfile", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the witness's own private key")
@click.option("--name", required=True, help="the witness's name, e.g. 息烽县政务公开办")
@click.option("--state", "state_file", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the witness's own state file (last cosigned checkpoint)")
@click.option("--log-key", "log_vkey", required=True, help="the log's verifier key (from `gongkai log key`)")
@pass_state
def witness_cosign(state: State, keyfile: Path, name: str, state_file: Path, log_vkey: str) -> None:
    """Check the ledger's latest checkpoint and cosign it.

    Refuses (exit 1) unless the log key signed it and a consistency proof shows it extends the
    checkpoint this witness last cosigned: a rewritten history (a fork) is never cosigned.
    """
    origin, _, log_public = parse_verifier_key(log_vkey)
    key = read_private_key(keyfile, state.passphrase(keyfile))
    try:
        cosigned = cosign_latest(state.services.read_models(), state_file=state_file, name=name,
                                 key=key, origin=origin, log_key=log_public)  # fmt: skip
    except ForkDetected as fork:
        click.echo(f"FORK: {fork.message}", err=True)
        raise SystemExit(1) from None
    click.echo(cosigned.text(), nl=False)


@main.command("verify")
@click.option("--log-key", "log_vkey", default=None, help="the log's verifier key (default: this ledger's log key)")
@click.option("--checkpoint", "checkpoint_paths", multiple=True,
              type=click.Path(exists=True, path_type=Path),
              help="earlier checkpoints to check against (files, or a directory of them)")
@json_option
@pass_state
def verify_cmd(state: State, log_vkey: str | None, checkpoint_paths: tuple[Path, ...], as_json: bool) -> None:
    """Audit the whole log: signatures, keys as they stood, invariants, root and checkpoints.

    Exits 1 and names the first bad event (position, aggregate, event, what failed).
    """
    services = state.services
    ledger = services.ledger
    if log_vkey is not None:
        origin, _, public = parse_verifier_key(log_vkey)
    else:
        origin, public = services.origin, services.log_key().public
    notes = checkpoints.all_checkpoints(services.read_models())
    for path in checkpoint_paths:
        files = sorted(p for p in path.iterdir() if p.is_file()) if path.is_dir() else [path]
        notes += [SignedNote.parse(p.read_text(encoding="utf-8")) for p in files]
    total = ledger.recorder.max_notification_id() or 0
    if sys.stderr.isatty() and not as_json:
        with click.progressbar(length=total, label="verify", file=sys.stderr) as bar:
            report = verify(ledger, log_name=origin, log_key=public, checkpoints=notes,
                            progress=bar.update)  # fmt: skip
    else:
        report = verify(ledger, log_name=origin, log_key=public, checkpoints=notes)
    if as_json:
        emit(report.to_json())
    elif report.ok:
        click.echo(f"OK: {report.events} events, {report.commands} commands, root {report.root}, "
                   f"{len(report.checkpoints)} checkpoint(s) match")  # fmt: skip
    if report.failure is not None:
        if not as_json:
            click.echo(f"FAILED: {report.failure.describe()}", err=True)
        raise SystemExit(1)


@main.command("replay")
@click.option("--as-of", "as_of_text", required=True,
              help="a checkpoint file, a tree size, or a date YYYY-MM-DD (end of day, UTC+8)")
@json_option
@pass_state
def replay_cmd(state: State, as_of_text: str, as_json: bool) -> None:
    """Rebuild the books from zero as of a checkpoint or date, and diff them with today's."""
    from datetime import date as date_type

    from projections.replay import as_of, diff

    services = state.services
    live = services.read_models()
    size: int | None = None
    day: date_type | None = None
    path = Path(as_of_text)
    if path.is_file():
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
        size = verify_log_signature(note, services.origin, services.log_key().public).size
    elif as_of_text.isdigit():
        size = int(as_of_text)
    else:
        try:
            day = date_type.fromisoformat(as_of_text)
        except ValueError:
            raise InputError(f"--as-of {as_of_text!r} is not a checkpoint file, size or date") from None
    if size is not None and size > tree(live).size:
        raise InputError(f"--as-of size {size} is larger than the log ({tree(live).size})")
    then = as_of(services.ledger, live, size=size, day=day)
    from projections.balances import accounts

    changes = diff(then, accounts(live))
    if as_json:
        emit({"as_of": as_of_text, "accounts": [a.to_json() for a in then],
              "changed_since": [{"kind": d.kind, "code": d.code, "then": d.then, "now": d.now}
                                for d in changes]})  # fmt: skip
        return
    click.echo(f"books as of {as_of_text}:")
    for a in then:
        click.echo(f"  {a.kind:8} {a.code:16} {a.name}  {format_yuan(a.balance)}" if a.kind != "store"
                   else f"  {a.kind:8} {a.code:16} {a.name}  {len(a.stock())} goods line(s)")  # fmt: skip
    click.echo(f"{len(changes)} account(s) differ from the live books")
    for d in changes:
        then_balance = (d.then or {}).get("balance_fen", (d.then or {}).get("stock"))
        now_balance = (d.now or {}).get("balance_fen", (d.now or {}).get("stock"))
        click.echo(f"  {d.kind} {d.code}: {then_balance} -> {now_balance}")
