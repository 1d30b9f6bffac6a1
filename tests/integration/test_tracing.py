"""Donation tracing on SQLite and PostgreSQL: a donor looks a gift up by its receipt number and
sees where it went — first in, first out within its bucket, through allocations, transfers,
disbursements and goods issues — and what is still idle where; corrections keep every source
reconciled; the read model resumes after a failed page and equals a rebuilt one on the demo."""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from click.testing import CliRunner
from eventsourcing.domain import DomainEventProtocol

from api.cli import main
from api.demo import build_demo
from ledger.accounts import Account, Fund, Program, Store
from ledger.application import CommandResult, Ledger
from ledger.commands import goods_lines, stock_key
from ledger.errors import LedgerError, NotFound
from ledger.fields import Fields
from projections.balances import BalancesProjection
from projections.merkle_log import MerkleProjection, tree_size
from projections.runner import Runner
from projections.sql import Database
from projections.store import database_env
from projections.trace_report import (
    donation_records,
    donation_trace,
    donation_traces,
    reconciliation,
    traced_as_of,
)
from projections.tracing import TracingProjection
from tests.builders import (
    DATE,
    Town,
    allocation,
    correction,
    disbursement,
    goods_donation,
    goods_issue,
    goods_line,
    goods_receipt,
    money_donation,
    transfer,
)
from tests.conftest import BACKENDS, own_database

TRACE_TABLES = {
    "gk_trace_sources": "ref",
    "gk_trace": "position, seq",
    "gk_trace_lots": "account, bucket, seq",
}


@dataclass
class Traced:
    town: Town
    db: Database
    runner: Runner

    def trace(self, receipt_no: str) -> dict[str, Any]:
        self.runner.catch_up()
        return donation_trace(self.db, receipt_no)

    def figures(self) -> dict[tuple[str, str], tuple[int, int, int]]:
        self.runner.catch_up()
        return reconciliation(self.db)


@pytest.fixture
def traced(town: Town, database_url: str) -> Iterator[Traced]:
    db = Database(database_url)
    runner = Runner(town.app, db, [BalancesProjection(), MerkleProjection(), TracingProjection()])
    yield Traced(town, db, runner)
    db.close()


def record(town: Town, cmd: str, body: dict[str, Any]) -> CommandResult:
    signer = town.head if cmd in {"fund.open", "program.open", "store.open"} else town.recorder
    return town.submit(signer, cmd, body)


def appropriation(amount: int, *, fund: str = "F-DISASTER", document_no: str = "息财社〔2026〕7号") -> dict[str, Any]:
    return {"document_no": document_no, "level": "county", "fund": fund, "amount": amount, "date": DATE}


def protected_disbursement(amount: int, *, program: str = "P-FLOOD") -> dict[str, Any]:
    return {"program": program, "amount": amount, "date": DATE, "protected": True}


def correct(town: Town, original: CommandResult, replacement: dict[str, Any] | None = None) -> None:
    body = correction(town.app, uuid.UUID(original.targets[0]), original.versions[0],
                      replacement=replacement)  # fmt: skip
    record(town, "correction.record", body)


def idle(trace: dict[str, Any]) -> dict[str, int]:
    return {i["account"]["code"]: i.get("amount_fen", i.get("quantity", 0)) for i in trace["idle"]}


def moves(trace: dict[str, Any]) -> list[tuple[str, str, str, int]]:
    return [(m["kind"], m["from"]["code"], m["to"]["code"], m["amount_fen"]) for m in trace["movements"]]


def assert_reconciled(traced: Traced) -> None:
    """Every source: received = used + idle; every account bucket: its lots = its balance."""
    for key, (received, used, left) in traced.figures().items():
        assert received == used + left, key
    lots: dict[tuple[str, str], int] = {}
    for account, bucket, amount in traced.db.query(
        "SELECT account, bucket, SUM(remaining) FROM gk_trace_lots GROUP BY account, bucket"
    ):
        lots[str(account), str(bucket)] = int(amount)
    kinds: dict[str, type[Account]] = {"fund": Fund, "program": Program, "store": Store}
    for kind, code in traced.db.query("SELECT kind, code FROM gk_accounts"):
        held = traced.town.app.account(kinds[kind], code).balances
        mine = {b: n for (a, b), n in lots.items() if a == f"{kind}:{code}" and n}
        assert mine == held, f"{kind}:{code}"


