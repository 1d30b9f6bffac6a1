"""Property: whatever mix of valid and invalid money and goods commands arrives, the books agree
with a model kept by the test, no balance is ever negative, a refused command records nothing
(and is refused with the error the model predicts), and a fresh Ledger replaying the stored
events (no aggregate cache) finds the same balances.

The town is shared by the examples of one test run (fixtures are per test, not per example);
each example opens its own accounts under fresh codes, so examples never see each other.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.accounts import Fund, Program, Store
from ledger.application import Ledger
from ledger.errors import (
    DirectedMisuse,
    InsufficientBalance,
    LedgerError,
    MalformedAmount,
    MalformedCommand,
)
from tests.builders import DATE, Town

# code -> (category, restricted)
FUNDS = {"F-OPEN": ("disaster_relief", False), "F-DIBAO": ("dibao", True)}
PROGRAMS = {"P-FLOOD": "disaster_relief", "P-DIBAO": "dibao"}
STORE = "S-MAIN"
ITEM = {"item": "棉被", "grade": "GB/T 22796", "unit": "床"}

Verdict = type[LedgerError] | None
Code = Callable[[str], str]
EXAMPLES = itertools.count(1)


@dataclass
class Books:
    """The test's own account of what every balance must be."""

    funds: dict[str, Counter[str]] = field(default_factory=lambda: {f: Counter() for f in FUNDS})
    programs: Counter[str] = field(default_factory=Counter)
    stock: Counter[str] = field(default_factory=Counter)


# Each operation knows its command, the verdict the rules give it on the model's books, and
# its effect. ``amount`` is fen for money and units for goods; spending operations are drawn
# with amount 0 and get their amount from ``available`` while the sequence runs.


@dataclass(frozen=True)
class Donate:
    fund: str
    amount: int
    purpose: str | None
    events = 2

    def available(self, books: Books) -> int | None:
        return None

    def command(self, code: Code, n: int, approver: str) -> tuple[str, dict[str, Any]]:
        return "donation.receive", {
            "receipt_no": code(f"R{n}"), "date": DATE, "donor_class": "individual",
            "fund": code(self.fund), "amount": self.amount, **purpose_of(self.purpose),
        }  # fmt: skip

    def verdict(self, books: Books) -> Verdict:
        category, restricted = FUNDS[self.fund]
        if self.amount <= 0:
            return MalformedAmount
        if restricted and self.purpose not in (None, category):
            return DirectedMisuse
        return None

    def apply(self, books: Books) -> None:
        books.funds[self.fund][self.purpose or ""] += self.amount


@dataclass(frozen=True)
class Allocate:
    fund: str
    program: str
    purpose: str | None
    amount: int = 0
    events = 2

    def available(self, books: Books) -> int | None:
        return books.funds[self.fund][self.purpose or ""]

    def command(self, code: Code, n: int, approver: str) -> tuple[str, dict[str, Any]]:
        return "allocation.make", {
            "fund": code(self.fund), "program": code(self.program), "amount": self.amount,
            "date": DATE, **purpose_of(self.purpose),
        }  # fmt: skip

    def verdict(self, books: Books) -> Verdict:
        category, restricted = FUNDS[self.fund]
        if self.amount <= 0:
            return MalformedAmount
        if self.purpose is not None and self.purpose != PROGRAMS[self.program]:
            return DirectedMisuse
        if restricted and PROGRAMS[self.program] != category:
            return DirectedMisuse
        if books.funds[self.fund][self.purpose or ""] < self.amount:
            return InsufficientBalance
        return None

    def apply(self, books: Books) -> None:
        books.funds[self.fund][self.purpose or ""] -= self.amount
        books.programs[self.program] += self.amount


