"""Goods as (item, grade/spec, unit, quantity): "KN95 口罩, GB 2626, 箱, 120".

Quantities are integers of the unit; goods are conserved from receipt through store to issue.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ledger.errors import MalformedCommand

MAX_QUANTITY = 10**12


@dataclass(frozen=True, order=True, slots=True)
class GoodsKind:
    item: str
    grade: str
    unit: str

    def label(self) -> str:
        return f"{self.item}（{self.grade}，{self.unit}）" if self.grade else f"{self.item}（{self.unit}）"


@dataclass(frozen=True, slots=True)
class Goods:
    kind: GoodsKind
    quantity: int

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.kind.item,
            "grade": self.kind.grade,
            "unit": self.kind.unit,
            "quantity": self.quantity,
        }

    @classmethod
    def from_json(cls, data: object, field: str = "goods") -> Goods:
        if not isinstance(data, dict):
            raise MalformedCommand(f"{field} must be an object with item, grade, unit, quantity")
        extra = sorted(set(data) - {"item", "grade", "unit", "quantity"})
        if extra:
            raise MalformedCommand(f"{field} has unknown field(s): {', '.join(extra)}")
        item = _text(data.get("item"), f"{field}.item")
        grade = data.get("grade", "")
        if not isinstance(grade, str) or len(grade) > 80:
            raise MalformedCommand(f"{field}.grade must be text of at most 80 characters")
        unit = _text(data.get("unit"), f"{field}.unit")
        quantity = data.get("quantity")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity <= 0:
            raise MalformedCommand(f"{field}.quantity must be a whole number above zero, got {quantity!r}")
        if quantity > MAX_QUANTITY:
            raise MalformedCommand(f"{field}.quantity {quantity} is larger than {MAX_QUANTITY}")
        return cls(GoodsKind(item, grade.strip(), unit), quantity)


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > 80:
        raise MalformedCommand(f"{field} must be non-empty text of at most 80 characters")
    return value.strip()
