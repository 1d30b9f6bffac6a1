"""RFC 8785 (JCS) canonical JSON: the exact bytes an official signs.

Floats are refused outright: every number in a command is an integer (fen, quantities),
and integers must stay inside the IEEE-754 safe range so every JCS implementation agrees.
"""

from __future__ import annotations

import json
from typing import Any

import rfc8785

from ledger.errors import MalformedCommand

_SAFE = 2**53 - 1


def canonical(value: Any) -> bytes:
    _check(value, "$")
    return bytes(rfc8785.dumps(value))


def parse(data: bytes | str) -> Any:
    """Parse signed bytes; reject duplicate keys (JCS output never has them)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, val in pairs:
            if key in obj:
                raise MalformedCommand(f"duplicate key {key!r} in signed command")
            obj[key] = val
        return obj

    try:
        return json.loads(
            data, object_pairs_hook=no_duplicates, parse_float=_no_float, parse_constant=_no_float
        )
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedCommand(f"signed command is not valid JSON: {exc}") from exc


def _no_float(text: str) -> Any:
    raise MalformedCommand(f"numbers must be integers, got {text}")


def _check(value: Any, path: str) -> None:
    if isinstance(value, float):
        raise MalformedCommand(f"{path}: floats are not allowed in commands (use integer fen)")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _SAFE:
        raise MalformedCommand(f"{path}: integer {value} is outside the safe range")
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise MalformedCommand(f"{path}: object keys must be strings")
            _check(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            _check(item, f"{path}[{i}]")
