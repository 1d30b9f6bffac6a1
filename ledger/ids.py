"""Deterministic aggregate ids.

Every aggregate id is a UUIDv5 of the jurisdiction and a natural key (fund code, receipt
number, document number), so a client can name the aggregates it signs for before they exist,
a second "open" of the same code is a conflict, and ids from different jurisdictions' logs
never collide (logs of logs can be merged).
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from uuid import UUID, uuid5

NAMESPACE = UUID("6b1f3c1e-7a0e-5d7e-9f3a-6f6e676b6169")
# One registry per log (database); it holds the jurisdiction's name.
REGISTRY_ID = uuid5(NAMESPACE, "registry")


# Every command derives its targets' ids again (SHA-1 each time). The hot ones are a town's few
# dozen funds, programs and stores; a larger cache mostly holds recipients seen once a month,
# and costs an auditor's verify over a million events ~10 MB for nothing.
@lru_cache(maxsize=4_096)
def _id(jurisdiction: str, kind: str, key: str) -> UUID:
    return _uuid5(f"{jurisdiction}/{kind}/{key}")


@lru_cache(maxsize=4_096)
def id_text(aggregate_id: UUID) -> str:
    """``str(aggregate_id)``, kept for the ids that recur: read models store or compare the text
    of every event's aggregate id (a town's programs and stores, again and again), and
    ``UUID.__str__`` is Python (~1 µs; ~3 s of a county rebuild's CPU)."""
    return str(aggregate_id)


_NAMESPACE_BYTES = NAMESPACE.bytes
# RFC 4122 §4.3 as ``uuid.uuid5`` computes it (version 5, variant RFC 4122) on the SHA-1's
# first 16 bytes, in one mask: most ids (receipts, recipients) are new to the cache above.
_KEEP = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_MARK = (5 << 76) | (0x8000 << 48)


def _uuid5(name: str) -> UUID:
    digest = hashlib.sha1(_NAMESPACE_BYTES + name.encode("utf-8"), usedforsecurity=False).digest()
    return UUID(int=(int.from_bytes(digest[:16], "big") & _KEEP) | _MARK)


def fund_id(jurisdiction: str, code: str) -> UUID:
    return _id(jurisdiction, "fund", code)


def program_id(jurisdiction: str, code: str) -> UUID:
    return _id(jurisdiction, "program", code)


def store_id(jurisdiction: str, code: str) -> UUID:
    return _id(jurisdiction, "store", code)


def donation_id(jurisdiction: str, receipt_no: str) -> UUID:
    return _id(jurisdiction, "donation", receipt_no)


def pledge_id(jurisdiction: str, pledge_no: str) -> UUID:
    return _id(jurisdiction, "pledge", pledge_no)


def appropriation_id(jurisdiction: str, document_no: str, fund_code: str) -> UUID:
    return _id(jurisdiction, "appropriation", f"{document_no}|{fund_code}")


def disclosure_id(jurisdiction: str, item_no: str) -> UUID:
    return _id(jurisdiction, "disclosure", item_no)


def obligation_id(jurisdiction: str, obligation_no: str) -> UUID:
    return _id(jurisdiction, "obligation", obligation_no)


def recipient_id(jurisdiction: str, pseudonym: str) -> UUID:
    """A registered recipient, by pseudonym: a pseudonym registers once."""
    return _id(jurisdiction, "recipient", pseudonym)
