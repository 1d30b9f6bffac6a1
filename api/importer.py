"""Import a sheet (CSV or XLSX) of donations or disbursements: every row, or none.

The header row tells the kind (Chinese headers first, English accepted). Every row becomes a
command body checked by the command's own validation; any bad row makes ``ImportRejected`` list
every bad row (header = row 1) and its column as written, and nothing is recorded. Otherwise the
rows are submitted as one transaction, each signed with an idempotency key derived from the
row's *content* (the canonical command body, plus its occurrence number among identical rows)
and not from the file's bytes, so importing the same rows again — even from a file re-saved by
Excel, or re-sorted — records nothing twice. The rows are signed once, as a batch: one Ed25519
signature over the Merkle root of the rows' payloads (``ledger.batch``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils import get_column_letter

from ledger.accounts import Account, Fund, Program, Store
from ledger.application import Ledger, collector_paused
from ledger.canonical import canonical
from ledger.catalogue import CATEGORIES, DONOR_CLASSES
from ledger.commands import SignedCommand, Signer, spec_of
from ledger.errors import (
    BatchRejected,
    ImportRejected,
    InsufficientBalance,
    LedgerError,
    WrongDepartment,
)
from ledger.fields import Fields
from ledger.money import parse_yuan

DONATIONS, DISBURSEMENTS = "donations", "disbursements"
COMMANDS = {DONATIONS: "donation.receive", DISBURSEMENTS: "disbursement.make"}
# body field -> accepted headers (the first one is what the town's templates use)
COLUMNS: dict[str, dict[str, tuple[str, ...]]] = {
    DONATIONS: {
        "receipt_no": ("收据编号", "receipt_no"), "date": ("日期", "date"),
        "donor_class": ("捐赠方类别", "donor_class"), "donor_name": ("捐赠方名称", "donor_name"),
        "consent": ("同意公开", "consent"), "purpose": ("定向用途", "purpose"),
        "fund": ("资金代码", "fund"), "amount": ("金额(元)", "金额", "amount"),
        "store": ("仓库代码", "store"), "item": ("物资名称", "item"), "grade": ("规格", "grade"),
        "unit": ("单位", "unit"), "quantity": ("数量", "quantity"), "note": ("备注", "note"),
    },
    DISBURSEMENTS: {
        "program": ("项目代码", "program"), "recipient": ("受助人编号", "recipient"),
        "village": ("村（社区）", "村", "village"), "amount": ("金额(元)", "金额", "amount"),
        "date": ("发放日期", "date"), "period": ("所属月份", "period"),
        "protected": ("保护对象", "protected"),
    },
}  # fmt: skip
REQUIRED = {
    DONATIONS: ("receipt_no", "date", "donor_class"),
    DISBURSEMENTS: ("program", "recipient", "village", "amount", "date"),
}
MONEY, GOODS = ("fund", "amount"), ("store", "item", "unit", "quantity")
_YES, _NO = {"是", "yes", "y", "true", "1", "√"}, {"否", "no", "n", "false", "0"}
_BODY_FIELD = re.compile(r"body\.goods\[\d+\]\.(\w+)|body\.(\w+)")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d %H:%M:%S")
_MONTH = re.compile(r"(\d{4})[-/](\d{1,2})")
_ACCOUNTS: dict[str, type[Account]] = {"fund": Fund, "store": Store, "program": Program}
Problem = tuple[int, str, str]


@dataclass(frozen=True, slots=True)
class ImportReport:
    rows: int
    recorded: int
    duplicates: int
    kind: str
    sha256: str


def _norm(header: str) -> str:
    return re.sub(r"[\s_\-]", "", unicodedata.normalize("NFKC", header)).casefold()


_ALIASES = {
    kind: {_norm(a): f for f, aliases in cols.items() for a in aliases}
    for kind, cols in COLUMNS.items()
}


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _read(path: Path, data: bytes) -> list[list[object]]:
    if data[:4] == b"PK\x03\x04":
        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                return [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
            finally:
                book.close()
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, IndexError, OSError) as error:
            # Uploads come from anyone with a session: a damaged workbook is a refusal, not a 500.
            raise ImportRejected(path.name, [(1, "", f"not a readable .xlsx workbook ({type(error).__name__})")]) from None
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise ImportRejected(path.name, [(1, "", "old .xls files are not read: save as .xlsx")])
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportRejected(path.name, [(1, "", "not UTF-8 or GB18030 text")]) from None
    return [list(r) for r in csv.reader(io.StringIO(text, newline=""))]


@lru_cache(maxsize=4_096)  # a sheet's rows share a few dates; strptime is slow (~10 µs)
def _iso_day(text: str) -> str | None:
    """``text`` as YYYY-MM-DD if it is a date in one of ``_DATE_FORMATS``, else None."""
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    return None


class _Row:
    """One data row's cells by body field; converters note problems as (field, message)."""

    def __init__(self, number: int, cells: dict[str, object], headers: dict[str, str]) -> None:
        self.number, self.cells, self.headers = number, cells, headers
        self.problems: list[tuple[str, str]] = []

    def head(self, field: str) -> str:
        return self.headers.get(field, field)

    def fail(self, field: str, message: str) -> None:
        self.problems.append((field, message))

    def text(self, field: str) -> str | None:
        value = self.cells.get(field)
        if _blank(value):
            return None
        if isinstance(value, date):
            return value.isoformat()[:10]
        return str(int(value) if isinstance(value, float) and value.is_integer() else value).strip()

    def money(self, field: str) -> int | None:
        value = self.cells.get(field)
        if _blank(value):
            self.fail(field, f"{self.head(field)} is required")
            return None
        if isinstance(value, int | float) and not isinstance(value, bool):
            # str() of a float is its shortest exact repr: 1234.5 -> "1234.5", never 1234.4999...
            value = format(Decimal(str(value)), "f")
        try:
            return parse_yuan(str(value), self.head(field))
        except LedgerError as error:
            self.fail(field, error.message)
            return None

    def day(self, field: str) -> str | None:
        text = self.text(field)  # a date cell reads as YYYY-MM-DD
        if text is None:
            return None
        found = _iso_day(text)
        if found is not None:
            return found
        self.fail(field, f"{self.head(field)} {text!r} is not a date (YYYY-MM-DD or YYYY/MM/DD)")
        return text

    def flag(self, field: str) -> bool:
        text = (self.text(field) or "否").casefold()
        if text not in _YES | _NO:
            self.fail(field, f"{self.head(field)} {text!r} must be 是 or 否 (yes/no)")
        return text in _YES

    def choice(self, field: str, labels: dict[str, str]) -> str | None:
        text = self.text(field)
        if text is None:
            return None
        for code, label in labels.items():
            if text in (label, code) or text.casefold() == code:
                return code
        self.fail(field, f"{self.head(field)} {text!r} is not one of: {'、'.join(labels.values())}")
        return None

    def whole(self, field: str) -> int | None:
        text = (self.text(field) or "").replace(",", "")
        if text.isdigit():
            return int(text)
        self.fail(field, f"{self.head(field)} {text!r} must be a whole number above zero")
        return None


