"""RFC 8785 (JCS) canonical JSON: the exact bytes an official signs.

Floats are refused outright: every number in a command is an integer (fen, quantities),
and integers must stay inside the IEEE-754 safe range so every JCS implementation agrees.

For such values JCS is exactly ``json.dumps(sort_keys=True, ensure_ascii=False)`` with no
spaces (the same escapes: quote, backslash, the short forms of b f n r t, other control
characters as a six-character u-escape with lowercase hex),
except in key order when a key holds a character beyond U+FFFF (JCS sorts by UTF-16 code
units, Python by code points). So that case, and anything ``json`` cannot encode, goes to the
``rfc8785`` package; everything else takes the C encoder, which is ~5× faster and runs two or
three times per command. ``tests/unit/test_canonical.py`` checks the two agree.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ledger.errors import MalformedCommand

_SAFE = 2**53 - 1


def canonical(value: Any) -> bytes:
    if _check(value, "$"):
        try:
            return json.dumps(
                value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False
            ).encode("utf-8")
        except (TypeError, ValueError, UnicodeEncodeError):
            pass  # rfc8785 says what is wrong with it
    return bytes(rfc8785.dumps(value))


def parse(data: bytes | str) -> Any:
    """Parse signed bytes; reject duplicate keys (JCS output never has them)."""
    try:
        if isinstance(data, str) and not data.startswith("\ufeff"):
            # What ``json.loads`` does with such text, without building a decoder every time.
            return _DECODER.decode(data)
        return json.loads(
            data, object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCommand(f"signed command is not valid JSON: {exc}") from exc


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Runs for every object of every command: built in C, and looked at key by key only when
    # a key came twice (to name the first one repeated).
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedCommand(f"duplicate key {key!r} in signed command")
            seen.add(key)
    return obj


def _no_float(text: str) -> Any:
    raise MalformedCommand(f"numbers must be integers, got {text}")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_float=_no_float, parse_constant=_no_float
)


def _check(value: Any, path: str) -> bool:
    """Refuse floats and unsafe integers; True if no object key needs UTF-16 ordering."""
    if isinstance(value, float):
        raise MalformedCommand(f"{path}: floats are not allowed in commands (use integer fen)")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE:
        raise MalformedCommand(f"{path}: integer {value} is outside the safe range")
    plain = True
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedCommand(f"{path}: object keys must be strings")
            if not key.isascii() and any(ord(c) > 0xFFFF for c in key):
                plain = False
            # Paths are built only for an error message: not on the way down.
            if not _check(item, path if _plain_leaf(item) else f"{path}.{key}"):
                plain = False
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if not _check(item, path if _plain_leaf(item) else f"{path}[{i}]"):
                plain = False
    return plain


def _plain_leaf(value: Any) -> bool:
    return isinstance(value, str) or value is None or value is True or value is False