@dataclass(frozen=True)
class Transfer:
    source: str
    purpose: str | None
    amount: int = 0
    events = 2

    @property
    def destination(self) -> str:
        return next(f for f in FUNDS if f != self.source)

    def available(self, books: Books) -> int | None:
        return books.funds[self.source][self.purpose or ""]

    def command(self, code: Code, n: int, approver: str) -> tuple[str, dict[str, Any]]:
        return "transfer.make", {
            "from_fund": code(self.source), "to_fund": code(self.destination),
            "amount": self.amount, "date": DATE, **purpose_of(self.purpose),
        }  # fmt: skip

    def verdict(self, books: Books) -> Verdict:
        (source, restricted), (destination, fenced) = FUNDS[self.source], FUNDS[self.destination]
        if self.amount <= 0:
            return MalformedAmount
        if restricted and destination != source:
            return DirectedMisuse
        if fenced and self.purpose not in (None, destination):
            return DirectedMisuse
        if books.funds[self.source][self.purpose or ""] < self.amount:
            return InsufficientBalance
        return None

    def apply(self, books: Books) -> None:
        books.funds[self.source][self.purpose or ""] -= self.amount
        books.funds[self.destination][self.purpose or ""] += self.amount


@dataclass(frozen=True)
class Disburse:
    program: str
    amount: int = 0
    events = 1

    def available(self, books: Books) -> int | None:
        return books.programs[self.program]

    def command(self, code: Code, n: int, approver: str) -> tuple[str, dict[str, Any]]:
        return "disbursement.make", {
            "program": code(self.program), "amount": self.amount, "date": DATE,
            "recipient": "R-7K2Q9D", "village": "流长村",
        }  # fmt: skip

    def verdict(self, books: Books) -> Verdict:
        if self.amount <= 0:
            return MalformedAmount
        if books.programs[self.program] < self.amount:
            return InsufficientBalance
        return None

    def apply(self, books: Books) -> None:
        books.programs[self.program] -= self.amount


@dataclass(frozen=True)
class GoodsIn:
    amount: int
    purpose: str | None
    events = 1

    def available(self, books: Books) -> int | None:
        return None

    def command(self, code: Code, n: int, approver: str) -> tuple[str, dict[str, Any]]:
        return "goods.receive", {
            "store": code(STORE), "goods": [{**ITEM, "quantity": self.amount}],
            "source": "县民政局调拨", "date": DATE, **purpose_of(self.purpose),
        }  # fmt: skip

    def verdict(self, books: Books) -> Verdict:
        return MalformedCommand if self.amount <= 0 else None

    def apply(self, books: Books) -> None:
        books.stock[self.purpose or ""] += self.amount


@dataclass(frozen=True)
class GoodsOut:
    purpose: str | None
    category: str
    amount: int = 0
    events = 1

    def available(self, books: Books) -> int | None:
        return books.stock[self.purpose or ""]

    def command(self, code: Code, n: int, approver: str) -> tuple[str, dict[str, Any]]:
        return "goods.issue", {
            "store": code(STORE), "goods": [{**ITEM, "quantity": self.amount}],
            "category": self.category, "institution": "流长镇敬老院",
            "approved_by": approver, "date": DATE, **purpose_of(self.purpose),
        }  # fmt: skip

    def verdict(self, books: Books) -> Verdict:
        if self.amount <= 0:
            return MalformedCommand
        if self.purpose is not None and self.purpose != self.category:
            return DirectedMisuse
        if books.stock[self.purpose or ""] < self.amount:
            return InsufficientBalance
        return None

    def apply(self, books: Books) -> None:
        books.stock[self.purpose or ""] -= self.amount


Operation = Donate | Allocate | Transfer | Disburse | GoodsIn | GoodsOut


def purpose_of(purpose: str | None) -> dict[str, str]:
    return {} if purpose is None else {"purpose": purpose}


def spend_within(available: int) -> st.SearchStrategy[int]:
    """Mostly an amount the account can afford; sometimes one more than it has, zero, negative."""

    def amount(roll: int) -> st.SearchStrategy[int]:
        if roll < 7 and available > 0:
            return st.integers(min_value=1, max_value=available)
        return st.sampled_from([available + 1, 0, -1])

    return st.integers(min_value=0, max_value=9).flatmap(amount)