def _donation(row: _Row) -> dict[str, Any]:
    body: dict[str, Any] = {
        "receipt_no": row.text("receipt_no"),
        "date": row.day("date"),
        "donor_class": row.choice("donor_class", DONOR_CLASSES),
        "donor_name": row.text("donor_name"),
        "consent": row.flag("consent"),
        "purpose": row.choice("purpose", {c: label for c, (_, label) in CATEGORIES.items()}),
        "note": row.text("note"),
    }
    if body["donor_name"] is not None and not body["consent"]:
        row.fail("donor_name", f"{row.head('donor_name')} can only be published with the donor's "
                 f"consent ({row.head('consent')} = 是); without consent leave the name blank")
    money = any(not _blank(row.cells.get(f)) for f in MONEY)
    goods = any(not _blank(row.cells.get(f)) for f in (*GOODS, "grade"))
    if money and goods:
        row.fail("store", "a row is either money (fund and amount) or goods (store, item, "
                 "unit, quantity), not both")
    elif money:
        body.update(fund=row.text("fund"), amount=row.money("amount"))
    elif goods:
        line = {"item": row.text("item"), "grade": row.text("grade") or "",
                "unit": row.text("unit"), "quantity": row.whole("quantity")}
        body.update(store=row.text("store"), goods=[line])
    else:
        row.fail("fund", "give a fund and an amount (money) or a store, item, unit and quantity")
    return {k: v for k, v in body.items() if v is not None}


