"""Group commit: single commands that arrive together are recorded in one transaction.

``POST /api/v1/commands`` hands its command to ``GroupCommit.submit`` and waits. One committer
thread takes every command waiting (up to ``MAX_BATCH``), records them with one
``Ledger.submit_batch`` under the server's lock — one journal lookup, one load of each
aggregate, one save — and answers each request; whatever arrived meanwhile is the next batch.
Under load a transaction carries many commands; alone, a command waits for nobody.

A transaction's round trips cost about as much as its commands (one group of 32 took 27 ms,
one of 15 took 22 ms, in the HTTP benchmark on 2 busy cores), so a group answered together
is gathered again: the next batch waits up to ``GATHER`` for as many requests as were in
flight when the last one was answered (its clients' next commands), instead of splitting
into two alternating halves. After a lone command nothing is in flight: the next is taken at
once.

Every request still gets exactly the answer it would get alone:
  * the commands are decided in arrival order, each seeing the ones before it, as one after
    another would be;
  * a refused command gets its own error, and the batch is recorded again without it (a refused
    command changes nothing, so the others decide as before);
  * a retry of a command in the same batch is answered as a replay, as it would be later;
  * any other failure (a conflict, the database down) falls back to one command at a time,
    so each request gets its own error;
  * a command is acknowledged only after the transaction that stored it committed, so every
    acknowledged command is stored exactly once.
It must never answer one request with another's result, nor hold the lock between batches.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass

from ledger.application import Ledger
from ledger.commands import SignedCommand
from ledger.decide import CommandResult
from ledger.errors import BatchRejected

MAX_BATCH = 256
# How long a group waits for the requests answered with the last one to come back (seconds).
GATHER = 0.005


@dataclass
class _Slot:
    command: SignedCommand
    # A request on an event loop awaits this future; a request thread waits on ``done``.
    future: asyncio.Future[CommandResult] | None = None
    done: threading.Event | None = None
    result: CommandResult | None = None
    error: BaseException | None = None


def _settle(answered: list[tuple[asyncio.Future[CommandResult], CommandResult | BaseException]]) -> None:
    """On the event loop: the answers of one group to the requests awaiting on that loop."""
    for future, answer in answered:
        if future.done():  # the request went away (cancelled): its command is recorded regardless
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)


class GroupCommit:
    """The committer of one server: ``submit`` from request threads, ``submit_async`` from
    requests on the event loop; one committer thread records for both."""

    def __init__(self, ledger: Callable[[], Ledger], lock: AbstractContextManager[object]) -> None:
        self._ledger = ledger
        self._lock = lock
        self._ready = threading.Condition()
        self._waiting: list[_Slot] = []
        self._thread: threading.Thread | None = None

    def submit(self, command: SignedCommand) -> CommandResult:
        """Record ``command`` (with whatever else is waiting); its result, or raise its error."""
        slot = _Slot(command, done=threading.Event())
        self._enqueue(slot)
        assert slot.done is not None
        slot.done.wait()
        if slot.error is not None:
            raise slot.error
        assert slot.result is not None
        return slot.result

    async def submit_async(self, command: SignedCommand) -> CommandResult:
        """``submit`` for a request handled on the event loop: it awaits its answer instead of
        holding a worker thread (a thread hand-off per request costs as much as its parsing)."""
        future: asyncio.Future[CommandResult] = asyncio.get_running_loop().create_future()
        self._enqueue(_Slot(command, future=future))
        return await future

    def _enqueue(self, slot: _Slot) -> None:
        with self._ready:
            self._waiting.append(slot)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
                self._thread.start()
            self._ready.notify()

    def _run(self) -> None:
        expected = 1  # requests in flight when the last group was answered
        while True:
            with self._ready:
                while not self._waiting:
                    self._ready.wait()
                # The requests just answered usually come straight back (a client's next
                # command): waiting a moment for them makes one group of what would otherwise
                # split into two alternating halves, each paying a transaction's round trips.
                deadline = time.monotonic() + GATHER
                while len(self._waiting) < min(expected, MAX_BATCH):
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    self._ready.wait(left)
                batch = self._waiting[:MAX_BATCH]
                del self._waiting[:MAX_BATCH]
            answers: Sequence[CommandResult | BaseException]
            try:
                answers = self.record([slot.command for slot in batch])
            except BaseException as error:  # never leave a request waiting for ever
                answers = [error] * len(batch)
            self._answer(batch, answers)
            with self._ready:
                expected = len(batch) + len(self._waiting)

    @staticmethod
    def _answer(batch: list[_Slot], answers: Sequence[CommandResult | BaseException]) -> None:
        """Each request its own answer: one wake-up of each event loop for the whole group (a
        wake-up per request cost the loop a system call and a pass each), then the threads."""
        on_loops: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[CommandResult],
                                                             CommandResult | BaseException]]] = {}  # fmt: skip
        for slot, answer in zip(batch, answers, strict=True):
            if slot.future is not None:
                on_loops.setdefault(slot.future.get_loop(), []).append((slot.future, answer))
                continue
            if isinstance(answer, BaseException):
                slot.error = answer
            else:
                slot.result = answer
            assert slot.done is not None
            slot.done.set()
        for loop, answered in on_loops.items():
            # A closed loop (the server stopping) has nobody waiting: never let it stop the thread.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_settle, answered)

    def record(self, commands: list[SignedCommand]) -> list[CommandResult | Exception]:
        """Record ``commands`` as one group: each one's result, or the error that refused it."""
        answers: dict[int, CommandResult | Exception] = {}
        left = list(range(len(commands)))
        with self._lock:
            ledger = self._ledger()
            while left:
                try:
                    results = ledger.submit_batch([commands[i] for i in left])
                except BatchRejected as rejected:
                    refused = {left[index]: error for index, error in rejected.problems}
                    answers.update(refused)
                    left = [i for i in left if i not in refused]
                    continue
                except Exception:  # each command alone says what is wrong with it
                    for i in left:
                        try:
                            answers[i] = ledger.submit(commands[i])
                        except Exception as error:  # that request's own answer
                            answers[i] = error
                    break
                answers.update(zip(left, results, strict=True))
                break
        return [answers[i] for i in range(len(commands))]