# --- stories ---------------------------------------------------------------------------------


def test_a_directed_donation_is_traced_through_its_allocation_to_the_payments_it_made(traced: Traced) -> None:
    town = traced.town
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0001"))
    record(town, "donation.receive", money_donation(50_000, receipt_no="R2026-0002", purpose="disaster_relief"))
    record(town, "allocation.make", allocation(30_000, purpose="disaster_relief"))
    record(town, "disbursement.make", disbursement(10_000, recipient="R-7K2Q9D"))
    record(town, "disbursement.make", protected_disbursement(12_000))

    trace = traced.trace("R2026-0002")

    assert trace["donation"]["purpose"] == "disaster_relief"
    assert trace["donation"]["amount_fen"] == 50_000
    assert moves(trace) == [("allocation", "F-DISASTER", "P-FLOOD", 30_000)]
    [paid] = trace["disbursements"]
    assert (paid["program"]["code"], paid["village"], paid["recipients"], paid["amount_fen"]) == (
        "P-FLOOD", "流长村", 1, 10_000)  # fmt: skip
    assert trace["protected"] == {"amount_fen": 12_000, "goods": []}
    assert idle(trace) == {"F-DISASTER": 20_000, "P-FLOOD": 8_000}
    assert "R-7K2Q9D" not in json.dumps(trace), "a donor-facing trace never lists a recipient"
    # The undirected gift stays in its own bucket: a directed allocation never draws on it.
    assert idle(traced.trace("R2026-0001")) == {"F-DISASTER": 100_000}
    assert traced.trace("R2026-0001")["movements"] == []


def test_allocations_draw_first_in_first_out_across_donations_and_appropriations(traced: Traced) -> None:
    town = traced.town
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0001"))
    record(town, "appropriation.receive", appropriation(200_000))
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0002"))
    record(town, "allocation.make", allocation(250_000))
    record(town, "disbursement.make", disbursement(120_000))

    first, second = traced.trace("R2026-0001"), traced.trace("R2026-0002")

    assert moves(first) == [("allocation", "F-DISASTER", "P-FLOOD", 100_000)]
    assert first["disbursements"][0]["amount_fen"] == 100_000
    assert idle(first) == {}
    assert moves(second) == [] and idle(second) == {"F-DISASTER": 100_000}
    # The appropriation is a source too: it paid the rest and holds the rest.
    assert traced.figures()["appropriation:息财社〔2026〕7号|F-DISASTER", ""] == (200_000, 20_000, 180_000)


def test_a_transfer_between_funds_carries_the_attribution(traced: Traced) -> None:
    town = traced.town
    record(town, "appropriation.receive", appropriation(100_000, fund="F-DIBAO"))
    record(town, "donation.receive", money_donation(50_000, receipt_no="R2026-0001"))
    record(town, "transfer.make", transfer(50_000, from_fund="F-DISASTER", to_fund="F-DIBAO"))
    record(town, "allocation.make", allocation(120_000, fund="F-DIBAO", program="P-DIBAO"))
    record(town, "disbursement.make", disbursement(110_000, program="P-DIBAO"))

    trace = traced.trace("R2026-0001")

    assert moves(trace) == [
        ("transfer", "F-DISASTER", "F-DIBAO", 50_000),
        ("allocation", "F-DIBAO", "P-DIBAO", 20_000),
    ]
    assert [(p["program"]["code"], p["amount_fen"]) for p in trace["disbursements"]] == [("P-DIBAO", 10_000)]
    assert idle(trace) == {"F-DIBAO": 30_000, "P-DIBAO": 10_000}
    assert trace["totals"][0]["reconciled"]