def _disbursement(row: _Row) -> dict[str, Any]:
    period = row.text("period")
    if isinstance(row.cells.get("period"), date):  # Excel turns "2026-07" into a date cell
        period = (period or "")[:7]
    if period and (month := _MONTH.fullmatch(period)):
        period = f"{month[1]}-{int(month[2]):02d}"
    body: dict[str, Any] = {
        "program": row.text("program"),
        "amount": row.money("amount"),
        "date": row.day("date"),
        "period": period,
        "recipient": row.text("recipient"),
        "village": row.text("village"),
        "protected": row.flag("protected"),
    }
    return {k: v for k, v in body.items() if v is not None}


def _field_of(error: LedgerError, body: dict[str, Any]) -> str | None:
    if error.field:
        return error.field
    match = _BODY_FIELD.search(error.message)
    if match:
        return match.group(1) or match.group(2)
    if isinstance(error, InsufficientBalance):
        return "amount" if "amount" in body else "quantity"
    if isinstance(error, WrongDepartment):
        return next((f for f in ("program", "fund", "store") if f in body), None)
    return None


def _explain(message: str, headers: dict[str, str]) -> str:
    """The message with ``body.<field>`` named by the file's own header."""
    return _BODY_FIELD.sub(lambda m: headers.get(m.group(1) or m.group(2), m.group(0)), message)


def _header(raw: list[object]) -> tuple[str, dict[int, str], list[Problem]]:
    """(kind, column index -> body field, problems on row 1)."""
    names = [str(h).strip() if not _blank(h) else "" for h in raw]
    kind = max(COLUMNS, key=lambda k: sum(_norm(n) in _ALIASES[k] for n in names))
    columns: dict[int, str] = {}
    problems: list[Problem] = []
    for i, name in enumerate(names):
        field = _ALIASES[kind].get(_norm(name))
        if not name:
            continue
        if field is None:
            problems.append((1, name, f"unknown column {name!r} for a {kind} sheet"))
        elif field in columns.values():
            problems.append((1, name, f"column {name!r} repeats {COLUMNS[kind][field][0]}"))
        else:
            columns[i] = field
    if not columns:
        return kind, columns, [(1, names[0] if names else "", "no known column: this is neither a "
                                "donations nor a disbursements sheet")]
    have = set(columns.values())
    need = list(REQUIRED[kind])
    if kind == DONATIONS and not (set(MONEY) <= have or set(GOODS) <= have):
        need += GOODS if have & set(GOODS) and not have & set(MONEY) else MONEY
    for field in (f for f in need if f not in have):
        name = COLUMNS[kind][field][0]
        problems.append((1, name, f"missing column {name}"))
    return kind, columns, problems


def _check_accounts(
    app: Ledger, body: dict[str, Any], known: dict[tuple[str, str], LedgerError | None]
) -> None:
    """Raise ``NotFound`` for a fund, store or program the ledger does not have (read only)."""
    for field, kind in _ACCOUNTS.items():
        code = body.get(field)
        if isinstance(code, str) and (field, code) not in known:
            known[field, code] = None
            try:
                app.account(kind, code)
            except LedgerError as error:
                known[field, code] = error
        if isinstance(code, str) and (found := known[field, code]) is not None:
            raise found


@dataclass(frozen=True, slots=True)
class CheckedRow:
    number: int  # the row's number in the sheet (header = 1)
    body: dict[str, Any]
    idem: str  # derived from the row's content, so a re-import records nothing twice


@dataclass(frozen=True, slots=True)
class CheckedSheet:
    """A sheet whose every row passed its command's body rules: ready to be signed."""

    name: str
    kind: str
    cmd: str
    sha256: str
    headers: dict[str, str]  # body field -> the column's header as written in the file
    rows: list[CheckedRow]

    def column_of(self, error: LedgerError, index: int) -> str:
        """The header of the column a refusal of row ``index`` names (else the first column)."""
        field = _field_of(error, self.rows[index].body) or ""
        return self.headers.get(field, next(iter(self.headers.values()), ""))

    def explain(self, error: LedgerError) -> str:
        return _explain(error.message, self.headers)