purposes = st.sampled_from([None, None, None, "disaster_relief", "dibao"])
funds = st.sampled_from(sorted(FUNDS))
programs = st.sampled_from(sorted(PROGRAMS))
categories = st.sampled_from(sorted(set(PROGRAMS.values())))
# Half the allocations follow a path the rules allow, so money reaches programs and recipients.
allowed_allocations = st.sampled_from([
    Allocate("F-OPEN", "P-FLOOD", None), Allocate("F-OPEN", "P-FLOOD", "disaster_relief"),
    Allocate("F-OPEN", "P-DIBAO", None), Allocate("F-OPEN", "P-DIBAO", "dibao"),
    Allocate("F-DIBAO", "P-DIBAO", None), Allocate("F-DIBAO", "P-DIBAO", "dibao"),
])  # fmt: skip
operations: st.SearchStrategy[list[Operation]] = st.lists(
    st.one_of(
        st.builds(Donate, funds, st.integers(min_value=-100, max_value=200_000), purposes),
        st.builds(Allocate, funds, programs, purposes),
        allowed_allocations,
        st.builds(Transfer, funds, purposes),
        st.builds(Disburse, programs),
        st.builds(GoodsIn, st.integers(min_value=-1, max_value=500), purposes),
        st.builds(GoodsOut, purposes, categories),
    ),
    min_size=8,
    max_size=30,
)


def open_accounts(town: Town, code: Code) -> None:
    for fund, (category, restricted) in FUNDS.items():
        town.submit(town.head, "fund.open", {"code": code(fund), "name": fund, "category": category,
                                             "restricted": restricted, "department": "shehui"})  # fmt: skip
    for program, category in PROGRAMS.items():
        town.submit(town.head, "program.open", {"code": code(program), "name": program,
                                                "category": category, "department": "shehui"})  # fmt: skip
    town.submit(town.head, "store.open", {"code": code(STORE), "name": STORE, "department": "shehui"})


def assert_books_match(app: Ledger, books: Books, code: Code) -> None:
    for fund, expected in books.funds.items():
        balances = app.account(Fund, code(fund)).balances
        assert balances == {bucket: fen for bucket, fen in expected.items() if fen}
        assert all(fen > 0 for fen in balances.values())
    for program in PROGRAMS:
        balance = app.account(Program, code(program)).balances
        assert balance == ({"": books.programs[program]} if books.programs[program] else {})
    store = app.account(Store, code(STORE))
    assert isinstance(store, Store)
    stock = store.describe()["stock"]
    assert stock == [
        {**ITEM, "purpose": purpose or None, "quantity": quantity}
        for purpose, quantity in sorted(books.stock.items())
        if quantity
    ]
    assert all(line["quantity"] > 0 for line in stock)


@pytest.fixture
def replica(reopen: Callable[..., Ledger]) -> Ledger:
    """A second Ledger on the same database that rebuilds every aggregate from stored events."""
    return reopen(AGGREGATE_CACHE_MAXSIZE="")


@pytest.mark.slow
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=operations, data=st.data())
def test_the_books_never_go_negative_and_replay_to_the_same_balances(
    town: Town, replica: Ledger, ops: list[Operation], data: st.DataObject
) -> None:
    example = next(EXAMPLES)

    def code(base: str) -> str:
        return f"{base}-{example}"

    open_accounts(town, code)
    books = Books()
    for n, op in enumerate(ops):
        available = op.available(books)
        if available is not None:
            op = replace(op, amount=data.draw(spend_within(available), label=f"amount {n}"))
        cmd, body = op.command(code, n, town.head.key.key_id)
        expected = op.verdict(books)
        event(f"{type(op).__name__}: {'recorded' if expected is None else expected.__name__}")
        before = town.position()
        if expected is None:
            town.submit(town.recorder, cmd, body)
            op.apply(books)
            assert town.recorded_since(before) == op.events
        else:
            with pytest.raises(LedgerError) as caught:
                town.submit(town.recorder, cmd, body)
            assert type(caught.value) is expected
            assert town.recorded_since(before) == 0
    assert_books_match(town.app, books, code)
    assert replica.repository.cache is None
    assert_books_match(replica, books, code)