def test_a_goods_donation_is_traced_to_each_issue_and_who_approved_it(traced: Traced) -> None:
    town = traced.town
    record(town, "goods.receive", goods_receipt(goods_line(100)))
    record(town, "donation.receive", goods_donation(goods_line(300), receipt_no="R2026-0101"))
    record(town, "goods.issue", goods_issue(goods_line(150), approved_by=town.head.key.key_id))
    to_person = goods_issue(goods_line(40), approved_by=town.leader.key.key_id)
    del to_person["institution"]
    record(town, "goods.issue", {**to_person, "recipient": "R-7K2Q9D"})

    trace = traced.trace("R2026-0101")

    institution, people = trace["goods_issues"]
    assert (institution["institution"], institution["quantity"], institution["approved_by"]["name"]) == (
        "流长镇敬老院", 50, "张主任")  # fmt: skip
    assert (people["recipients"], people["quantity"], people["approved_by"]["name"]) == (1, 40, "赵镇长")
    assert idle(trace) == {"S-MAIN": 210}
    assert [(t["item"], t["received"], t["used"], t["idle"]) for t in trace["totals"]] == [
        ("KN95 口罩", 300, 90, 210)]  # fmt: skip
    assert "R-7K2Q9D" not in json.dumps(trace)


def test_an_adjusted_allocation_and_a_reversed_payment_give_back_what_they_took(traced: Traced) -> None:
    town = traced.town
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0001"))
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0002"))
    allocated = record(town, "allocation.make", allocation(150_000))
    paid = record(town, "disbursement.make", disbursement(60_000))
    assert_reconciled(traced)

    correct(town, allocated, allocation(120_000))  # P-FLOOD has spent 60,000 of the original
    assert_reconciled(traced)
    assert idle(traced.trace("R2026-0001")) == {"P-FLOOD": 40_000}
    assert idle(traced.trace("R2026-0002")) == {"F-DISASTER": 80_000, "P-FLOOD": 20_000}
    assert moves(traced.trace("R2026-0002")) == [("allocation", "F-DISASTER", "P-FLOOD", 20_000)]

    correct(town, paid)  # reversed: the money goes back to the donation that paid it
    assert_reconciled(traced)
    first = traced.trace("R2026-0001")
    assert first["disbursements"] == [] and idle(first) == {"P-FLOOD": 100_000}
    assert [c["note"] for c in first["corrections"]] == ["录入错误，予以更正"] * 2


def test_a_corrected_donation_shrinks_its_own_lots_and_others_carry_what_it_had_paid(traced: Traced) -> None:
    town = traced.town
    spent = record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0001"))
    shrunk = record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0002"))
    record(town, "donation.receive", money_donation(200_000, receipt_no="R2026-0003"))
    record(town, "allocation.make", allocation(150_000))
    record(town, "disbursement.make", disbursement(60_000))

    correct(town, shrunk, money_donation(30_000, receipt_no="R2026-0002"))
    assert_reconciled(traced)
    second = traced.trace("R2026-0002")
    assert (second["donation"]["amount_fen"], second["donation"]["status"]) == (30_000, "corrected")
    # Its own idle 50,000 in the fund gave back most; the newest other lot gave the rest, and
    # now carries 20,000 of what the donation's money had already been used for.
    assert idle(second) == {"P-FLOOD": 50_000}
    assert [(s["counterpart"], s["amount_fen"]) for s in second["substitutions"]] == [
        ("donation:R2026-0003", -20_000)]  # fmt: skip

    correct(town, spent)  # reversed after its money had been allocated and paid out
    assert_reconciled(traced)
    first = traced.trace("R2026-0001")
    assert (first["donation"]["amount_fen"], first["donation"]["status"]) == (0, "reversed")
    [carried] = first["substitutions"]
    assert (carried["counterpart"], carried["amount_fen"]) == ("donation:R2026-0003", -100_000)
    [total] = first["totals"]
    assert (total["received"], total["used"], total["substituted"], total["idle"]) == (
        0, 60_000, -100_000, 40_000)  # fmt: skip
    third = traced.trace("R2026-0003")
    assert [(s["counterpart"], s["amount_fen"]) for s in third["substitutions"]] == [
        ("donation:R2026-0002", 20_000), ("donation:R2026-0001", 100_000)]  # fmt: skip
    assert idle(third) == {"F-DISASTER": 80_000}


