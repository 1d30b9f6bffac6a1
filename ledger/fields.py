"""Strict readers for the fields of a command body: each names the field it rejects."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from ledger.catalogue import CATEGORIES
from ledger.errors import MalformedCommand
from ledger.money import check_positive_fen

_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,39}$")
# A pseudonymous recipient reference: letters, digits and dashes; never something that looks
# like a resident ID (17 digits + check) or a phone number.
_PSEUDONYM = re.compile(r"^[A-Z][A-Z0-9\-]{3,39}$")
_LONG_DIGITS = re.compile(r"\d{7,}")
# Written in groups, a phone (11 digits), an ID (15/18) or a bank card (16-19) still has 11+.
_GROUPED_DIGITS = re.compile(r"\d{11,}")
# Digits written in groups ("138 0013 8000", "5201-2319-9001") are still one number.
_SEPARATORS = re.compile(r"[ \u3000\-\u2010-\u2015_.]")
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _looks_like_a_number(text: str) -> bool:
    """Seven digits in a row, or eleven once separators are dropped: an ID, phone or account."""
    return bool(_LONG_DIGITS.search(text) or _GROUPED_DIGITS.search(_SEPARATORS.sub("", text)))


class Fields:
    """Typed access to a JSON object, raising ``MalformedCommand`` naming the field."""

    def __init__(self, data: object, where: str = "body") -> None:
        if not isinstance(data, dict):
            raise MalformedCommand(f"{where} must be a JSON object")
        self.data: dict[str, Any] = data
        self.where = where

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}"

    def text(self, key: str, *, max_len: int = 200) -> str:
        value = self.data.get(key)
        if not isinstance(value, str) or not (stripped := value.strip()):
            raise MalformedCommand(f"{self._name(key)} is required text")
        if len(value) > max_len or value != stripped:
            raise MalformedCommand(
                f"{self._name(key)} must be at most {max_len} characters without outer spaces"
            )
        return value

    def opt_text(self, key: str, *, max_len: int = 200) -> str | None:
        if self.data.get(key) is None:
            return None
        return self.text(key, max_len=max_len)

    def code(self, key: str) -> str:
        value = self.text(key, max_len=40)
        if not _CODE.match(value):
            raise MalformedCommand(
                f"{self._name(key)} {value!r} must be a code of letters, digits, '-', '_' or '.'"
            )
        return value

    def amount(self, key: str = "amount") -> int:
        return check_positive_fen(self.data.get(key), self._name(key))

    def flag(self, key: str) -> bool:
        value = self.data.get(key, False)
        if not isinstance(value, bool):
            raise MalformedCommand(f"{self._name(key)} must be true or false")
        return value

    def choice(self, key: str, options: dict[str, Any] | set[str]) -> str:
        value = self.data.get(key)
        if value not in options:
            allowed = ", ".join(sorted(options))
            raise MalformedCommand(f"{self._name(key)} {value!r} is not one of: {allowed}")
        assert isinstance(value, str)
        return value

    def opt_choice(self, key: str, options: dict[str, Any] | set[str]) -> str | None:
        if self.data.get(key) is None:
            return None
        return self.choice(key, options)

    def category(self, key: str) -> str:
        return self.choice(key, CATEGORIES)

    def opt_category(self, key: str) -> str | None:
        return self.opt_choice(key, CATEGORIES)

    def day(self, key: str) -> date:
        value = self.text(key, max_len=10)
        if not _DAY.match(value):
            raise MalformedCommand(f"{self._name(key)} {value!r} is not a date YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise MalformedCommand(f"{self._name(key)} {value!r} is not a date YYYY-MM-DD") from exc

    def pseudonym(self, key: str) -> str:
        value = self.text(key, max_len=40)
        if not _PSEUDONYM.match(value) or _looks_like_a_number(value):
            raise MalformedCommand(
                f"{self._name(key)} must be a pseudonymous reference like R-7K2Q9D "
                "(capital letters, digits, '-'; no runs of 7+ digits), never personal data"
            )
        return value

    def public_text(self, key: str, *, max_len: int = 200) -> str | None:
        """Free text that will be public: refuse anything with long digit runs (IDs, phones)."""
        value = self.opt_text(key, max_len=max_len)
        if value is not None and _looks_like_a_number(value):
            raise MalformedCommand(
                f"{self._name(key)} must not contain long numbers (ID, phone or account numbers)"
            )
        return value

    def only(self, *allowed: str) -> None:
        extra = self.data.keys() - allowed
        if extra:
            raise MalformedCommand(f"{self.where} has unknown field(s): {', '.join(sorted(extra))}")
