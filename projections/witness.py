"""A witness: cosigns a log's checkpoint only if it extends the last one it cosigned.

The witness keeps its own state (origin, size and root of its last cosigned checkpoint) in
its own file. Before cosigning it checks the log key's signature and a consistency proof from
that state; a rewritten history — a fork — raises ``ForkDetected`` and nothing is cosigned.
"""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

from ledger.checkpoint import CheckpointError, SignedNote, cosign, verify_log_signature
from ledger.keys import PrivateKey, PublicKey
from ledger.merkle import ProofError, verify_consistency
from projections import checkpoints
from projections.merkle_log import tree
from projections.sql import Database


class ForkDetected(CheckpointError):
    code = "fork_detected"


def cosign_latest(
    db: Database,
    *,
    state_file: Path,
    name: str,
    key: PrivateKey,
    origin: str,
    log_key: PublicKey,
    now: int | None = None,
) -> SignedNote:
    note = checkpoints.latest(db)
    if note is None:
        raise CheckpointError("the log has no checkpoint yet: run `gongkai log checkpoint`")
    new = verify_log_signature(note, origin, log_key)
    if state_file.exists():
        previous = json.loads(state_file.read_text())
        if previous.get("origin") != origin:
            raise CheckpointError(
                f"this witness state is for {previous.get('origin')!r}, not {origin!r}"
            )
        old_size, old_root = int(previous["size"]), base64.b64decode(previous["root"])
        if new.size < old_size:
            raise ForkDetected(
                f"checkpoint size {new.size} is smaller than the cosigned size {old_size}"
            )
        proof = tree(db, new.size).consistency_proof(old_size) if 0 < old_size < new.size else []
        try:
            verify_consistency(old_size, new.size, proof, old_root, new.root)
        except ProofError as error:
            raise ForkDetected(
                f"checkpoint {new.size} does not extend the cosigned checkpoint {old_size} "
                f"({error.message}): the log's history was rewritten; refusing to cosign"
            ) from None
    cosigned = cosign(note, name, key, int(time.time()) if now is None else now)
    checkpoints.store_cosigned(db, cosigned, origin, log_key)
    state_file.parent.mkdir(parents=True, exist_ok=True)
    state_file.write_text(json.dumps(
        {"origin": origin, "size": new.size, "root": base64.b64encode(new.root).decode()}
    ))  # fmt: skip
    return cosigned
