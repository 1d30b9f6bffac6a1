"""Identity numbers and names of people and organisations: validation on input, masking for print.

* ``check_resident_id``: the 18-character resident ID number of GB 11643 — 6-digit region code
  (a province of GB/T 2260, a county-level code), birth date, 3-digit sequence, and the ISO 7064
  MOD 11-2 check character (0-9 or X).
* ``check_credit_code``: the 18-character unified social credit code of GB 32100
  (统一社会信用代码) of an organisation, with its MOD 31 check character.
* ``mask_name``: a person's name as a village notice board may print it: 张三明 → 张*明,
  张三 → 张*, 欧阳娜娜 → 欧**娜.

A refusal names the field and the check that failed; it never repeats the number, because
error messages end up in logs, terminals and screenshots (DOMAIN.md: no fragment of an ID
number, ever). This module publishes nothing and stores nothing.
"""

from __future__ import annotations

import re
from datetime import date

from ledger.errors import MalformedCommand

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"
_ID_SHAPE = re.compile(r"^\d{17}[\dX]$")
# Province-level codes of GB/T 2260 (71 Taiwan, 81/82 Hong Kong/Macao, 83 Taiwan residents' permits).
_PROVINCES = frozenset(
    ["11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71", "81", "82", "83"]
)

_CREDIT_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_CREDIT_SHAPE = re.compile(rf"^[{_CREDIT_CHARS}]{{2}}\d{{6}}[{_CREDIT_CHARS}]{{10}}$")

# Han characters (with the middle dot of minority and foreign names) or Latin letters.
_NAME = re.compile(r"^(?:[\u3400-\u9fff\uf900-\ufaff]+(?:[·•][\u3400-\u9fff]+)*|[A-Za-z][A-Za-z .'\-]*)$")


def resident_id_check_char(first17: str) -> str:
    """The GB 11643 check character (ISO 7064 MOD 11-2) of the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11]


def check_resident_id(value: object, field: str, *, on: date | None = None) -> date:
    """Check a resident ID number; return the birth date it carries.

    ``on`` is the day the number is given (a birth date after it is refused).
    """
    if not isinstance(value, str) or not _ID_SHAPE.match(value):
        raise MalformedCommand(
            f"{field} is not a resident ID number: it must be 18 characters, 17 digits and a "
            "check character 0-9 or a capital X (no spaces)",
            field=field,
        )
    if value[:2] not in _PROVINCES or value[4:6] == "00":
        raise MalformedCommand(
            f"{field} does not start with the region code of a county (GB/T 2260)", field=field
        )
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        raise MalformedCommand(f"{field} does not carry a valid birth date", field=field) from None
    if born.year < 1900 or (on is not None and born > on):
        raise MalformedCommand(f"{field} carries a birth date that cannot be right", field=field)
    if resident_id_check_char(value[:17]) != value[17]:
        raise MalformedCommand(
            f"{field} fails the GB 11643 check digit: a character was mistyped", field=field
        )
    return born


def birth_date(resident_id: str) -> date:
    """The birth date of an already checked resident ID number."""
    return date(int(resident_id[6:10]), int(resident_id[10:12]), int(resident_id[12:14]))


def age_on(resident_id: str, day: date) -> int:
    born = birth_date(resident_id)
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def credit_code_check_char(first17: str) -> str:
    """The GB 32100 check character of the first 17 characters."""
    total = sum(_CREDIT_CHARS.index(c) * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return _CREDIT_CHARS[(31 - total % 31) % 31]


def check_credit_code(value: object, field: str) -> str:
    """Check a unified social credit code (统一社会信用代码); return it."""
    if not isinstance(value, str) or not _CREDIT_SHAPE.match(value):
        raise MalformedCommand(
            f"{field} is not a unified social credit code: it must be 18 characters of digits "
            "and capital letters (no I, O, Z, S or V), characters 3-8 a region code",
            field=field,
        )
    if credit_code_check_char(value[:17]) != value[17]:
        raise MalformedCommand(
            f"{field} fails the GB 32100 check character: a character was mistyped", field=field
        )
    return value


def check_name(value: object, field: str) -> str:
    """A person's name: 2 to 30 Han characters (a middle dot allowed) or Latin letters."""
    if not isinstance(value, str) or not 2 <= len(value) <= 30 or not _NAME.match(value):
        raise MalformedCommand(
            f"{field} must be a person's name of 2 to 30 characters, without digits", field=field
        )
    return value


def mask_name(name: str) -> str:
    """张三明 → 张*明; 张三 → 张*; 欧阳娜娜 → 欧**娜 (first and last character kept)."""
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]
