"""Client threads that post signed commands to a running ``gongkai serve`` and remember every
answer: which commands were acknowledged (2xx) and with what, which answers were lost (the
server died), and every 503 (the database was away), so a test can check afterwards that every
acknowledged command is stored exactly once and that a retry answers with the first result.
"""

from __future__ import annotations

import base64
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from ledger.commands import SignedCommand, Signer
from tests.builders import JURISDICTION, key, money_donation

COMMANDS = "/api/v1/commands"


def wire(envelope: SignedCommand) -> dict[str, Any]:
    return {"signed": envelope.signed.decode(), "signature": base64.b64encode(envelope.signature).decode(),
            "key_id": envelope.key_id}  # fmt: skip


@dataclass
class Sent:
    """One signed command a client posts, and every answer it got (0: no answer at all)."""

    envelope: dict[str, Any]
    idem: str
    statuses: list[int] = field(default_factory=list)
    first: dict[str, Any] | None = None  # the body of the first acknowledgement

    @property
    def acknowledged(self) -> bool:
        return self.first is not None


def donations(tag: str, client: int, count: int) -> list[Sent]:
    """``count`` signed money donations with their own receipt numbers and idempotency keys."""
    signer = Signer(key("recorder"), JURISDICTION)
    sent = []
    for i in range(count):
        idem = f"{tag}-{client}-{i}"
        body = money_donation(100 + i, receipt_no=f"{tag}-{client:02d}-{i:04d}")
        sent.append(Sent(wire(signer.sign("donation.receive", body, idem=idem)), idem))
    return sent


class Clients:
    """``count`` client threads, each posting its own commands in order with their idem."""

    def __init__(self, base: str, tag: str, count: int, per_client: int) -> None:
        self.base = base
        self.commands = [donations(tag, c, per_client) for c in range(count)]
        self.stop = threading.Event()
        self.problems: list[httpx.Response] = []  # every 503 answer, to check its form
        self.errors: list[str] = []  # anything no client should ever see
        self._threads: list[threading.Thread] = []

    def every(self) -> list[Sent]:
        return [sent for commands in self.commands for sent in commands]

    def acknowledged(self) -> int:
        return sum(sent.acknowledged for sent in self.every())

    def post(self, client: httpx.Client, sent: Sent) -> httpx.Response | None:
        try:
            response = client.post(COMMANDS, json=sent.envelope, headers={"Idempotency-Key": sent.idem})
        except httpx.TransportError:
            sent.statuses.append(0)
            return None
        sent.statuses.append(response.status_code)
        if response.is_success and sent.first is None:
            sent.first = response.json()
        return response

    def run(self, until_unanswered: bool) -> None:
        """Post every command; a 503 is retried. ``until_unanswered``: stop at the first lost
        answer (the server was killed), else retry it too (the database is away)."""
        for commands in self.commands:
            thread = threading.Thread(target=self._client, args=(commands, until_unanswered), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _client(self, commands: list[Sent], until_unanswered: bool) -> None:
        with httpx.Client(base_url=self.base, timeout=30) as client:
            for sent in commands:
                while not self.stop.is_set():
                    response = self.post(client, sent)
                    if response is None:
                        if until_unanswered:
                            return
                        self.errors.append(f"{sent.idem}: no answer")
                    elif response.status_code == 503:
                        self.problems.append(response)
                    else:
                        if not response.is_success:
                            self.errors.append(f"{sent.idem}: {response.status_code} {response.text[:300]}")
                        break
                    time.sleep(0.1)

    def join(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.stop.set()
        assert not any(t.is_alive() for t in self._threads), "a client did not finish in time"
        self._threads.clear()

    def retry_everything(self) -> None:
        """Every client posts every one of its commands again, same envelope, same idem."""
        def again(commands: list[Sent]) -> None:
            with httpx.Client(base_url=self.base, timeout=30) as client:
                for sent in commands:
                    acknowledged_before = sent.acknowledged
                    response = self.post(client, sent)
                    if response is None or not response.is_success:
                        status = "no answer" if response is None else response.status_code
                        self.errors.append(f"retry of {sent.idem}: {status}")
                    elif acknowledged_before and (
                        response.status_code != 200
                        or response.headers.get("Idempotent-Replayed") != "true"
                        or response.json() != {**(sent.first or {}), "duplicate": True}
                    ):
                        self.errors.append(f"retry of acknowledged {sent.idem}: {response.status_code} "
                                           f"{dict(response.headers)} {response.text[:300]}")  # fmt: skip

        self._threads = [threading.Thread(target=again, args=(c,), daemon=True) for c in self.commands]
        for thread in self._threads:
            thread.start()
        self.join(timeout=40)
        assert not self.errors, self.errors[:5]
