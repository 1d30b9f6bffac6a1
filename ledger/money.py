"""Money as an integer count of fen (分) in CNY. Never a float.

``Money`` is immutable; ``parse_yuan`` is the one strict parser for amounts typed by people
("1234.56", "¥1,234.56", "1.5万"); ``format_yuan`` and ``format_wan`` display them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ledger.errors import MalformedAmount

CURRENCY = "CNY"
# Canonical JSON carries numbers as IEEE doubles: stay well inside 2**53.
MAX_FEN = 10**15

_AMOUNT = re.compile(r"^(?P<num>\d{1,3}(?:,\d{3})+|\d+)(?:\.(?P<frac>\d{1,2}))?(?P<wan>万)?$")


@dataclass(frozen=True, order=True, slots=True)
class Money:
    fen: int
    currency: str = CURRENCY

    def __post_init__(self) -> None:
        check_fen(self.fen, "amount", allow_negative=True)
        if self.currency != CURRENCY:
            raise MalformedAmount(f"only {CURRENCY} is supported, got {self.currency!r}")

    def __add__(self, other: Money) -> Money:
        return Money(self.fen + other.fen)

    def __sub__(self, other: Money) -> Money:
        return Money(self.fen - other.fen)

    def __neg__(self) -> Money:
        return Money(-self.fen)

    def __str__(self) -> str:
        return format_yuan(self.fen)


def check_fen(value: object, field: str = "amount", *, allow_negative: bool = False) -> int:
    """Return ``value`` if it is a valid integer fen amount, else raise ``MalformedAmount``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedAmount(f"{field} must be an integer number of fen, got {value!r}")
    if abs(value) > MAX_FEN:
        raise MalformedAmount(f"{field} {value} fen is larger than the limit {MAX_FEN}")
    if value < 0 and not allow_negative:
        raise MalformedAmount(f"{field} must not be negative, got {value}")
    return value


def check_positive_fen(value: object, field: str = "amount") -> int:
    fen = check_fen(value, field)
    if fen == 0:
        raise MalformedAmount(f"{field} must be more than zero")
    return fen


def parse_yuan(text: str, field: str = "amount") -> int:
    """Parse a yuan amount typed by a person into fen, exactly.

    Accepts ``1234``, ``1234.5``, ``1,234.56``, ``¥1,234.56``, ``1.5万``; rejects anything
    else (negative signs, three decimals, letters, empty) with a message naming ``field``.
    """
    raw = text.strip()
    raw = raw.removeprefix("¥").removeprefix("￥").strip()
    raw = raw.removesuffix("元").strip()
    match = _AMOUNT.match(raw)
    if not match:
        raise MalformedAmount(
            f"{field}: {text!r} is not an amount in yuan (like 1234.56 or 1.5万)"
        )
    number = match.group("num").replace(",", "")
    frac = match.group("frac") or ""
    try:
        yuan = Decimal(f"{number}.{frac}" if frac else number)
    except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
        raise MalformedAmount(f"{field}: {text!r} is not a number") from exc
    if match.group("wan"):
        yuan *= 10_000
    fen = yuan * 100
    if fen != fen.to_integral_value():
        raise MalformedAmount(f"{field}: {text!r} has more precision than one fen")
    return check_fen(int(fen), field)


def format_yuan(fen: int) -> str:
    """¥1,234.56 (negative as -¥1,234.56)."""
    sign = "-" if fen < 0 else ""
    yuan, cents = divmod(abs(fen), 100)
    return f"{sign}¥{yuan:,}.{cents:02d}"


def format_wan(fen: int) -> str:
    """Amount in 万元 with two decimals, e.g. 12.35万元 (rounded half up for display only)."""
    value = (Decimal(fen) / Decimal(1_000_000)).quantize(Decimal("0.01"), rounding="ROUND_HALF_UP")
    return f"{value}万元"