def test_a_trace_as_of_a_checkpoint_is_the_trace_the_books_gave_then(traced: Traced) -> None:
    town = traced.town
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0001"))
    record(town, "allocation.make", allocation(60_000))
    then = traced.trace("R2026-0001")
    size = tree_size(traced.db)
    record(town, "disbursement.make", disbursement(50_000))
    assert traced.trace("R2026-0001") != then

    with traced_as_of(town.app, traced.db, size) as db:
        assert donation_trace(db, "R2026-0001") == then
    with traced_as_of(town.app, traced.db, 0) as db, pytest.raises(NotFound):
        donation_trace(db, "R2026-0001")


def test_gongkai_trace_prints_where_a_donation_went(traced: Traced, database_url: str) -> None:
    town = traced.town
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0001"))
    record(town, "allocation.make", allocation(60_000))
    traced.runner.catch_up()
    size = str(tree_size(traced.db))
    record(town, "disbursement.make", disbursement(50_000))
    cli = CliRunner()
    env = {"GONGKAI_DATABASE_URL": database_url}

    live = cli.invoke(main, ["trace", "R2026-0001"], env=env, catch_exceptions=False)
    then = cli.invoke(main, ["trace", "R2026-0001", "--json", "--as-of", size], env=env)
    missing = cli.invoke(main, ["trace", "R2026-9999"], env=env)

    assert live.exit_code == 0 and then.exit_code == 0, live.output + then.output
    text, data = live.output, json.loads(then.output)
    assert "捐赠去向" in text and "¥500.00" in text and "R-7K2Q9D" not in text
    assert data["as_of_tree_size"] == int(size) and data["disbursements"] == []
    assert missing.exit_code == 1 and "not_found" in missing.stderr


