"""Donation tracing: for every source of money or goods, where it went and what is still idle.

A read model kept current by ``projections.runner.Runner`` (exactly once, both backends). It
follows *lots*: every account (fund, program, store) holds, per bucket, a queue of lots, each
an amount still attributed to one source (a donation, a government appropriation, a goods
receipt). ``gk_trace_lots`` holds the queues, ``gk_trace`` one row per source per movement
step, ``gk_trace_sources`` each source's public record. Lots are persisted, so a catch-up
continues from the stored queues and never folds the log again; nothing is kept in memory
between events. Only public-part fields are stored: no personal data can reach a trace.

The attribution rule (FIFO by log order, buckets kept as the ledger keeps them):

- A source's money enters its account's bucket as a lot at the end of the queue: the fund's
  directed-purpose bucket (``""`` = undirected), or for goods the store's bucket of the same
  (item, grade, unit, purpose). Government appropriations are sources like donations, so a
  donor's gift is never made to look as if it paid for everything.
- An allocation or transfer draws the amount from the front of the fund bucket it names,
  first in, first out, and the drawn parts enter the program (or the other fund's same bucket)
  as lots at the end of its queue, each still attributed to its source.
- A disbursement draws from the front of its program's queue; a goods issue draws from the
  front of the store's queue for the same (item, grade, unit, purpose). These are the uses
  that leave the books.

The correction rule (a ``correction.record`` either reverses or replaces; nothing is edited):

- A corrected **donation, appropriation or goods receipt** changes its lots by the net change
  per bucket: a larger amount grows the source's newest lot in that bucket (keeping its place
  in the queue), a new bucket (say undirected → directed, or N95 → KN95) gets a new lot at the
  end. A smaller amount (or a reversal) takes back from the source's own lots, newest first;
  if they were already drawn on, the rest is taken from the bucket's other lots, newest first
  (LIFO), and recorded as a *substitution*: those sources carry (+) the uses the corrected
  source can no longer carry (−).
- A corrected **allocation or transfer** is undone and redone: its amount is taken back from
  the receiving account, first from the parts it moved there (newest first), then LIFO from
  the account's other lots, and returned to the front of the queue it was drawn from, so an
  undo restores the queue's order. Whatever the receiving account no longer holds was spent
  downstream; it is returned to its sources too, and the replacement's first draws take that
  spending over (a substitution). The replacement, if any, is then drawn FIFO like a new one.
- A corrected **disbursement or goods issue** returns exactly the parts it used to the front
  of the queue they came from; the replacement, if any, is then drawn FIFO.

Every correction row carries the original's movement and the 更正说明, and is dated with the
date of the movement it restates. So for every source and every measure (money in fen, or one
kind of goods): received (corrected) = disbursed + issued + substitutions + idle lots, and for
every account bucket the lots add up to the ledger's balance.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from ledger.commands import goods_lines, stock_key
from ledger.fields import Fields
from ledger.ids import id_text
from projections.pending_rows import PendingRows
from projections.runner import Events, signed_payloads

MONEY = ""  # the measure of money (fen); a goods measure is its store bucket key
INFLOWS = ("donation.receive", "appropriation.receive", "goods.receive")
INTERNAL = {"allocation.make": "allocation", "transfer.make": "transfer"}
OUTFLOWS = {"disbursement.make": "disbursement", "goods.issue": "goods_issue"}
USES = ("disbursement", "goods_issue", "substitution")  # what a source's amount went to
_CHINA = timezone(timedelta(hours=8))
_PAGE = 32
_FIRST_PAGE = 4

Part = tuple[str, str, int]  # (source, measure, amount)


class TracingError(RuntimeError):
    """The lots are out of step with the ledger's balances: a defect, never a user error."""


