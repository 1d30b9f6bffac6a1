"""Batch signatures (ledger.batch): one Ed25519 signature over the Merkle root of many rows,
each row verifiable alone with its proof; any change to any row, proof or header is refused."""

from __future__ import annotations

import struct

import pytest

from ledger.batch import (
    HEADER,
    MAGIC,
    batch_message,
    is_batch_signature,
    sign_batch,
    tree_proofs,
    verify_command,
)
from ledger.errors import BadSignature
from ledger.keys import PrivateKey
from ledger.merkle import MemoryNodes, Tree, leaf_hash, verify_inclusion

KEY = PrivateKey.from_seed(b"gongkai-tests/batch")
OTHER = PrivateKey.from_seed(b"gongkai-tests/other")


def rows(n: int) -> list[bytes]:
    return [b'{"row":%d}' % i for i in range(n)]


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 31, 33, 70])
def test_proofs_are_the_rfc9162_tree_proofs(size: int) -> None:
    leaves = [leaf_hash(r) for r in rows(size)]
    tree = Tree(MemoryNodes(leaves), size)
    root, proofs = tree_proofs(leaves)
    assert root == tree.root()
    for index, proof in enumerate(proofs):
        expected = tree.inclusion_proof(index)
        assert proof == b"".join(expected)
        verify_inclusion(index, size, leaves[index], expected, root)


@pytest.mark.parametrize("size", [1, 2, 5, 64, 100])
def test_every_row_verifies_alone(size: int) -> None:
    signed = rows(size)
    signatures = sign_batch(KEY, signed)
    assert len({s[len(MAGIC) : HEADER - 8] for s in signatures}) == 1  # one Ed25519 signature
    for row, signature in zip(signed, signatures, strict=True):
        assert is_batch_signature(signature)
        verify_command(KEY.public, signature, row)


def test_a_changed_row_is_refused() -> None:
    signed = rows(10)
    signatures = sign_batch(KEY, signed)
    with pytest.raises(BadSignature):
        verify_command(KEY.public, signatures[3], b'{"row":33}')


def test_a_row_with_another_rows_proof_is_refused() -> None:
    signed = rows(10)
    signatures = sign_batch(KEY, signed)
    with pytest.raises(BadSignature):
        verify_command(KEY.public, signatures[4], signed[3])


def test_another_key_is_refused() -> None:
    signed = rows(4)
    with pytest.raises(BadSignature):
        verify_command(OTHER.public, sign_batch(KEY, signed)[0], signed[0])


@pytest.mark.parametrize(
    "damage",
    [
        lambda s: s[:-1],  # a truncated proof
        lambda s: s + b"\x00" * 32,  # a proof longer than the tree is deep
        lambda s: s[: HEADER - 4] + struct.pack(">I", 1000) + s[HEADER:],  # another size
        lambda s: s[: HEADER - 8] + struct.pack(">I", 99) + s[HEADER - 4 :],  # index past size
        lambda s: s[:10] + bytes([s[10] ^ 1]) + s[11:],  # a flipped bit of the signature
        lambda s: s[:-1] + bytes([s[-1] ^ 1]),  # a flipped bit of the proof
    ],
)
def test_damaged_batch_signatures_are_refused(damage: object) -> None:
    signed = rows(10)
    signature = sign_batch(KEY, signed)[6]
    assert callable(damage)
    with pytest.raises(BadSignature):
        verify_command(KEY.public, damage(signature), signed[6])


def test_a_plain_signature_still_verifies_and_a_batch_message_is_not_a_command() -> None:
    row = b'{"row":1}'
    verify_command(KEY.public, KEY.sign(row), row)
    root, _ = tree_proofs([leaf_hash(row)])
    # The batch message signed alone is not a signature over any row.
    with pytest.raises(BadSignature):
        verify_command(KEY.public, KEY.sign(batch_message(1, root)), row)