def test_random_movements_and_corrections_keep_every_source_reconciled(traced: Traced) -> None:
    """A seeded jumble of every movement and correction the ledger accepts (refusals skipped),
    traced in odd-sized pages as it goes; it must stay reconciled and equal a rebuild."""
    town, rng = traced.town, random.Random(2026)
    purposes = [None, None, "disaster_relief", "dibao"]
    kinds = [goods_line(1, item="棉被", grade="", unit="床"), goods_line(1)]
    correctable: list[tuple[str, CommandResult, dict[str, Any]]] = []

    def amount() -> int:
        return rng.randrange(1, 60) * 1_000

    def lines() -> list[dict[str, Any]]:
        return [{**line, "quantity": rng.randrange(1, 40)} for line in rng.sample(kinds, rng.randrange(1, 3))]

    def issue() -> dict[str, Any]:
        body = goods_issue(*lines(), approved_by=town.head.key.key_id, purpose=rng.choice([None, "disaster_relief"]))
        if rng.random() < 0.5:
            del body["institution"]
            body["recipient"] = "R-7K2Q9D"
        return body

    makers: list[tuple[str, Any]] = [
        ("donation.receive", lambda n: money_donation(amount(), receipt_no=f"R-{n}", purpose=rng.choice(purposes),
                                                      fund=rng.choice(["F-DISASTER", "F-DIBAO"]))),
        ("donation.receive", lambda n: goods_donation(*lines(), receipt_no=f"G-{n}",
                                                      purpose=rng.choice([None, "disaster_relief"]))),
        ("appropriation.receive", lambda n: appropriation(amount(), document_no=f"息财〔2026〕{n}号",
                                                          fund=rng.choice(["F-DISASTER", "F-DIBAO"]))),
        ("goods.receive", lambda n: goods_receipt(*lines(), purpose=rng.choice([None, "disaster_relief"]))),
        ("allocation.make", lambda n: allocation(amount(), purpose=rng.choice(purposes),
                                                 **rng.choice([{"fund": "F-DISASTER", "program": "P-FLOOD"},
                                                               {"fund": "F-DIBAO", "program": "P-DIBAO"},
                                                               {"fund": "F-DISASTER", "program": "P-DIBAO"}]))),
        ("allocation.make", lambda n: allocation(amount(), purpose=rng.choice(purposes))),
        ("transfer.make", lambda n: transfer(amount(), from_fund="F-DISASTER", to_fund="F-DIBAO",
                                             purpose=rng.choice(purposes))),
        ("disbursement.make", lambda n: disbursement(amount() // 2, program=rng.choice(["P-FLOOD", "P-DIBAO"]))),
        ("disbursement.make", lambda n: protected_disbursement(amount() // 3, program="P-FLOOD")),
        ("goods.issue", lambda n: issue()),
    ]  # fmt: skip
    for n in range(220):
        try:
            if correctable and rng.random() < 0.25:
                cmd, original, body = correctable.pop(rng.randrange(len(correctable)))
                replacement = None if rng.random() < 0.3 else _restated(cmd, body, rng, lines)
                correct(town, original, replacement)
            else:
                cmd, make = rng.choice(makers)
                body = make(n)
                correctable.append((cmd, record(town, cmd, body), body))
        except LedgerError:
            continue
        if n % 11 == 0:
            traced.runner.catch_up(page=7)
            assert_reconciled(traced)
    assert_reconciled(traced)
    kinds_seen = {k for (k,) in traced.db.query("SELECT DISTINCT kind FROM gk_trace")}
    assert kinds_seen >= {"received", "allocation", "transfer", "disbursement", "goods_issue", "substitution"}
    assert traced.db.query("SELECT COUNT(*) FROM gk_trace WHERE corrects IS NOT NULL")[0][0] > 20
    incremental = snapshot(traced.db)
    Runner(town.app, traced.db, [TracingProjection()]).rebuild()
    assert snapshot(traced.db) == incremental


def _restated(cmd: str, body: dict[str, Any], rng: random.Random, lines: Any) -> dict[str, Any]:
    """The body with its amount (or goods, or purpose) restated, as a correction would."""
    if body.get("goods") is not None and rng.random() < 0.7:
        return {**body, "goods": lines()}
    if body.get("amount") is not None and rng.random() < 0.8:
        return {**body, "amount": max(1, body["amount"] * rng.randrange(2, 19) // 10)}
    restated = {k: v for k, v in body.items() if k != "purpose"}
    purpose = rng.choice(["disaster_relief", "dibao", None])
    return restated if purpose is None else {**restated, "purpose": purpose}


# --- exactly once --------------------------------------------------------------------------


class _FailsOnce(TracingProjection):
    """The tracing fold, failing once when it reaches a given position."""

    def __init__(self, at: int) -> None:
        self.at: int | None = at

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        super().apply(cursor, event, position)
        if position == self.at:
            self.at = None
            raise RuntimeError("the machine lost power")


def snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    return {t: db.query(f"SELECT * FROM {t} ORDER BY {key}") for t, key in TRACE_TABLES.items()}


def test_tracing_resumes_after_a_failed_page_as_if_nothing_happened(town: Town, database_url: str) -> None:
    record(town, "donation.receive", money_donation(100_000, receipt_no="R2026-0001"))
    record(town, "appropriation.receive", appropriation(200_000))
    for amount in (40_000, 70_000, 90_000):
        record(town, "allocation.make", allocation(amount))
        record(town, "disbursement.make", disbursement(amount // 2))
    db = Database(database_url)
    try:
        fault = _FailsOnce(at=town.position() - 3)
        runner = Runner(town.app, db, [fault])
        with pytest.raises(RuntimeError):
            runner.catch_up(page=4)
        stopped = runner.position(fault)
        assert 0 < stopped < town.position() - 3  # the failed page was rolled back whole

        runner.catch_up(page=4)
        resumed = snapshot(db)
        runner.rebuild()
        assert snapshot(db) == resumed
        assert resumed["gk_trace"], "the story traced nothing"
    finally:
        db.close()


# --- the demo year -----------------------------------------------------------------------------


@dataclass
class DemoTrace:
    incremental: dict[str, list[tuple[Any, ...]]]
    rebuilt: dict[str, list[tuple[Any, ...]]]
    figures: dict[tuple[str, str], tuple[int, int, int]]
    donations: dict[str, dict[str, Any]]
    lots: dict[tuple[str, str], int]
    balances: dict[tuple[str, str], int]
    traces: list[tuple[str, dict[str, Any]]]  # donation_traces, all at once
    each: dict[str, dict[str, Any]]  # donation_trace, one by one


@pytest.fixture(scope="module", params=BACKENDS)
def demo(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoTrace]:
    """The demo year traced while it is recorded (a catch-up after every batch, in small
    pages), then rebuilt from zero: built once per backend, in a database of its own."""
    with own_database(request.param, tmp_path_factory, "trace") as url:
        app = Ledger(env=database_env(url))
        db = Database(url)
        try:
            runner = Runner(app, db, [BalancesProjection(), TracingProjection()])

            def catch_up(_: int) -> None:
                runner.catch_up(page=97)

            build_demo(app, progress=catch_up)
            runner.catch_up(page=97)
            incremental = snapshot(db)
            Runner(app, db, [TracingProjection()]).rebuild()
            yield DemoTrace(
                incremental=incremental,
                rebuilt=snapshot(db),
                figures=reconciliation(db),
                donations={str(r): json.loads(b) | {"status": s} for r, b, s in db.query(
                    "SELECT label, body, status FROM gk_trace_sources WHERE kind = 'donation'")},
                lots={(str(a), str(b)): int(n) for a, b, n in db.query(
                    "SELECT account, bucket, SUM(remaining) FROM gk_trace_lots GROUP BY account, bucket")},
                balances={(f"{k}:{c}", str(b)): int(n) for k, c, b, n in db.query(
                    "SELECT a.kind, a.code, b.bucket, b.amount FROM gk_buckets b "
                    "JOIN gk_accounts a ON a.id = b.account_id WHERE b.amount <> 0")},
                traces=donation_traces(db),
                each={str(r): donation_trace(db, str(r)) for (r,) in db.query(
                    "SELECT label FROM gk_trace_sources WHERE kind = 'donation'")},
            )  # fmt: skip
        finally:
            db.close()
            app.close()


def test_the_demo_traced_incrementally_equals_the_demo_rebuilt(demo: DemoTrace) -> None:
    assert demo.incremental == demo.rebuilt
    assert len(demo.rebuilt["gk_trace"]) > 6000


def test_every_demo_source_reconciles_and_every_donation_to_its_corrected_amount(demo: DemoTrace) -> None:
    for key, (received, used, left) in demo.figures.items():
        assert received == used + left, key
    received_by: dict[str, dict[str, int]] = {}
    for (source, measure), (received, _, _) in demo.figures.items():
        if received:
            received_by.setdefault(source, {})[measure] = received
    assert len(demo.donations) > 300
    for receipt, body in demo.donations.items():
        assert received_by.get(f"donation:{receipt}", {}) == recorded_amounts(body), receipt


def recorded_amounts(body: dict[str, Any]) -> dict[str, int]:
    """What a donation's (corrected) record says it brought in, per measure."""
    if body["status"] == "reversed":
        return {}
    if body.get("fund") is not None:
        return {"": body["amount"]}
    return {stock_key(g, body.get("purpose")): g.quantity for g in goods_lines(Fields(body))}


def test_the_demo_lots_add_up_to_every_account_balance(demo: DemoTrace) -> None:
    assert {k: n for k, n in demo.lots.items() if n} == demo.balances


def test_all_donation_traces_at_once_are_each_trace_in_receipt_order(demo: DemoTrace) -> None:
    assert len(demo.traces) > 300
    assert [receipt for receipt, _ in demo.traces] == sorted(demo.each)
    assert dict(demo.traces) == demo.each


def test_some_donation_traces_are_those_traces_and_summaries_follow_every_change(traced: Traced) -> None:
    town, db = traced.town, traced.db
    for n in range(1, 5):
        record(town, "donation.receive", money_donation(40_000, receipt_no=f"R2026-000{n}"))
    record(town, "allocation.make", allocation(50_000))
    traced.runner.catch_up()
    every = dict(donation_traces(db))
    assert dict(donation_traces(db, ["R2026-0004", "R2026-0002"])) == {r: every[r] for r in ("R2026-0002", "R2026-0004")}
    before = donation_records(db)
    assert {r: record for r, (record, _) in before.items()} == {r: t["donation"] for r, t in every.items()}
    # A payment draws on the first donation in, first out: its summary changes, and the
    # summaries of the donations it did not touch stay as they were, as their traces do.
    record(town, "disbursement.make", disbursement(1_000))
    traced.runner.catch_up()
    after, again = donation_records(db), dict(donation_traces(db))
    changed = {r for r in every if again[r] != every[r]}
    assert changed == {"R2026-0001"} == {r for r in before if after[r][1] != before[r][1]}