class TracingProjection:
    name = "tracing"
    tables = ("gk_trace_sources", "gk_trace", "gk_trace_lots")
    rebuild_cost = 18  # its share of a rebuild's work (``Runner.rebuild`` splits by it)

    def create(self, cursor: Any, dialect: str) -> None:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_trace_sources (ref TEXT PRIMARY KEY, "
            "kind TEXT NOT NULL, label TEXT NOT NULL, account TEXT NOT NULL, "
            "position BIGINT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, "
            "notes TEXT NOT NULL)"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_trace (position BIGINT NOT NULL, seq INTEGER NOT NULL, "
            "source TEXT NOT NULL, kind TEXT NOT NULL, measure TEXT NOT NULL, "
            "amount BIGINT NOT NULL, from_account TEXT, to_account TEXT, day TEXT NOT NULL, "
            "move TEXT NOT NULL, corrects TEXT, counterpart TEXT, detail TEXT NOT NULL, "
            "PRIMARY KEY (position, seq))"
        )
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS gk_trace_lots (account TEXT NOT NULL, bucket TEXT NOT NULL, "
            "seq BIGINT NOT NULL, source TEXT NOT NULL, measure TEXT NOT NULL, "
            "remaining BIGINT NOT NULL, PRIMARY KEY (account, bucket, seq))"
        )
        cursor.execute("CREATE INDEX IF NOT EXISTS gk_trace_by_source ON gk_trace (source)")
        cursor.execute("CREATE INDEX IF NOT EXISTS gk_trace_by_move ON gk_trace (move)")
        cursor.execute("CREATE INDEX IF NOT EXISTS gk_trace_lots_by_source ON gk_trace_lots (source)")

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_page(cursor, [(event, position)])

    def apply_page(self, cursor: Any, events: Events) -> None:
        """The page's commands in turn; their trace rows in one statement, written before any
        read of them (a correction's) and at the page's end. Lots are written as they change."""
        pending = PendingRows(cursor)
        lots = _PageLots(cursor)
        for event, payload, position in signed_payloads(events):
            cmd = payload["cmd"]
            if not (cmd in INFLOWS or cmd in INTERNAL or cmd in OUTFLOWS or cmd == "correction.record"):
                continue
            if payload["targets"][0] != id_text(event.originator_id):
                continue  # a command is traced once, on the event of its first aggregate
            _Step(cursor, pending, lots, position, event.originator_version, payload).run()
        pending.flush()
        lots.flush()


def source_ref(cmd: str, body: dict[str, Any], version: int) -> str:
    """The public name of a source: its receipt, its document (per fund), or its store entry."""
    if cmd == "donation.receive":
        return f"donation:{body['receipt_no']}"
    if cmd == "appropriation.receive":
        return f"appropriation:{body['document_no']}|{body['fund']}"
    return f"goods-receipt:{body['store']}#{version}"


def _inflow(cmd: str, body: dict[str, Any]) -> tuple[str, list[tuple[str, int]]]:
    """The account an inflow enters and its (bucket, amount) lines; bucket = measure for goods."""
    purpose = body.get("purpose") or ""
    if body.get("fund") is not None:
        return f"fund:{body['fund']}", [(purpose, int(body["amount"]))]
    return f"store:{body['store']}", [
        (stock_key(g, purpose), g.quantity) for g in goods_lines(Fields(body))
    ]


def _internal(cmd: str, body: dict[str, Any]) -> tuple[str, str, str, str, int]:
    """(origin account, bucket, receiving account, bucket, amount) of an allocation/transfer."""
    purpose = body.get("purpose") or ""
    if cmd == "allocation.make":
        return f"fund:{body['fund']}", purpose, f"program:{body['program']}", "", int(body["amount"])
    return f"fund:{body['from_fund']}", purpose, f"fund:{body['to_fund']}", purpose, int(body["amount"])


class _PageLots:
    """What a page of events has done to ``gk_trace_lots`` beyond its inserts and deletes,
    which are written at once: the changes of lots' remaining amounts, summed per lot and
    written at the page's end, and each queue's front as last read, until a lot is added to
    or removed from that queue. ``_Step._lots`` adds the changes to what it reads, so every
    step sees the lots as if each change had been written when it was made."""

    def __init__(self, cursor: Any) -> None:
        self.c = cursor
        self.changes: dict[tuple[str, str, int], int] = {}  # (account, bucket, seq) -> change
        self.fronts: dict[tuple[str, str], list[tuple[int, str, str, int]]] = {}  # rows as stored

    def change(self, account: str, bucket: str, seq: int, amount: int) -> None:
        key = (account, bucket, seq)
        self.changes[key] = self.changes.get(key, 0) + amount

    def gone(self, account: str, bucket: str, seq: int) -> None:
        """The lot was deleted: forget its change and its queue's front."""
        self.changes.pop((account, bucket, seq), None)
        self.fronts.pop((account, bucket), None)

    def flush(self) -> None:
        self.c.executemany(
            "UPDATE gk_trace_lots SET remaining = remaining + ? "
            "WHERE account = ? AND bucket = ? AND seq = ?",
            [(k, *key) for key, k in self.changes.items() if k],
        )
        self.changes.clear()
        self.fronts.clear()


class _Step:
    """One command's effect on the lots and the trace rows (all within the runner's transaction)."""

    def __init__(
        self,
        cursor: Any,
        pending: PendingRows,
        lots: _PageLots,
        position: int,
        version: int,
        payload: dict[str, Any],
    ) -> None:
        self.c = cursor
        self.pending = pending
        self.lots = lots
        self.position = position
        self.version = version
        self.payload = payload
        self.move = f"{payload['targets'][0]}:{version}"
        self.seq = 0
        self.corrects: str | None = None
        self.note: str | None = None

    def run(self) -> None:
        cmd, body = self.payload["cmd"], self.payload["body"]
        if cmd in INFLOWS:
            self._receive(cmd, body)
        elif cmd in INTERNAL:
            self._internal(cmd, body)
        elif cmd in OUTFLOWS:
            self._outflow(cmd, body)
        else:
            self._correct(body)

    # --- movements -------------------------------------------------------------------------

    def _receive(self, cmd: str, body: dict[str, Any]) -> None:
        ref = source_ref(cmd, body, self.version)
        account, lines = _inflow(cmd, body)
        label = body.get("receipt_no") or body.get("document_no") or body["source"]
        self.c.execute(
            "INSERT INTO gk_trace_sources (ref, kind, label, account, position, body, status, "
            "notes) VALUES (?, ?, ?, ?, ?, ?, 'recorded', '[]')",
            (ref, cmd.split(".", maxsplit=1)[0], label, account, self.position, _dumps(body)),
        )
        for bucket, amount in lines:
            measure = bucket if account.startswith("store:") else MONEY
            self._put(account, bucket, ref, measure, amount, front=False)
            self._row(ref, "received", measure, amount, body["date"], to=account)

    def _internal(self, cmd: str, body: dict[str, Any], spent: list[Part] | None = None) -> None:
        origin, bucket, dest, dest_bucket, amount = _internal(cmd, body)
        kind = INTERNAL[cmd]
        drawn = self._draw(origin, bucket, amount)
        for source, measure, k in drawn:
            self._row(source, kind, measure, k, body["date"], frm=origin, to=dest)
        # Spending already done downstream under the corrected original is taken over first.
        carried, rest = _split(drawn, sum(k for _, _, k in spent or []))
        for (old, measure, k), new in _pair(spent or [], carried):
            if old != new:
                self._row(new, "substitution", measure, k, body["date"], frm=dest, counterpart=old)
                self._row(old, "substitution", measure, -k, body["date"], frm=dest, counterpart=new)
        for source, measure, k in rest:
            self._put(dest, dest_bucket, source, measure, k, front=False)

    def _outflow(self, cmd: str, body: dict[str, Any]) -> None:
        kind = OUTFLOWS[cmd]
        if cmd == "disbursement.make":
            account = f"program:{body['program']}"
            detail = {k: body[k] for k in ("village", "recipient", "period") if body.get(k)}
            detail["protected"] = bool(body.get("protected"))
            draws = [(MONEY, int(body["amount"]), detail)]
        else:
            account = f"store:{body['store']}"
            detail = {k: body[k] for k in ("category", "recipient", "institution", "approved_by")
                      if body.get(k)}  # fmt: skip
            detail["protected"] = bool(body.get("protected"))
            purpose = body.get("purpose") or ""
            draws = [(stock_key(g, purpose), g.quantity, detail) for g in goods_lines(Fields(body))]
        for bucket, amount, details in draws:
            for source, measure, k in self._draw(account, bucket, amount):
                self._row(source, kind, measure, k, body["date"], frm=account, detail=details)

    # --- corrections -----------------------------------------------------------------------

    def _correct(self, body: dict[str, Any]) -> None:
        original, replacement = body["original"], body.get("replacement")
        cmd = original["cmd"]
        ref = body["corrects"]
        self.corrects = f"{ref['aggregate']}:{ref['version']}"
        self.note = body["note"]
        if cmd in INFLOWS:
            self._correct_inflow(cmd, original["body"], replacement, int(ref["version"]))
        elif cmd in INTERNAL:
            spent = self._undo_internal(cmd, original["body"])
            if replacement is not None:
                self._internal(cmd, replacement, spent)
            elif spent:
                raise TracingError(f"reversal of {self.corrects} leaves spending unattributed")
        elif cmd in OUTFLOWS:
            for row in self._rows_of(self.corrects):
                source, measure, amount, frm, day, detail = row
                self._put(frm, measure, source, measure, amount, front=True)
                self._row(source, OUTFLOWS[cmd], measure, -amount, day, frm=frm, detail=detail)
            if replacement is not None:
                self._outflow(cmd, replacement)

    def _correct_inflow(
        self, cmd: str, old: dict[str, Any], new: dict[str, Any] | None, version: int
    ) -> None:
        ref = source_ref(cmd, old, version)
        account, old_lines = _inflow(cmd, old)
        net: dict[str, int] = {}
        for bucket, amount in old_lines:
            net[bucket] = net.get(bucket, 0) - amount
        for bucket, amount in _inflow(cmd, new)[1] if new is not None else []:
            net[bucket] = net.get(bucket, 0) + amount
        day = (new or old)["date"]
        for bucket, change in sorted(net.items()):
            measure = bucket if account.startswith("store:") else MONEY
            if change > 0:
                self._grow(account, bucket, ref, measure, change)
            elif change < 0:
                own = self._take_newest(account, bucket, -change, source=ref)
                others = self._take_newest(account, bucket, -change - _total(own))
                if _total(own) + _total(others) != -change:
                    raise TracingError(f"{account} {bucket!r} holds less than its balance")
                for other, _, k in others:
                    self._row(other, "substitution", measure, k, day, frm=account, counterpart=ref)
                    self._row(ref, "substitution", measure, -k, day, frm=account, counterpart=other)
            self._row(ref, "received", measure, change, day, to=account)
        self.c.execute("SELECT notes FROM gk_trace_sources WHERE ref = ?", (ref,))
        notes = json.loads(self.c.fetchone()[0])
        notes.append({"date": _day(self.payload["at"]), "note": self.note,
                      "reversed": new is None})  # fmt: skip
        self.c.execute(
            "UPDATE gk_trace_sources SET body = ?, status = ?, notes = ? WHERE ref = ?",
            (_dumps(new or old), "reversed" if new is None else "corrected", _dumps(notes), ref),
        )

    def _undo_internal(self, cmd: str, old: dict[str, Any]) -> list[Part]:
        """Take the original's amount back to where it came from; return what was spent."""
        origin, bucket, dest, dest_bucket, amount = _internal(cmd, old)
        moved = [(s, m, k) for s, m, k, *_ in self._rows_of(self.corrects)]
        taken: list[Part] = []
        missing: list[Part] = []
        for source, measure, k in reversed(moved):
            got = self._take_newest(dest, dest_bucket, k, source=source)
            taken += got
            if k > _total(got):
                missing.append((source, measure, k - _total(got)))
        taken += self._take_newest(dest, dest_bucket, amount - _total(taken))
        # What the receiving account no longer holds was spent downstream: the original's
        # missing parts (latest first) beyond what other lots made up for.
        spent = _split(missing, amount - _total(taken))[0]
        for source, measure, k in taken + spent:
            self._put(origin, bucket, source, measure, k, front=True)
            self._row(source, INTERNAL[cmd], measure, -k, old["date"], frm=origin, to=dest)
        return spent

    # --- lots --------------------------------------------------------------------------------

    def _lots(self, account: str, bucket: str, *, newest: bool, source: str | None = None
              ) -> Iterator[tuple[int, str, str, int]]:  # fmt: skip
        """The bucket's lots in queue order (or newest first), fetched a page at a time: a short
        first page, as most draws take from the first lot or two, and that one kept for the
        page of events (``_PageLots``)."""
        order, after = ("DESC", "<") if newest else ("ASC", ">")
        front = not newest and source is None
        last: int | None = None
        limit = _FIRST_PAGE
        while True:
            rows = self.lots.fronts.get((account, bucket)) if front and last is None else None
            if rows is None:
                sql = ("SELECT seq, source, measure, remaining FROM gk_trace_lots "
                       "WHERE account = ? AND bucket = ?")  # fmt: skip
                params: list[Any] = [account, bucket]
                if source is not None:
                    sql += " AND source = ?"
                    params.append(source)
                if last is not None:
                    sql += f" AND seq {after} ?"
                    params.append(last)
                self.c.execute(f"{sql} ORDER BY seq {order} LIMIT {limit}", params)
                rows = [(int(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in self.c.fetchall()]
                if front and last is None:
                    self.lots.fronts[account, bucket] = rows
            changes = self.lots.changes
            for seq, owner, measure, remaining in rows:
                yield seq, owner, measure, remaining + changes.get((account, bucket, seq), 0)
            if len(rows) < limit:
                return
            last = rows[-1][0]
            limit = _PAGE

    def _take(self, account: str, bucket: str, amount: int, *, newest: bool,
              source: str | None = None) -> list[Part]:  # fmt: skip
        parts: list[Part] = []
        if amount <= 0:
            return parts
        for seq, owner, measure, remaining in self._lots(account, bucket, newest=newest, source=source):
            k = min(amount, remaining)
            if k == remaining:
                self.c.execute(
                    "DELETE FROM gk_trace_lots WHERE account = ? AND bucket = ? AND seq = ?",
                    (account, bucket, seq),
                )
                self.lots.gone(account, bucket, seq)
            else:
                self.lots.change(account, bucket, seq, -k)
            if parts and parts[-1][0] == owner:
                parts[-1] = (owner, measure, parts[-1][2] + k)
            else:
                parts.append((owner, measure, k))
            amount -= k
            if amount == 0:
                break
        return parts

    def _draw(self, account: str, bucket: str, amount: int) -> list[Part]:
        """First in, first out: the whole amount, or a ``TracingError``."""
        parts = self._take(account, bucket, amount, newest=False)
        if _total(parts) != amount:
            raise TracingError(f"{account} {bucket!r} holds less than the {amount} drawn on it")
        return parts

    def _take_newest(self, account: str, bucket: str, amount: int, *, source: str | None = None
                     ) -> list[Part]:  # fmt: skip
        """Last in, first out, as much as there is (of one source, if given)."""
        return self._take(account, bucket, amount, newest=True, source=source)

    def _put(self, account: str, bucket: str, source: str, measure: str, amount: int, *,
             front: bool) -> None:  # fmt: skip
        """A lot at the end of the queue (or at its front, for money given back)."""
        order = "ASC" if front else "DESC"
        self.c.execute(
            "SELECT seq, source FROM gk_trace_lots WHERE account = ? AND bucket = ? "
            f"ORDER BY seq {order} LIMIT 1",
            (account, bucket),
        )
        edge = self.c.fetchone()
        if edge is not None and edge[1] == source:
            self._add(account, bucket, int(edge[0]), amount)
            return
        seq = 0 if edge is None else int(edge[0]) + (-1 if front else 1)
        self.c.execute(
            "INSERT INTO gk_trace_lots (account, bucket, seq, source, measure, remaining) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (account, bucket, seq, source, measure, amount),
        )
        self.lots.fronts.pop((account, bucket), None)

    def _grow(self, account: str, bucket: str, source: str, measure: str, amount: int) -> None:
        """A corrected source's newest lot grows in place; without one, a lot at the end."""
        self.c.execute(
            "SELECT seq FROM gk_trace_lots WHERE account = ? AND bucket = ? AND source = ? "
            "ORDER BY seq DESC LIMIT 1",
            (account, bucket, source),
        )
        own = self.c.fetchone()
        if own is None:
            self._put(account, bucket, source, measure, amount, front=False)
        else:
            self._add(account, bucket, int(own[0]), amount)

    def _add(self, account: str, bucket: str, seq: int, amount: int) -> None:
        self.lots.change(account, bucket, seq, amount)

    # --- rows --------------------------------------------------------------------------------

    def _rows_of(self, move: str | None) -> list[tuple[str, str, int, str, str, dict[str, Any]]]:
        """The original rows of a movement: (source, measure, amount, from, day, detail)."""
        self.pending.flush()
        self.c.execute(
            "SELECT source, measure, amount, from_account, day, detail FROM gk_trace "
            "WHERE move = ? AND corrects IS NULL ORDER BY position, seq",
            (move,),
        )
        return [(str(r[0]), str(r[1]), int(r[2]), str(r[3]), str(r[4]), json.loads(r[5]))
                for r in self.c.fetchall()]  # fmt: skip

    def _row(self, source: str, kind: str, measure: str, amount: int, day: str, *,
             frm: str | None = None, to: str | None = None, counterpart: str | None = None,
             detail: dict[str, Any] | None = None) -> None:  # fmt: skip
        if amount == 0:
            return
        self.seq += 1
        details = {k: v for k, v in (detail or {}).items() if k != "note"}
        if self.note is not None:
            details["note"] = self.note
        self.pending.add(
            "INSERT INTO gk_trace (position, seq, source, kind, measure, amount, from_account, "
            "to_account, day, move, corrects, counterpart, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (self.position, self.seq, source, kind, measure, amount, frm, to, day, self.move,
             self.corrects, counterpart, _dumps(details)),
        )  # fmt: skip


def _total(parts: list[Part]) -> int:
    return sum(k for _, _, k in parts)


def _split(parts: list[Part], amount: int) -> tuple[list[Part], list[Part]]:
    """The first ``amount`` of ``parts`` and the rest."""
    head: list[Part] = []
    tail: list[Part] = []
    for source, measure, k in parts:
        first = max(0, min(k, amount))
        amount -= first
        if first:
            head.append((source, measure, first))
        if k - first:
            tail.append((source, measure, k - first))
    return head, tail


def _pair(old: list[Part], new: list[Part]) -> Iterator[tuple[Part, str]]:
    """Match two equal totals chunk by chunk: ((old source, measure, k), new source)."""
    queue = list(new)
    for source, measure, amount in old:
        left = amount
        while left:
            if not queue:
                raise TracingError("spending to take over exceeds what was drawn")
            other, other_measure, j = queue[0]
            step = min(left, j)
            yield (source, measure, step), other
            left -= step
            queue[0] = (other, other_measure, j - step)
            if queue[0][2] == 0:
                queue.pop(0)


def _day(at: str) -> str:
    return datetime.fromisoformat(at).astimezone(_CHINA).date().isoformat()


_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True)  # as json.dumps(...), built once


def _dumps(value: object) -> str:
    return _ENCODER.encode(value)
