"""Running totals of the flows read model, kept for the portal so a publish need not scan every flow.

A county's year is about a million rows of ``gk_flows``, three quarters of them payments to
people; the portal's fund-flow reports, IATI activities and 360Giving grants are sums of them.
This read model keeps those sums as the rows arrive, so a publish after a thousand new events
reads a few thousand summed rows instead of a million:

    gk_flow_sums        gk_flows summed per day and per every column a report groups or filters
                        by (``DIMENSIONS``; ``goods`` = the row moves goods, ``negative`` = its
                        amount is below zero): amount, quantity, ``rows`` (how many rows),
                        ``signs`` (+1 per positive amount, -1 per other). Same column names as
                        ``gk_flows``, so a query of the raw rows reads the same over the sums
                        with ``Source`` naming what differs.
    gk_flow_payees      who was paid: distinct (program, month, village, protected, recipient)
    gk_flow_payees_all  distinct (program, village, protected, recipient), all time
    gk_flow_receipts    distinct (fund, kind, donor_class, level, receipt_no) of money coming in

The three sets give the distinct counts (people paid, donations received), which sums cannot.
Missing values are stored in the sets as ``''`` (a key must not hold NULL) and read back as NULL.
The distinct counts are kept for all time only, so ``summarised`` serves a scope without dates;
a report with dates reads the raw rows. ``PortalIndexes`` adds the indexes only the portal
reads by.

It reads back the page's rows of ``gk_flows``, in the same transaction: it must come after
``FlowsProjection`` in the same runner (``publish.site.site_projections`` orders them). Only
the site's kept read models have it; a database without it is served from the raw rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from eventsourcing.domain import DomainEventProtocol

from projections.runner import Events
from projections.sql import Database

NAME = "flow_sums"
DIMENSIONS = ("day", "boundary", "kind", "source", "dest", "fund", "program", "store", "area", "category",
              "donor_class", "level", "village", "protected", "item", "grade", "unit", "correction")  # fmt: skip
_READ = f"SELECT {', '.join(DIMENSIONS)}, amount, quantity, recipient, receipt_no FROM gk_flows "
_KEYED = ("k", *DIMENSIONS, "goods", "negative")
_VALUES = ("amount", "quantity", "rows", "signs")
_UPSERT = (
    f"INSERT INTO gk_flow_sums ({', '.join(_KEYED + _VALUES)}) "
    f"VALUES ({', '.join('?' for _ in _KEYED + _VALUES)}) ON CONFLICT (k) DO UPDATE SET "
    + ", ".join(f"{v} = gk_flow_sums.{v} + excluded.{v}" for v in _VALUES)
)
_SETS = {
    "gk_flow_payees": ("program", "month", "village", "protected", "recipient"),
    "gk_flow_payees_all": ("program", "village", "protected", "recipient"),
    "gk_flow_receipts": ("fund", "kind", "donor_class", "level", "receipt_no"),
}


class FlowSumsProjection:
    name = NAME
    tables = ("gk_flow_sums", *_SETS)
    rebuild_cost = 3
    built_with = "flows"  # it reads the flows' rows of each page: the same process (``Runner.rebuild``)

    def __init__(self) -> None:
        # The all-time sets' rows this object wrote: each person is paid every month, and need
        # be offered to ``gk_flow_payees_all`` once, not once a month. Trusted only while the
        # tracking row says the pages that wrote them committed (``begin``).
        self._written: dict[str, set[tuple[Any, ...]]] = {"gk_flow_payees_all": set(), "gk_flow_receipts": set()}
        self._through = -1  # the position of the last page applied

    def begin(self, cursor: Any) -> None:
        """A new page: forget what was written unless the last page applied here committed."""
        cursor.execute("SELECT position FROM gk_tracking WHERE name = ?", (NAME,))
        row = cursor.fetchone()
        if row is None or int(row[0]) != self._through:
            for written in self._written.values():
                written.clear()

    def create(self, cursor: Any, dialect: str) -> None:
        dims = ", ".join(f"{d} {'INTEGER' if d in ('protected', 'correction') else 'TEXT'}" for d in DIMENSIONS)
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS gk_flow_sums (k TEXT PRIMARY KEY, {dims}, goods INTEGER NOT NULL, "
            "negative INTEGER NOT NULL, amount BIGINT NOT NULL, quantity BIGINT NOT NULL, "
            "rows BIGINT NOT NULL, signs BIGINT NOT NULL)"
        )
        for table, columns in _SETS.items():
            typed = ", ".join(f"{c} {'INTEGER' if c == 'protected' else 'TEXT'} NOT NULL" for c in columns)
            cursor.execute(f"CREATE TABLE IF NOT EXISTS {table} ({typed}, PRIMARY KEY ({', '.join(columns)}))"
                           + (" WITHOUT ROWID" if dialect == "sqlite" else ""))  # the key is the row

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        self.apply_page(cursor, [(event, position)])

    def apply_page(self, cursor: Any, events: Events) -> None:
        """Add the page's rows of ``gk_flows`` (written by ``FlowsProjection`` just before)."""
        if not events:
            return
        cursor.execute(_READ + "WHERE position >= ? AND position <= ?", (events[0][1], events[-1][1]))
        sums: dict[tuple[Any, ...], list[Any]] = {}
        found: dict[str, set[tuple[Any, ...]]] = {table: set() for table in _SETS}
        for row in cursor.fetchall():
            *dims, amount, quantity, recipient, receipt_no = row
            goods, negative = int(quantity != 0), int(amount < 0)
            group = (*dims, goods, negative)
            known = sums.get(group)
            if known is None:
                known = sums[group] = [json.dumps(group, ensure_ascii=False), *group, 0, 0, 0, 0]
            known[-4] += amount
            known[-3] += quantity
            known[-2] += 1
            known[-1] += 1 if amount > 0 else -1
            day, boundary, kind, _, _, fund, program, *_, donor_class, level, village, protected = dims[:14]
            if kind == "disbursement" and recipient is not None:
                found["gk_flow_payees"].add((program, day[:7], village or "", protected, recipient))
                found["gk_flow_payees_all"].add((program, village or "", protected, recipient))
            if boundary == "incoming" and not goods and receipt_no is not None:
                found["gk_flow_receipts"].add((fund or "", kind, donor_class or "", level or "", receipt_no))
        cursor.executemany(_UPSERT, list(sums.values()))
        for table, rows in found.items():
            written = self._written.get(table)
            new = rows - written if written is not None else rows
            if written is not None:
                written |= new
            if new:
                marks = ", ".join("?" for _ in _SETS[table])
                cursor.executemany(f"INSERT INTO {table} VALUES ({marks}) ON CONFLICT DO NOTHING", sorted(new))
        self._through = events[-1][1]


