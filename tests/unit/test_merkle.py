"""RFC 9162 Merkle math against the transparency-dev conformance vectors, and our own proofs."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from ledger.errors import VerificationError
from ledger.merkle import (
    CompactRange,
    MemoryNodes,
    ProofError,
    Tree,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).resolve().parents[2].parent / "shared" / "conformance" / "merkle"


def _vectors(kind: str) -> list[Any]:
    if not VECTORS.is_dir():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{VECTORS} is absent"))]
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(f, id=str(f.relative_to(VECTORS / kind))) for f in files]


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value) if value else b""


@pytest.mark.parametrize("path", _vectors("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    def check() -> None:
        verify_inclusion(
            case["leafIdx"], case["treeSize"], _b64(case["leafHash"]), proof, _b64(case["root"])
        )

    if case["wantErr"]:
        with pytest.raises(VerificationError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", _vectors("consistency"))
def test_consistency_vector(path: Path) -> None:
    case = json.loads(path.read_text())
    proof = [_b64(p) for p in case["proof"] or []]
    def check() -> None:
        verify_consistency(
            case["size1"], case["size2"], proof, _b64(case["root1"]), _b64(case["root2"])
        )

    if case["wantErr"]:
        with pytest.raises(VerificationError):
            check()
    else:
        check()


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_compact_range_root_equals_the_stored_tree_root_at_every_size() -> None:
    leaves = _leaves(70)
    nodes = MemoryNodes(leaves)
    edge = CompactRange()
    for size, leaf in enumerate(leaves, start=1):
        edge.append(leaf)
        assert edge.root() == Tree(nodes, size).root()


def test_every_generated_inclusion_proof_verifies() -> None:
    leaves = _leaves(37)
    nodes = MemoryNodes(leaves)
    for size in range(1, 38):
        tree = Tree(nodes, size)
        for index in range(size):
            verify_inclusion(index, size, leaves[index], tree.inclusion_proof(index), tree.root())


def test_every_generated_consistency_proof_verifies() -> None:
    nodes = MemoryNodes(_leaves(37))
    for new in range(1, 38):
        for old in range(1, new):
            proof = Tree(nodes, new).consistency_proof(old)
            verify_consistency(old, new, proof, Tree(nodes, old).root(), Tree(nodes, new).root())


def test_a_proof_for_another_leaf_is_rejected() -> None:
    leaves = _leaves(10)
    tree = Tree(MemoryNodes(leaves), 10)
    with pytest.raises(ProofError, match="does not lead to the root"):
        verify_inclusion(3, 10, leaves[4], tree.inclusion_proof(3), tree.root())


def test_a_forked_history_fails_the_consistency_proof() -> None:
    honest = _leaves(12)
    forked = [*honest[:7], leaf_hash(b"rewritten"), *honest[8:]]
    old_root = Tree(MemoryNodes(honest), 9).root()
    fork = Tree(MemoryNodes(forked), 12)
    with pytest.raises(ProofError):
        verify_consistency(9, 12, fork.consistency_proof(9), old_root, fork.root())