def check_sheet(app: Ledger, name: str, data: bytes) -> CheckedSheet:
    """Read a donations or disbursements sheet and check every row, signing nothing.

    Raises ``ImportRejected`` listing every bad row (row, column as written, message). Used by
    ``import_file`` and by the staff web app, which signs the checked rows in the browser.
    """
    table = _read(Path(name), data)
    if not table or all(_blank(c) for c in table[0]):
        raise ImportRejected(name, [(1, "", "the first row must be the header")])
    kind, columns, problems = _header(table[0])
    if problems:
        raise ImportRejected(name, problems)
    headers = {f: str(table[0][i]).strip() for i, f in columns.items()}
    first = headers[columns[min(columns)]]
    rows: list[tuple[_Row, dict[str, Any]]] = []
    receipts: dict[str, int] = {}
    known: dict[tuple[str, str], LedgerError | None] = {}
    for number, raw in enumerate(table[1:], start=2):
        if all(_blank(c) for c in raw):
            continue
        row = _Row(number, {f: raw[i] for i, f in columns.items() if i < len(raw)}, headers)
        for i in (i for i, c in enumerate(raw) if i not in columns and not _blank(c)):
            letter = get_column_letter(i + 1)
            problems.append((number, letter, f"a value in column {letter}, which has no header"))
        body = _donation(row) if kind == DONATIONS else _disbursement(row)
        if not row.problems:
            try:
                spec_of(COMMANDS[kind]).validate(Fields(body))
                _check_accounts(app, body, known)
            except LedgerError as error:
                row.fail(_field_of(error, body) or "", _explain(error.message, headers))
        receipt = body.get("receipt_no")
        if isinstance(receipt, str) and receipt in receipts:
            other = receipts[receipt]
            row.fail("receipt_no", f"receipt number {receipt} is also used in row {other}")
            problems.append((other, headers["receipt_no"],
                             f"receipt number {receipt} is also used in row {number}"))
        elif isinstance(receipt, str):
            receipts[receipt] = number
        problems += [(number, headers.get(f, first), m) for f, m in row.problems]
        rows.append((row, body))
    if not rows:
        raise ImportRejected(name, [(2, first, "the sheet has no data rows")])
    if problems:
        raise ImportRejected(name, sorted(problems))
    checked: list[CheckedRow] = []
    occurrences: dict[str, int] = {}
    for row, body in rows:
        content = hashlib.sha256(canonical({"cmd": COMMANDS[kind], "body": body})).hexdigest()
        occurrences[content] = occurrences.get(content, 0) + 1
        checked.append(CheckedRow(row.number, body, f"import:{content[:32]}:{occurrences[content]}"))
    return CheckedSheet(name, kind, COMMANDS[kind], hashlib.sha256(data).hexdigest(), headers, checked)


def rejected_rows(sheet: CheckedSheet, rejected: BatchRejected) -> ImportRejected:
    """A refused batch of a sheet's rows, reported by row and column as the file names them."""
    found = [(sheet.rows[index].number, sheet.column_of(refusal, index), sheet.explain(refusal))
             for index, refusal in rejected.problems]  # fmt: skip
    return ImportRejected(sheet.name, found)


def import_file(
    app: Ledger, signer: Signer, path: Path, *, now: datetime | None = None
) -> ImportReport:
    """Record every row of a donations or disbursements sheet in one transaction, or none.

    The rows are signed as one batch (``ledger.batch``): one signature over the Merkle root of
    their payloads, each row stored with its own proof of being in the batch.
    """
    with collector_paused():  # the whole sheet is held in memory until it is recorded
        return _import_file(app, signer, path, now)


def _import_file(app: Ledger, signer: Signer, path: Path, now: datetime | None) -> ImportReport:
    sheet = check_sheet(app, path.name, path.read_bytes())
    if not sheet.rows:
        return ImportReport(0, 0, 0, sheet.kind, sheet.sha256)
    envelopes: list[SignedCommand] = signer.sign_batch(
        [signer.prepare(sheet.cmd, row.body, idem=row.idem, at=now) for row in sheet.rows]
    )
    try:
        results = app.submit_batch(envelopes)
    except BatchRejected as rejected:
        raise rejected_rows(sheet, rejected) from rejected
    duplicates = sum(r.duplicate for r in results)
    return ImportReport(len(sheet.rows), len(results) - duplicates, duplicates, sheet.kind, sheet.sha256)
