"""Deterministic aggregate ids: RFC 4122 UUIDv5 of the jurisdiction and a natural key."""

from __future__ import annotations

from uuid import uuid5

from hypothesis import given
from hypothesis import strategies as st

from ledger import ids

_KEY = st.text(st.characters(codec="utf-8"), max_size=40)  # astral characters too


@given(jurisdiction=_KEY, receipt_no=_KEY)
def test_an_id_is_the_uuid5_the_standard_library_computes(jurisdiction: str, receipt_no: str) -> None:
    expected = uuid5(ids.NAMESPACE, f"{jurisdiction}/donation/{receipt_no}")
    found = ids.donation_id(jurisdiction, receipt_no)
    assert found == expected
    assert (str(found), found.version, found.variant) == (str(expected), 5, expected.variant)


def test_ids_of_different_kinds_and_keys_differ() -> None:
    assert len({ids.fund_id("流长镇", "F-1"), ids.program_id("流长镇", "F-1"),
                ids.fund_id("流长镇", "F-2"), ids.fund_id("青山镇", "F-1")}) == 4  # fmt: skip
