"""RFC 8785 canonical JSON: the exact bytes an official signs, and the strict parser of them."""

from __future__ import annotations

import json
from typing import Any

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.canonical import canonical, parse
from ledger.errors import MalformedCommand


def test_keys_are_sorted_and_there_is_no_whitespace() -> None:
    assert canonical({"b": 1, "a": {"d": [1, 2], "c": None}}) == b'{"a":{"c":null,"d":[1,2]},"b":1}'


def test_keys_are_sorted_by_utf16_code_units_as_in_rfc_8785() -> None:
    # The sorting example of RFC 8785 §3.2.3: the emoji (a surrogate pair in UTF-16)
    # sorts before U+FB33 although its code point is higher.
    data = {
        "\u20ac": "Euro Sign",
        "\r": "Carriage Return",
        "\ufb33": "Hebrew Letter Dalet With Dagesh",
        "1": "One",
        "\U0001f600": "Emoji: Grinning Face",
        "\u0080": "Control",
        "\u00f6": "Latin Small Letter O With Diaeresis",
    }
    order = list(parse(canonical(data)))
    assert order == ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]


def test_non_ascii_text_is_written_as_utf8_not_escaped() -> None:
    assert canonical({"log": "流长镇"}) == '{"log":"流长镇"}'.encode()


def test_only_quotes_backslashes_and_control_characters_are_escaped() -> None:
    assert canonical(['a/"\\\n\x1f\u2028']) == '["a/\\"\\\\\\n\\u001f\u2028"]'.encode()


@pytest.mark.parametrize(
    ("value", "path"),
    [(1.5, "$"), ({"body": {"amount": 100.0}}, "$.body.amount"), ([1, [2, 0.5]], "$[1][1]")],
)
def test_floats_are_refused_wherever_they_are(value: Any, path: str) -> None:
    with pytest.raises(MalformedCommand) as caught:
        canonical(value)
    assert caught.value.message.startswith(f"{path}: floats are not allowed")


def test_integers_beyond_the_ieee_safe_range_are_refused() -> None:
    assert canonical(2**53 - 1) == b"9007199254740991"
    with pytest.raises(MalformedCommand, match="safe range"):
        canonical({"amount": 2**53})


def test_object_keys_must_be_text() -> None:
    with pytest.raises(MalformedCommand, match="keys must be strings"):
        canonical({1: "one"})


def test_parse_reads_back_what_canonical_wrote() -> None:
    value = {"log": "流长镇", "targets": ["a", "b"], "sealed": None, "v": 1, "ok": True}
    assert parse(canonical(value)) == value


def test_parse_refuses_duplicate_keys() -> None:
    with pytest.raises(MalformedCommand, match="duplicate key 'amount'"):
        parse(b'{"amount":1,"amount":1000000}')


def test_parse_refuses_floats() -> None:
    with pytest.raises(MalformedCommand, match="integers"):
        parse(b'{"amount":1000.5}')


@pytest.mark.parametrize("token", [b"NaN", b"Infinity", b"-Infinity"])
def test_parse_refuses_nan_and_infinity(token: bytes) -> None:
    with pytest.raises(MalformedCommand):
        parse(b'{"amount":' + token + b"}")


@pytest.mark.parametrize("data", [b"{", b'{"a":1} x', b'\xff{"a":1}', b""])
def test_parse_refuses_bytes_that_are_not_json(data: bytes) -> None:
    with pytest.raises(MalformedCommand, match="not valid JSON"):
        parse(data)


_SAFE_INT = st.integers(min_value=-(2**53 - 1), max_value=2**53 - 1)
_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)  # any scalar value, astral ones too
_JSON = st.recursive(
    st.none() | st.booleans() | _SAFE_INT | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=20,
)


@given(_JSON)
@settings(max_examples=400, deadline=None)
def test_the_fast_encoder_writes_exactly_what_rfc8785_writes(value: Any) -> None:
    # canonical() takes json's C encoder unless a key needs UTF-16 ordering: byte for byte
    # the output of the reference package, for every value a command can hold.
    assert canonical(value) == bytes(rfc8785.dumps(value))


def test_control_characters_and_lone_surrogates_match_the_reference() -> None:
    text = "".join(chr(c) for c in range(0x20)) + '\x7f\u2028\u2029"\\'
    assert canonical({"k": text}) == bytes(rfc8785.dumps({"k": text}))
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever rfc8785 raises for it
        canonical({"k": "\ud800"})


def test_parse_reads_text_as_it_reads_its_utf8_bytes() -> None:
    data = canonical({"log": "流长镇", "body": {"goods": [{"item": "大米", "quantity": 3}]}, "v": 1})
    assert parse(data.decode()) == parse(data) == json.loads(data)


def test_parse_names_a_duplicate_key_in_a_nested_object_of_text() -> None:
    with pytest.raises(MalformedCommand, match="duplicate key 'amount'"):
        parse('{"body":{"amount":1,"fund":"F","amount":2},"v":1}')


def test_parse_refuses_text_that_starts_with_a_byte_order_mark() -> None:
    with pytest.raises(MalformedCommand, match="not valid JSON"):
        parse('\ufeff{"v":1}')
