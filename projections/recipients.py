"""The recipients read model: who is registered and what each was paid, with nothing personal.

A fold over the log keeping only what the public part of the events says:

* ``gk_recipients``: one row per registration — aggregate id, pseudonym (null for a protected
  recipient), village (null when protected), program and its category, the protected flag, the
  digest of the sealed part, when registered and when erased;
* ``gk_recipient_payments``: one row per disbursement event — program, category, pseudonym and
  village (null when protected), period (the payment's ``period`` or its month), day, amount
  after corrections, the protected flag and the sealed part's digest;
* ``gk_recipient_programs``: each program's code and category.

Names, ID numbers, phones, addresses and household sizes are never here: lists decrypt them
from the sealed store when they are printed (``projections.recipient_lists``), so erasing a
person's key leaves nothing personal of them in any read model. It must never hold a protected
recipient's pseudonym.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.commands import read_payload
from ledger.ids import id_text
from projections.pending_rows import PendingRows
from projections.runner import Events

_FOLLOWED = frozenset(
    ("program.open", "recipient.register", "recipient.erase", "disbursement.make", "correction.record")
)


class RecipientsProjection:
    name = "recipients"
    tables = ("gk_recipients", "gk_recipient_payments", "gk_recipient_programs")
    rebuild_cost = 8  # its share of a rebuild's work (``Runner.rebuild`` splits by it)

    def __init__(self) -> None:
        # A program's category never changes once opened: read each once per page.
        self._categories: dict[str, str] = {}

    def begin(self, cursor: Any) -> None:
        """A new page (and transaction): forget what an earlier one read."""
        self._categories.clear()

    def _category(self, cursor: Any, program: str) -> str | None:
        found = self._categories.get(program)
        if found is None:
            found = _category(cursor, program)
            if found is not None:
                self._categories[program] = found
        return found

    def create(self, cursor: Any, dialect: str) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_recipient_programs ("
            "id TEXT PRIMARY KEY, code TEXT NOT NULL, category TEXT NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_recipients ("
            "id TEXT PRIMARY KEY, pseudonym TEXT, village TEXT, program TEXT NOT NULL, "
            "category TEXT, protected INTEGER NOT NULL, digest TEXT, registered_at TEXT NOT NULL, "
            "erased_at TEXT, position BIGINT NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_recipient_payments ("
            "event TEXT PRIMARY KEY, program TEXT NOT NULL, category TEXT, recipient TEXT, "
            "village TEXT, period TEXT NOT NULL, day TEXT NOT NULL, amount BIGINT NOT NULL, "
            "protected INTEGER NOT NULL, digest TEXT, corrected INTEGER NOT NULL, "
            "position BIGINT NOT NULL)"
        )

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_page(cursor, [(event, position)])

    def apply_page(self, cursor: Any, events: Events) -> None:
        """Registrations and payments in one statement each, written before any update that
        must find them (an erasure, a correction) and at the page's end."""
        pending = PendingRows(cursor)
        for event, position in events:
            self._apply(cursor, pending, event, position)
        pending.flush()

    def _apply(
        self, cursor: Any, pending: PendingRows, event: DomainEventProtocol[Any], position: int
    ) -> None:
        signed = getattr(event, "signed", None)
        if signed is None:  # pragma: no cover - every ledger event is signed
            return
        payload = read_payload(signed)
        cmd, body = payload["cmd"], payload["body"]
        if cmd not in _FOLLOWED:
            return
        aggregate = id_text(event.originator_id)
        if cmd == "program.open":
            cursor.execute(
                "INSERT INTO gk_recipient_programs (id, code, category) VALUES (?, ?, ?)",
                (aggregate, body["code"], body["category"]),
            )
        elif cmd == "recipient.register":
            pending.add(
                "INSERT INTO gk_recipients (id, pseudonym, village, program, category, protected, "
                "digest, registered_at, position) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (aggregate, body.get("pseudonym"), body.get("village"), body["program"],
                 self._category(cursor, body["program"]), 1 if body.get("protected") else 0,
                 payload["sealed"], payload["at"], position),
            )  # fmt: skip
        elif cmd == "recipient.erase":
            pending.flush()
            cursor.execute(
                "UPDATE gk_recipients SET erased_at = ?, position = ? WHERE id = ?",
                (payload["at"], position, aggregate),
            )
        elif cmd == "disbursement.make":
            key = f"{aggregate}:{event.originator_version}"
            category = self._category(cursor, body["program"])
            pending.add(
                "INSERT INTO gk_recipient_payments (event, program, category, recipient, village, "
                "period, day, amount, protected, digest, corrected, position) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)",
                (key, *_payment(category, body), payload["sealed"] if body.get("protected") else None,
                 position),
            )  # fmt: skip
        elif cmd == "correction.record" and body["original"]["cmd"] == "disbursement.make":
            ref = body["corrects"]
            key = f"{ref['aggregate']}:{ref['version']}"
            replacement = body.get("replacement")
            pending.flush()
            if replacement is None:
                cursor.execute(
                    "UPDATE gk_recipient_payments SET amount = 0, corrected = 1, position = ? "
                    "WHERE event = ?",
                    (position, key),
                )
                return
            _, _, recipient, village, period, day, amount, protected = _payment(None, replacement)
            cursor.execute(
                "UPDATE gk_recipient_payments SET recipient = ?, village = ?, period = ?, day = ?, "
                "amount = ?, protected = ?, digest = CASE WHEN ? = 1 THEN digest END, "
                "corrected = 1, position = ? WHERE event = ?",
                (recipient, village, period, day, amount, protected, protected, position, key),
            )


def _category(cursor: Any, program: str) -> str | None:
    cursor.execute("SELECT category FROM gk_recipient_programs WHERE code = ?", (program,))
    row = cursor.fetchone()
    return None if row is None else str(row[0])


def _payment(category: str | None, body: dict[str, Any]) -> tuple[Any, ...]:
    protected = 1 if body.get("protected") else 0
    return (
        body["program"],
        category,
        None if protected else body.get("recipient"),
        None if protected else body.get("village"),
        body.get("period") or body["date"][:7],
        body["date"],
        body["amount"],
        protected,
    )
