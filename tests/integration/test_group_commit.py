"""Group commit (``api.group_commit``): commands arriving together are recorded in one
transaction, and each request still gets exactly its own answer."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.group_commit import GroupCommit
from ledger.commands import SignedCommand, payload_of
from ledger.decide import CommandResult
from ledger.errors import InsufficientBalance, LedgerError, NotFound
from tests.builders import Town, allocation, disbursement, money_donation


@pytest.fixture
def funded(town: Town) -> Town:
    town.submit(town.recorder, "donation.receive", money_donation(1_000_000))
    town.submit(town.recorder, "allocation.make", allocation(1_000_000))
    return town


def committer(town: Town) -> GroupCommit:
    return GroupCommit(lambda: town.app, threading.RLock())


def payments(town: Town, count: int, amount: int = 1_000) -> list[SignedCommand]:
    return [town.recorder.sign("disbursement.make", disbursement(amount, recipient=f"R-GC{i:04d}"))
            for i in range(count)]  # fmt: skip


def test_a_group_is_recorded_and_each_command_gets_its_own_result(funded: Town) -> None:
    commands = payments(funded, 5)
    before = funded.position()
    answers = committer(funded).record(commands)
    assert [a.idem for a in answers if isinstance(a, CommandResult)] == [
        payload_of(c.signed)["idem"] for c in commands
    ]  # fmt: skip
    assert funded.recorded_since(before) == 5


def test_a_refused_command_gets_its_own_error_and_the_others_are_still_recorded(
    funded: Town,
) -> None:
    good = payments(funded, 4)
    unknown = funded.recorder.sign("disbursement.make", disbursement(1_000, program="P-NOPE"))
    # Alone it would pass; after the three before it, the program no longer holds enough.
    last_straw = funded.recorder.sign("disbursement.make", disbursement(998_000))
    before = funded.position()
    answers = committer(funded).record([good[0], unknown, good[1], good[2], last_straw, good[3]])
    assert [type(a) for a in answers] == [CommandResult, NotFound, CommandResult, CommandResult,
                                          InsufficientBalance, CommandResult]  # fmt: skip
    assert funded.recorded_since(before) == 4
    assert funded.program().total == 1_000_000 - 4_000


def test_a_retry_in_the_same_group_is_answered_as_a_replay(funded: Town) -> None:
    command = funded.recorder.sign("disbursement.make", disbursement(1_000), idem="pay-0001")
    before = funded.position()
    answers = committer(funded).record([command, command])
    assert [a.duplicate for a in answers if isinstance(a, CommandResult)] == [False, True]
    assert funded.recorded_since(before) == 1


def test_concurrent_requests_each_get_their_own_answer(funded: Town) -> None:
    commands = [*payments(funded, 23), funded.recorder.sign("disbursement.make",
                                                           disbursement(1_000, program="P-NOPE"))]  # fmt: skip
    group = committer(funded)
    start = threading.Barrier(len(commands))

    def request(command: SignedCommand) -> CommandResult | LedgerError:
        start.wait()
        try:
            return group.submit(command)
        except LedgerError as error:
            return error

    before = funded.position()
    with ThreadPoolExecutor(len(commands)) as pool:
        answers = list(pool.map(request, commands))
    assert [a.idem for a in answers[:-1] if isinstance(a, CommandResult)] == [
        payload_of(c.signed)["idem"] for c in commands[:-1]
    ]  # fmt: skip
    assert isinstance(answers[-1], NotFound)
    assert funded.recorded_since(before) == 23


def test_requests_awaiting_on_the_event_loop_get_their_own_answers(funded: Town) -> None:
    import asyncio

    group = committer(funded)
    good = payments(funded, 20)
    too_much = funded.recorder.sign("disbursement.make", disbursement(10**9, recipient="R-GCBIG1"))

    async def all_at_once() -> list[CommandResult | BaseException]:
        tasks = [group.submit_async(c) for c in [*good[:10], too_much, *good[10:]]]
        return await asyncio.gather(*tasks, return_exceptions=True)

    answers = asyncio.run(all_at_once())
    assert isinstance(answers[10], InsufficientBalance)
    results = [a for a in answers if isinstance(a, CommandResult)]
    assert [r.idem for r in results] == [payload_of(c.signed)["idem"] for c in good]
    assert not any(r.duplicate for r in results)


def test_a_group_wakes_each_event_loop_once_and_a_request_gone_away_changes_nothing(funded: Town) -> None:
    import asyncio

    lock = threading.RLock()
    group = GroupCommit(lambda: funded.app, lock)
    commands = payments(funded, 12)
    before = funded.position()

    async def held_then_released() -> tuple[list[CommandResult | BaseException], int]:
        loop = asyncio.get_running_loop()
        wakeups = 0
        wake = loop.call_soon_threadsafe

        def counted(*args: object) -> object:
            nonlocal wakeups
            wakeups += 1
            return wake(*args)  # type: ignore[arg-type]

        loop.call_soon_threadsafe = counted  # type: ignore[method-assign,assignment]
        with lock:  # the committer waits for it: the requests gather into at most two groups
            tasks = [asyncio.ensure_future(group.submit_async(c)) for c in commands]
            await asyncio.sleep(0.05)
            tasks[3].cancel()  # that client went away; its command is recorded regardless
        answers = await asyncio.gather(*tasks, return_exceptions=True)
        return answers, wakeups

    answers, wakeups = asyncio.run(held_then_released())
    assert wakeups <= 2
    assert isinstance(answers[3], asyncio.CancelledError)
    kept = [a for i, a in enumerate(answers) if i != 3]
    assert [a.idem for a in kept if isinstance(a, CommandResult)] == [
        payload_of(c.signed)["idem"] for i, c in enumerate(commands) if i != 3
    ]  # fmt: skip
    assert funded.recorded_since(before) == 12


def gathered(funded: Town, monkeypatch: pytest.MonkeyPatch, seconds: float) -> tuple[GroupCommit, list[int]]:
    """A committer whose last group was four commands answered together (``GATHER`` set to
    ``seconds``), and the sizes of the groups it records from then on."""
    monkeypatch.setattr("api.group_commit.GATHER", seconds)
    lock = threading.RLock()
    group = GroupCommit(lambda: funded.app, lock)
    with ThreadPoolExecutor(5) as pool, lock:  # the committer takes the first alone, waits for the lock
        first = pool.submit(group.submit, payments(funded, 1)[0])
        time.sleep(0.1)
        four = [pool.submit(group.submit, c) for c in payments(funded, 4, amount=1_001)]
        time.sleep(0.1)
    assert first.result().duplicate is False and all(not f.result().duplicate for f in four)
    sizes: list[int] = []
    record = group.record

    def counted(commands: list[SignedCommand]) -> list[CommandResult | Exception]:
        sizes.append(len(commands))
        return record(commands)

    group.record = counted  # type: ignore[method-assign]
    return group, sizes


def test_the_requests_answered_together_are_gathered_into_one_group_again(
    funded: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, sizes = gathered(funded, monkeypatch, seconds=5.0)
    commands = payments(funded, 4, amount=1_002)
    before = funded.position()
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        futures = []
        for command in commands:  # they come back one by one, as clients do
            futures.append(pool.submit(group.submit, command))
            time.sleep(0.02)
        answers = [f.result() for f in futures]
    assert sizes == [4]
    assert time.monotonic() - started < 4  # all came: no need to wait for the deadline
    assert [a.idem for a in answers] == [payload_of(c.signed)["idem"] for c in commands]
    assert funded.recorded_since(before) == 4


def test_a_group_waits_at_most_gather_for_requests_that_do_not_come_back(
    funded: Town, monkeypatch: pytest.MonkeyPatch
) -> None:
    group, sizes = gathered(funded, monkeypatch, seconds=0.3)
    started = time.monotonic()
    group.submit(payments(funded, 1, amount=1_003)[0])  # three of the four never come back
    waited = time.monotonic() - started
    assert 0.25 <= waited < 3
    assert sizes == [1]
    started = time.monotonic()
    for command in payments(funded, 3, amount=1_004):  # one at a time: each waits for nobody
        group.submit(command)
    assert time.monotonic() - started < 0.25
    assert sizes == [1, 1, 1, 1]
