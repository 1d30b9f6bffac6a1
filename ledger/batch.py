"""Batch signatures: one Ed25519 signature over the Merkle root of many commands' signed bytes.

A bulk import signs once (DESIGN.md, "Signatures"): the official's client canonicalises every
row's payload as for a single command, builds the RFC 9162 tree of their leaf hashes
``SHA-256(0x00 ‖ signed bytes)``, and signs the batch message::

    gongkai batch v1\\n<size>\\n<base64 root>\\n

Every row is then stored as an ordinary command whose signature field holds a *batch
signature*, which carries what is needed to check that row alone::

    "GKB1" ‖ Ed25519 signature (64) ‖ index (u32, big-endian) ‖ size (u32) ‖ inclusion proof (32·k)

To verify a row: recompute its leaf hash, fold the inclusion proof to a root (RFC 9162
§2.1.3.2), rebuild the batch message from the size and that root, and verify the signature with
the signer's key. Changing any byte of any row changes the root, so the signature no longer
verifies for that row. The batch message cannot be mistaken for a command (a command's signed
bytes are a JSON object), a checkpoint note or a session challenge, which all start otherwise.

A plain signature is exactly 64 bytes; a batch signature is longer and its length follows from
its header, so ``signed ‖ signature ‖ key id`` (the log's leaf) still splits one way only.
``verify_command`` accepts both. Verifying a batch's signature once and each row's proof after
(``_BATCHES`` remembers checked batch messages) makes a 100,000-row import cost one signature
check and 17 hashes per row instead of 100,000 signature checks.
"""

from __future__ import annotations

import base64
import struct
from collections.abc import Sequence
from functools import lru_cache

from ledger.errors import BadSignature
from ledger.keys import PrivateKey, PublicKey
from ledger.merkle import HASH_SIZE, ProofError, fold_inclusion, leaf_hash, node_hash

MAGIC = b"GKB1"
SIGNATURE_SIZE = 64
HEADER = len(MAGIC) + SIGNATURE_SIZE + 8  # magic, signature, index, size
MAX_ROWS = 2**32 - 1


def batch_message(size: int, root: bytes) -> bytes:
    """The bytes an official signs for a batch of ``size`` rows with Merkle root ``root``."""
    return f"gongkai batch v1\n{size}\n{base64.b64encode(root).decode()}\n".encode()


def sign_batch(key: PrivateKey, signed: Sequence[bytes]) -> list[bytes]:
    """The batch signature of each of ``signed`` (rows' canonical payloads), in order."""
    if not 0 < len(signed) <= MAX_ROWS:
        raise ValueError(f"a batch holds 1 to {MAX_ROWS} rows, not {len(signed)}")
    root, proofs = tree_proofs([leaf_hash(row) for row in signed])
    head = MAGIC + key.sign(batch_message(len(signed), root))
    size = struct.pack(">I", len(signed))
    return [head + struct.pack(">I", index) + size + proof for index, proof in enumerate(proofs)]


def tree_proofs(leaves: Sequence[bytes]) -> tuple[bytes, list[bytes]]:
    """The RFC 9162 root of ``leaves`` and every leaf's inclusion proof (hashes joined, leaf
    side first), in O(n log n) hashes and no more.

    Built level by level, pairing neighbours and carrying a level's odd last node up unhashed:
    that is the RFC 9162 tree (its left subtrees are perfect), and a carried node has no
    sibling at that level, so its proof skips the level, as RFC 9162's proofs do.
    """
    level = list(leaves)
    proofs = [bytearray() for _ in level]
    members: list[list[int]] = [[i] for i in range(len(level))]  # leaves under each node
    while len(level) > 1:
        upper: list[bytes] = []
        grouped: list[list[int]] = []
        for j in range(0, len(level) - 1, 2):
            left, right = level[j], level[j + 1]
            for leaf in members[j]:
                proofs[leaf] += right
            for leaf in members[j + 1]:
                proofs[leaf] += left
            upper.append(node_hash(left, right))
            grouped.append(members[j] + members[j + 1])
        if len(level) % 2:
            upper.append(level[-1])
            grouped.append(members[-1])
        level, members = upper, grouped
    return level[0], [bytes(p) for p in proofs]


def is_batch_signature(signature: bytes) -> bool:
    return len(signature) != SIGNATURE_SIZE and signature.startswith(MAGIC)


def batch_of(signature: bytes, signed: bytes) -> tuple[bytes, bytes]:
    """(the Ed25519 signature, the batch message it must verify) for one row; raises
    ``BadSignature`` if the batch signature is malformed or its proof does not fold."""
    if len(signature) < HEADER or (len(signature) - HEADER) % HASH_SIZE:
        raise BadSignature("a batch signature has the wrong length")
    index, size = struct.unpack(">II", signature[HEADER - 8 : HEADER])
    proof = [signature[at : at + HASH_SIZE] for at in range(HEADER, len(signature), HASH_SIZE)]
    try:
        root = fold_inclusion(index, size, leaf_hash(signed), proof)
    except ProofError as error:
        raise BadSignature(f"batch signature: {error.message}") from None
    return signature[len(MAGIC) : len(MAGIC) + SIGNATURE_SIZE], batch_message(size, root)


def verify_command(key: PublicKey, signature: bytes, signed: bytes) -> None:
    """Raise ``BadSignature`` unless ``signature`` (plain or batch) is ``key``'s over ``signed``."""
    if not is_batch_signature(signature):
        key.verify(signature, signed)
        return
    ed25519, message = batch_of(signature, signed)
    _verify_batch(key, ed25519, message)


@lru_cache(maxsize=256)  # a batch's message is checked once, then each row only folds its proof
def _verify_batch(key: PublicKey, signature: bytes, message: bytes) -> None:
    key.verify(signature, message)  # raises, and lru_cache keeps no failure
