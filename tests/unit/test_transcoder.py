"""The ledger's transcoder decodes to exactly what eventsourcing's JSON transcoder decodes."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    TranscodingNotRegisteredError,
    UUIDAsHex,
)
from hypothesis import given
from hypothesis import strategies as st

from ledger.commands import payload_of
from ledger.transcoder import LedgerTranscoder


def _pair() -> tuple[JSONTranscoder, LedgerTranscoder]:
    standard, ours = JSONTranscoder(), LedgerTranscoder()
    for transcoder in (standard, ours):  # what ``Application.register_transcodings`` registers
        for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
            transcoder.register(transcoding)
    return standard, ours


STANDARD, OURS = _pair()

leaves = (
    st.none()
    | st.booleans()
    | st.integers()  # beyond 64 bits too: orjson refuses them, the standard decoder reads them
    | st.floats(allow_nan=False)
    | st.text()
    | st.datetimes(timezones=st.just(UTC))
    | st.uuids()
    | st.decimals(allow_nan=False, allow_infinity=False)
)
values = st.recursive(
    leaves,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), values, max_size=6))
def test_decodes_what_the_standard_transcoder_decodes(state: dict[str, Any]) -> None:
    data = STANDARD.encode(state)
    assert OURS.decode(data) == STANDARD.decode(data) == state


def test_an_event_state_as_stored() -> None:
    state = {
        "timestamp": datetime(2026, 11, 28, 15, 53, 35, 874316, tzinfo=UTC),
        "signed": '{"body":{"amount":99000,"village":"三合村"},"cmd":"disbursement.make"}',
        "sig": "R0tCMR8Z70W+bT4W",
        "key_id": "2cab56836ea84e3ab467608d535cddee",
        "ids": [UUID(int=7), {"at": datetime(2026, 1, 1, tzinfo=UTC) + timedelta(hours=8)}],
        "amount": Decimal("12.50"),
    }
    data = STANDARD.encode(state)
    decoded = OURS.decode(data)
    assert decoded == state
    assert type(decoded["ids"][0]) is UUID and type(decoded["amount"]) is Decimal


def test_what_orjson_refuses_is_read_as_before() -> None:
    data = STANDARD.encode({"big": 2**70, "nan": math.nan, "when": datetime(2026, 1, 1, tzinfo=UTC)})
    decoded = OURS.decode(data)
    assert decoded["big"] == 2**70 and math.isnan(decoded["nan"])
    assert decoded["when"] == datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 2**70, 10**30])
def test_an_integer_beyond_64_bits_stays_an_integer(number: int) -> None:
    """orjson would read it as a float; the standard decoder keeps it exact."""
    data = STANDARD.encode({"n": number, "sig": "R0tCMR8Z", "when": datetime(2026, 1, 1, tzinfo=UTC)})
    assert OURS.decode(data) == STANDARD.decode(data) and type(OURS.decode(data)["n"]) is int


def test_an_object_like_a_tag_is_left_alone_and_an_unknown_tag_is_refused() -> None:
    assert OURS.decode(b'{"_type_":"uuid_hex","_data_":"x","more":1}') == {
        "_type_": "uuid_hex", "_data_": "x", "more": 1
    }  # fmt: skip
    with pytest.raises(TranscodingNotRegisteredError):
        STANDARD.decode(b'{"a":{"_type_":"no_such_type","_data_":1}}')
    with pytest.raises(TranscodingNotRegisteredError):
        OURS.decode(b'{"a":{"_type_":"no_such_type","_data_":1}}')


def test_bad_bytes_fail_as_they_did() -> None:
    for transcoder in (STANDARD, OURS):  # orjson's refusal sends it to the standard decoder
        with pytest.raises(json.JSONDecodeError, match="Expecting value: line 1 column 7"):
            transcoder.decode(b'{"a": ')



json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@given(st.dictionaries(st.text(max_size=8), json_values, max_size=6))
def test_a_payload_parses_as_json_parses_it(payload: dict[str, Any]) -> None:
    text = json.dumps(payload, ensure_ascii=False)  # NaN, Infinity, 2**70: orjson refuses them
    for given_as in (text, text.encode("utf-8")):
        parsed, expected = payload_of(given_as), json.loads(given_as)
        assert json.dumps(parsed, sort_keys=True) == json.dumps(expected, sort_keys=True)


def test_a_stored_payload_parses_as_before() -> None:
    text = ('{"at":"2026-07-10T09:17:43.620000+08:00","body":{"amount":99000,"village":"三合村"},'
            '"cmd":"disbursement.make","big":123456789012345678901234567890,"targets":["x"]}')  # fmt: skip
    assert payload_of(text) == json.loads(text)
    assert payload_of(text)["big"] == 123456789012345678901234567890