class PortalIndexes:
    """Indexes only the portal reads by, made on the site's own read models (a server's need
    not keep them up): every row of a few kinds of flow (goods issues, donations, the money
    between funds and programs for IATI) without a full scan, and each donation's trace rows
    counted from the index alone (``trace_report.donation_records``). No rows of its own."""

    name = "portal_indexes"
    tables: tuple[str, ...] = ()

    def create(self, cursor: Any, dialect: str) -> None:
        """Nothing yet: the indexes are built once the read models are caught up (``finish``)."""

    def finish(self, cursor: Any) -> None:
        """Build the indexes over the rows at once the first time (a site's read models built
        from zero: far faster than keeping them up row by row); after that they are kept up."""
        cursor.execute("CREATE INDEX IF NOT EXISTS gk_flows_by_kind ON gk_flows (kind)")
        cursor.execute("CREATE INDEX IF NOT EXISTS gk_trace_by_source_position ON gk_trace (source, position)")

    def apply(self, cursor: Any, event: DomainEventProtocol[Any], position: int) -> None:
        """Nothing: the indexes follow their tables."""

    def apply_page(self, cursor: Any, events: Events) -> None:
        """Nothing: the indexes follow their tables."""


@dataclass(frozen=True, slots=True)
class Source:
    """Where a report reads its flows from, and how a query says what differs between them."""

    table: str  # gk_flows or gk_flow_sums
    rows: str  # how many flow rows a group has
    signs: str  # +1 per positive amount, -1 per other
    money: str  # the row moves money
    goods: str  # the row moves goods
    negative: str  # 1 if the amount is below zero, else 0
    summed: bool


RAW = Source("gk_flows", "COUNT(*)", "SUM(CASE WHEN amount > 0 THEN 1 ELSE -1 END)", "quantity = 0",
             "quantity <> 0", "CASE WHEN amount < 0 THEN 1 ELSE 0 END", False)  # fmt: skip
SUMMED = Source("gk_flow_sums", "SUM(rows)", "SUM(signs)", "goods = 0", "goods = 1", "negative", True)


def summarised(db: Database, *, dated: bool = False) -> Source:
    """``SUMMED`` if ``db`` keeps the sums as far as its flows (and the scope has no dates,
    ``dated``: the distinct counts are kept for all time only), else ``RAW``."""
    if dated or not _has_table(db, "gk_tracking"):  # e.g. the offline replay's own read models
        return RAW
    rows = dict(db.query("SELECT name, position FROM gk_tracking WHERE name IN (?, ?)", ("flows", NAME)))
    return SUMMED if NAME in rows and rows[NAME] == rows.get("flows") else RAW


def _has_table(db: Database, name: str) -> bool:
    if db.dialect == "sqlite":
        return bool(db.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)))
    return db.query("SELECT to_regclass(?)", (name,))[0][0] is not None


def people(db: Database, by: str, where: str = "", params: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Distinct people paid, all time, per group of ``gk_flow_payees_all`` (``p``) joined with
    the program that paid (``a``): ``by`` lists the grouping columns (``p.village``, ``a.area``…)."""
    return _distinct(db, "p.recipient", "gk_flow_payees_all p JOIN gk_flow_accounts a "
                     "ON a.kind = 'program' AND a.code = p.program", by, where, params)  # fmt: skip


def receipts(db: Database, by: str, where: str = "", params: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Distinct receipts of money coming in, all time, per group of ``gk_flow_receipts``
    (``r``) joined with the fund it came into (``a``)."""
    return _distinct(db, "r.receipt_no", "gk_flow_receipts r JOIN gk_flow_accounts a "
                     "ON a.kind = 'fund' AND a.code = r.fund", by, where, params)  # fmt: skip


def monthly_people(db: Database) -> dict[tuple[Any, ...], int]:
    """Distinct people paid per (program, month, protected, village) (``gk_flow_payees``)."""
    rows = db.query("SELECT program, month, protected, village, COUNT(*) FROM gk_flow_payees "
                    "GROUP BY program, month, protected, village")  # fmt: skip
    return {tuple(_none(v) for v in r[:-1]): int(r[-1]) for r in rows}


def _distinct(db: Database, counted: str, tables: str, by: str, where: str,
              params: tuple[Any, ...]) -> dict[tuple[Any, ...], int]:  # fmt: skip
    rows = db.query(f"SELECT {by}, COUNT(DISTINCT {counted}) FROM {tables} {where} GROUP BY {by}", params)
    return {tuple(_none(v) for v in r[:-1]): int(r[-1]) for r in rows}


def _none(value: Any) -> Any:
    return None if value == "" else value
