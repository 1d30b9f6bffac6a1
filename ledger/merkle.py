"""RFC 9162 Merkle tree math: leaf and node hashes, roots, proofs and their verification.

    leaf = SHA-256(0x00 ‖ data)          node = SHA-256(0x01 ‖ left ‖ right)

A gongkai leaf's data is ``signed bytes ‖ signature ‖ key id (ASCII hex)``. It splits one way
only: the signed bytes are one JSON object (it ends where its braces close), the signature is
64 bytes or a batch signature whose header gives its length (``ledger.batch``), and the key
id has a fixed length.

Proofs are built from a ``NodeSource``: the hash of any *perfect* subtree (level, index) —
the 2**level leaves starting at index·2**level. Any range hash needs O(log n) of them.
``CompactRange`` folds leaves into a root keeping only O(log n) hashes (the verifier's
streaming root). ``verify_inclusion`` / ``verify_consistency`` raise ``ProofError`` and
return nothing, as RFC 9162 §2.1.3.2 and §2.1.4.2 describe.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Protocol

from ledger.errors import VerificationError

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


class ProofError(VerificationError):
    code = "bad_proof"


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def event_leaf(signed: bytes, signature: bytes, key_id: str) -> bytes:
    """The leaf hash of one stored event."""
    return leaf_hash(signed + signature + key_id.encode("ascii"))


def _split(n: int) -> int:
    """The largest power of two strictly less than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


class NodeSource(Protocol):
    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...


def perfect_nodes(start: int, end: int) -> list[tuple[int, int]]:
    """The perfect subtrees (level, index) whose concatenation is leaves [start, end), left to right."""
    out: list[tuple[int, int]] = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


class Tree:
    """Range hashes and proofs of a tree of ``size`` leaves over a ``NodeSource``."""

    def __init__(self, source: NodeSource, size: int) -> None:
        self.source = source
        self.size = size

    def root(self) -> bytes:
        return EMPTY_ROOT if self.size == 0 else self.range_hash(0, self.size)

    def range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range whose start is aligned as RFC 9162's recursion makes it."""
        keys = perfect_nodes(start, end)
        found = self.source.nodes(keys)
        hashes = [found[k] for k in keys]
        # Perfect pieces decrease in size left to right; fold from the right (RFC order).
        result = hashes[-1]
        for h in reversed(hashes[:-1]):
            result = node_hash(h, result)
        return result

    def inclusion_proof(self, index: int) -> list[bytes]:
        if not 0 <= index < self.size:
            raise ProofError(f"leaf {index} is not in a tree of size {self.size}")
        proof: list[bytes] = []
        start, end = 0, self.size
        while end - start > 1:
            k = _split(end - start)
            if index < start + k:
                proof.append(self.range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.range_hash(start, start + k))
                start += k
        proof.reverse()
        return proof

    def consistency_proof(self, old: int) -> list[bytes]:
        if not 0 < old <= self.size:
            raise ProofError(f"no consistency proof from size {old} to size {self.size}")
        proof: list[bytes] = []
        start, end, m, complete = 0, self.size, old, True
        while True:
            n = end - start
            if m == n:
                if not complete:
                    proof.append(self.range_hash(start, end))
                break
            k = _split(n)
            if m <= k:
                proof.append(self.range_hash(start + k, end))
                end = start + k
            else:
                proof.append(self.range_hash(start, start + k))
                start += k
                m -= k
                complete = False
        proof.reverse()
        return proof


class MemoryNodes:
    """All perfect-subtree hashes of a list of leaf hashes (tests, small trees)."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.hashes: dict[tuple[int, int], bytes] = {}
        for i, leaf in enumerate(leaves):
            self.hashes[(0, i)] = leaf
            level, index = 0, i
            while index & 1:
                self.hashes[(level + 1, index >> 1)] = node_hash(
                    self.hashes[(level, index - 1)], self.hashes[(level, index)]
                )
                level, index = level + 1, index >> 1

    def nodes(self, keys: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        return {k: self.hashes[k] for k in keys}


class CompactRange:
    """The right edge of a growing tree: O(log n) hashes give the root after any append.

    ``append`` returns the perfect nodes it completed, so a store can persist them.
    """

    def __init__(self, size: int = 0, edge: Sequence[bytes] = ()) -> None:
        self.size = size
        # One hash per set bit of ``size``, highest level first.
        self.edge = list(edge)
        if len(self.edge) != bin(size).count("1"):
            raise ValueError("the edge must hold one hash per set bit of the size")

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        created = [(0, self.size, leaf)]
        level, index, value = 0, self.size, leaf
        while index & 1:
            value = node_hash(self.edge.pop(), value)
            level, index = level + 1, index >> 1
            created.append((level, index, value))
        self.edge.append(value)
        self.size += 1
        return created

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.edge:
            return EMPTY_ROOT
        result = self.edge[-1]
        for h in reversed(self.edge[:-1]):
            result = node_hash(h, result)
        return result


def _check_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        raise ProofError(f"{what} must be {HASH_SIZE} bytes, got {len(value)}")


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> None:
    """RFC 9162 §2.1.3.2: raise ``ProofError`` unless ``leaf`` is at ``index`` of the tree."""
    _check_hash(root, "root")
    if fold_inclusion(index, size, leaf, proof) != root:
        raise ProofError(f"inclusion proof of leaf {index} does not lead to the root")


def fold_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root an inclusion proof leads to (RFC 9162 §2.1.3.2 up to its final comparison);
    ``ProofError`` if the proof does not fit a tree of ``size``."""
    _check_hash(leaf, "leaf hash")
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        _check_hash(p, "proof node")
        if sn == 0:
            raise ProofError("inclusion proof is longer than the tree is deep")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("inclusion proof is shorter than the tree is deep")
    return r


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2: raise ``ProofError`` unless tree ``size2`` extends tree ``size1``.

    Equal sizes need an empty proof and equal roots (the empty tree's root is SHA-256 of
    nothing); otherwise both roots must be 32-byte hashes.
    """
    if size1 < 0 or size2 < size1:
        raise ProofError(f"size {size2} cannot extend size {size1}")
    if size1 == size2:
        if proof:
            raise ProofError("trees of equal size need an empty consistency proof")
        if root1 != root2:
            raise ProofError(f"two different roots for the same size {size1}: a fork")
        if size1 == 0 and root1 != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is SHA-256 of nothing")
        return
    _check_hash(root1, "first root")
    _check_hash(root2, "second root")
    if size1 == 0:
        if proof:
            raise ProofError("a consistency proof from the empty tree must be empty")
        if root1 != EMPTY_ROOT:
            raise ProofError("the root of the empty tree is SHA-256 of nothing")
        return
    if not proof:
        raise ProofError("empty consistency proof")
    for p in proof:
        _check_hash(p, "proof node")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("consistency proof is shorter than needed")
    if fr != root1:
        raise ProofError(f"consistency proof does not lead to the root of size {size1}")
    if sr != root2:
        raise ProofError(f"consistency proof does not lead to the root of size {size2}")
