"""Money is an integer count of fen: one strict parser for what people type, exact display."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ledger.errors import MalformedAmount
from ledger.money import (
    MAX_FEN,
    Money,
    check_fen,
    check_positive_fen,
    format_wan,
    format_yuan,
    parse_yuan,
)


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("1234", 123_400),
        ("1234.5", 123_450),
        ("1,234.56", 123_456),
        ("¥1,234.56", 123_456),
        ("￥1,234.56", 123_456),
        ("1.5万", 1_500_000),
        ("12元", 1_200),
        ("0.01", 1),
        (" 1,000,000 ", 100_000_000),
    ],
)
def test_parse_yuan_reads_amounts_as_people_write_them(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text", ["-1", "1.234", "abc", "", "1e3", "12,34", "1,2345", "¥-5", "1.5万万", "0x10", "1 000"]
)
def test_parse_yuan_refuses_anything_that_is_not_a_plain_amount(text: str) -> None:
    with pytest.raises(MalformedAmount):
        parse_yuan(text)


def test_parse_yuan_names_the_field_it_refuses() -> None:
    with pytest.raises(MalformedAmount, match="捐赠金额"):
        parse_yuan("一百", "捐赠金额")


def test_parse_yuan_refuses_an_amount_above_the_limit() -> None:
    with pytest.raises(MalformedAmount, match="limit"):
        parse_yuan("10000000000000.01")


@pytest.mark.parametrize("text", ["1元5", "12¥34"])
def test_parse_yuan_refuses_a_currency_sign_inside_the_number(text: str) -> None:
    with pytest.raises(MalformedAmount):
        parse_yuan(text)


@given(st.integers(min_value=0, max_value=MAX_FEN))
def test_a_displayed_amount_parses_back_to_the_same_fen(fen: int) -> None:
    assert parse_yuan(format_yuan(fen)) == fen


@pytest.mark.parametrize("value", [1.0, 0.5, "100", True, None, 10**15 + 1])
def test_check_fen_refuses_anything_but_an_integer_within_the_limit(value: object) -> None:
    with pytest.raises(MalformedAmount):
        check_fen(value)


def test_check_fen_accepts_the_limit_itself() -> None:
    assert check_fen(MAX_FEN) == MAX_FEN


def test_check_fen_refuses_a_negative_amount_unless_allowed() -> None:
    with pytest.raises(MalformedAmount, match="negative"):
        check_fen(-1, "amount")
    assert check_fen(-1, allow_negative=True) == -1


def test_check_positive_fen_refuses_zero() -> None:
    with pytest.raises(MalformedAmount, match="more than zero"):
        check_positive_fen(0)


@pytest.mark.parametrize(
    ("fen", "shown"),
    [(123_456, "¥1,234.56"), (5, "¥0.05"), (0, "¥0.00"), (-123_456, "-¥1,234.56")],
)
def test_format_yuan_shows_yuan_with_thousands_and_two_decimals(fen: int, shown: str) -> None:
    assert format_yuan(fen) == shown


@pytest.mark.parametrize(
    ("fen", "shown"),
    [(123_456_789, "123.46万元"), (1_000_000, "1.00万元"), (1_005_000, "1.01万元"), (0, "0.00万元")],
)
def test_format_wan_shows_wan_yuan_rounded_half_up(fen: int, shown: str) -> None:
    assert format_wan(fen) == shown


def test_money_adds_and_subtracts_in_fen() -> None:
    assert Money(300) + Money(200) - Money(50) == Money(450)


def test_money_displays_as_yuan() -> None:
    assert str(Money(123_456)) == "¥1,234.56"


def test_money_is_only_in_cny() -> None:
    with pytest.raises(MalformedAmount, match="CNY"):
        Money(100, "USD")


def test_money_refuses_a_float() -> None:
    with pytest.raises(MalformedAmount):
        Money(1.5)  # type: ignore[arg-type]
