"""Accounts that hold money or goods: funds, programs (救助项目) and goods stores.

Each keeps only what its invariants need: balances per bucket (see ``ledger.commands``) and
the list of its events already corrected. Every event applies the deltas its signed command
defines for this aggregate, so replaying the log always yields the same balances. Reports are
folds in ``projections/``; nothing here is for display.
"""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from ledger.catalogue import AREAS, CATEGORIES, DEPARTMENTS, area_of
from ledger.commands import Deltas, read_payload, spec_of
from ledger.errors import CorrectionError, InsufficientBalance
from ledger.fields import Fields
from ledger.ids import id_text
from ledger.money import format_yuan


def deltas_for(payload: dict[str, Any], aggregate_id: UUID) -> Deltas:
    """This aggregate's share of a signed command's effect on balances (never mutate it)."""
    index: int = payload["targets"].index(id_text(aggregate_id))
    return command_deltas(payload)[index]


_last_deltas: tuple[object, list[Deltas]] = (None, [])


def command_deltas(payload: dict[str, Any]) -> list[Deltas]:
    """Every target's share of a signed command's effect on balances, in target order.

    The guards, then each aggregate of the command, ask for the same payload object in turn
    (``read_payload`` hands out one per text): its deltas are worked out once. The payload
    itself is compared, never its value, and payloads are never mutated. Never mutate the
    result either."""
    global _last_deltas
    last = _last_deltas
    if last[0] is payload:
        return last[1]
    deltas = spec_of(payload["cmd"]).deltas(Fields(payload["body"]))
    _last_deltas = (payload, deltas)
    return deltas


class Account(Aggregate):
    """Shared state and guards of funds, programs and stores."""

    kind_label = "账户"

    @staticmethod
    def create_id(signed: str) -> UUID:
        return UUID(read_payload(signed)["targets"][0])

    def _open(self, signed: str) -> dict[str, Any]:
        body: dict[str, Any] = read_payload(signed)["body"]
        self.code: str = body["code"]
        self.name: str = body["name"]
        self.department: str = body["department"]
        self.balances: dict[str, int] = {}
        self.corrected: dict[str, str] = {}
        return body

    def _move(self, signed: str) -> None:
        payload = read_payload(signed)
        for bucket, change in deltas_for(payload, self.id).items():
            self.balances[bucket] = self.balances.get(bucket, 0) + change
            if self.balances[bucket] == 0:
                del self.balances[bucket]
        if payload["cmd"] == "correction.record":
            ref = payload["body"]["corrects"]
            self.corrected[f"{ref['aggregate']}:{ref['version']}"] = payload["nonce"]

    # --- guards (raise before anything is triggered) --------------------------------------

    def check_deltas(self, deltas: Deltas) -> None:
        for bucket, change in sorted(deltas.items()):
            have = self.balances.get(bucket, 0)
            if have + change < 0:
                raise InsufficientBalance(
                    f"{self.kind_label} {self.code}（{self.name}）{self.bucket_label(bucket)} "
                    f"has {self.amount_label(have)}, needs {self.amount_label(-change)}; "
                    "it may never go negative",
                    field="goods" if isinstance(self, Store) else "amount",
                )

    def check_not_corrected(self, version: int) -> None:
        """Corrections are marked on every aggregate of the command, keyed by its first event."""
        key = f"{self.id}:{version}"
        if key in self.corrected:
            raise CorrectionError(
                f"event {self.id} v{version} was already corrected "
                f"(correction nonce {self.corrected[key]}); an event is corrected once"
            )

    def bucket_label(self, bucket: str) -> str:
        return f"purpose {CATEGORIES[bucket][1]}" if bucket else "undirected"

    def amount_label(self, value: int) -> str:
        return format_yuan(value)

    @property
    def total(self) -> int:
        return sum(self.balances.values())


class Fund(Account):
    """A fund (资金) by focus area and category; restricted funds serve their category only."""

    kind_label = "资金"

    @event("Opened")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        body = self._open(signed)
        self.category: str = body["category"]
        self.area: str = area_of(self.category)
        self.restricted: bool = body["restricted"]

    @event("DonationReceived")
    def donation_received(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("AppropriationReceived")
    def appropriation_received(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("Allocated")
    def allocated(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("TransferredOut")
    def transferred_out(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("TransferredIn")
    def transferred_in(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("Corrected")
    def corrected_by(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    def describe(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "area": self.area,
            "area_label": AREAS[self.area],
            "category": self.category,
            "category_label": CATEGORIES[self.category][1],
            "restricted": self.restricted,
            "department": self.department,
            "department_label": DEPARTMENTS[self.department],
            "balance": self.total,
            "buckets": dict(sorted(self.balances.items())),
        }


class Program(Account):
    """A relief program (救助项目) of one category, drawing on funds, paying recipients."""

    kind_label = "项目"

    @event("Opened")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        body = self._open(signed)
        self.category: str = body["category"]
        self.area: str = area_of(self.category)

    @event("AllocationReceived")
    def allocation_received(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("Disbursed")
    def disbursed(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("Corrected")
    def corrected_by(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    def bucket_label(self, bucket: str) -> str:
        return "balance"

    def describe(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "area": self.area,
            "category": self.category,
            "category_label": CATEGORIES[self.category][1],
            "department": self.department,
            "department_label": DEPARTMENTS[self.department],
            "balance": self.total,
        }


class Store(Account):
    """A goods store (物资仓库): stock per (item, grade, unit, purpose)."""

    kind_label = "仓库"

    @event("Opened")
    def __init__(self, signed: str, sig: str, key_id: str) -> None:
        self._open(signed)

    @event("DonationReceived")
    def donation_received(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("GoodsReceived")
    def goods_received(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("GoodsIssued")
    def goods_issued(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    @event("Corrected")
    def corrected_by(self, signed: str, sig: str, key_id: str) -> None:
        self._move(signed)

    def bucket_label(self, bucket: str) -> str:
        item, grade, unit, purpose = json.loads(bucket)
        where = f"，{CATEGORIES[purpose][1]}定向" if purpose else ""
        return f"{item}（{grade or '-'}，{unit}{where}）"

    def amount_label(self, value: int) -> str:
        return str(value)

    def describe(self) -> dict[str, Any]:
        stock = []
        for bucket, quantity in sorted(self.balances.items()):
            item, grade, unit, purpose = json.loads(bucket)
            stock.append(
                {"item": item, "grade": grade, "unit": unit, "purpose": purpose or None,
                 "quantity": quantity}
            )  # fmt: skip
        return {
            "code": self.code,
            "name": self.name,
            "department": self.department,
            "department_label": DEPARTMENTS[self.department],
            "stock": stock,
        }
