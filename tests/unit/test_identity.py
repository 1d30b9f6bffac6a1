"""Resident ID numbers (GB 11643) and unified social credit codes (GB 32100) are checked on input
and never repeated in a refusal; names are masked for the village notice board."""

from __future__ import annotations

from datetime import date

import pytest

from ledger.errors import MalformedCommand
from ledger.identity import (
    age_on,
    check_credit_code,
    check_name,
    check_resident_id,
    mask_name,
)
from tests.people import mistyped, resident_id

GOOD = resident_id(date(1962, 3, 14))


def refused(number: str) -> str:
    with pytest.raises(MalformedCommand) as caught:
        check_resident_id(number, "id_number", on=date(2026, 7, 10))
    message = caught.value.message
    fragments = {number[i : i + 4] for i in range(len(number) - 3)}
    assert not [f for f in fragments if f in message], "the refusal repeats the number"
    return message


def test_a_well_formed_id_number_gives_its_birth_date() -> None:
    assert check_resident_id(GOOD, "id_number") == date(1962, 3, 14)
    assert check_resident_id("11010519491231002X", "id_number") == date(1949, 12, 31)


def test_a_wrong_check_digit_is_named_without_the_number() -> None:
    assert "check digit" in refused(mistyped(GOOD))


@pytest.mark.parametrize(
    ("number", "check"),
    [
        (GOOD[:17], "18 characters"),
        (GOOD[:17] + "x", "capital X"),
        ("99" + GOOD[2:], "region code"),
        (GOOD[:4] + "00" + GOOD[6:], "region code"),
        (GOOD[:10] + "1332" + GOOD[14:], "birth date"),
        (resident_id(date(2030, 1, 1)), "birth date"),
        (GOOD[:6] + " " + GOOD[6:], "no spaces"),
    ],
)
def test_each_failed_check_is_named(number: str, check: str) -> None:
    assert check in refused(number)


def test_age_counts_whole_years_from_the_birth_date() -> None:
    assert age_on(resident_id(date(2008, 7, 11)), date(2026, 7, 10)) == 17
    assert age_on(resident_id(date(2008, 7, 10)), date(2026, 7, 10)) == 18


def test_a_credit_code_with_its_check_character_is_accepted() -> None:
    assert check_credit_code("91350100M000100Y43", "donor_code") == "91350100M000100Y43"


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4", "9135010OM000100Y43"])
def test_a_wrong_credit_code_is_refused(code: str) -> None:
    with pytest.raises(MalformedCommand, match="donor_code"):
        check_credit_code(code, "donor_code")


@pytest.mark.parametrize(("name", "masked"), [("张三明", "张*明"), ("张三", "张*"), ("欧阳娜娜", "欧**娜"),
                                              ("阿依古丽·买买提", "阿******提")])  # fmt: skip
def test_names_are_masked_keeping_the_first_and_last_character(name: str, masked: str) -> None:
    assert mask_name(name) == masked


@pytest.mark.parametrize("name", ["张", "张3明", "", "x" * 31])
def test_a_name_with_digits_or_of_one_character_is_refused(name: str) -> None:
    with pytest.raises(MalformedCommand, match="name"):
        check_name(name, "name")
