"""End to end: real CSV and XLSX sheets imported into the ledger, all rows or none.

Runs on every backend of the ``town`` fixture (SQLite file, and PostgreSQL when
GONGKAI_TEST_POSTGRES_URL is set).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from api.importer import DISBURSEMENTS, DONATIONS, import_file
from ledger.batch import is_batch_signature
from ledger.canonical import canonical
from ledger.commands import payload_of
from ledger.errors import ImportRejected
from tests.builders import Town

NOW = datetime(2026, 7, 31, 9, 0, tzinfo=UTC)
Cell = str | int | float | date | None

DONATION_HEADER = [
    "收据编号", "日期", "捐赠方类别", "捐赠方名称", "同意公开", "定向用途", "资金代码",
    "金额（元）", "仓库代码", "物资名称", "规格", "单位", "数量", "备注",
]  # fmt: skip
DISBURSEMENT_HEADER = [
    "项目代码", "受助人编号", "村（社区）", "金额（元）", "发放日期", "所属月份", "保护对象",
]  # fmt: skip


def donation_row(receipt: str, amount: str, **cells: str) -> list[Cell]:
    row: dict[str, str] = {
        "收据编号": receipt, "日期": "2026-07-10", "捐赠方类别": "企业", "资金代码": "F-DISASTER",
        "金额（元）": amount,
    }  # fmt: skip
    row.update(cells)
    return [row.get(h, "") for h in DONATION_HEADER]


def write_csv(path: Path, rows: list[list[Cell]], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list[Cell]]) -> Path:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    book.save(path)
    return path


def count(town: Town) -> int:
    return town.app.recorder.max_notification_id() or 0


def rejected(town: Town, path: Path) -> list[tuple[int, str, str]]:
    """The problems an import of ``path`` is refused with; checks that nothing was recorded."""
    before = count(town)
    with pytest.raises(ImportRejected) as caught:
        import_file(town.app, town.recorder, path, now=NOW)
    assert count(town) == before
    assert caught.value.source == path.name
    return caught.value.problems


def where(problems: list[tuple[int, str, str]]) -> list[tuple[int, str]]:
    return [(row, column) for row, column, _ in problems]


def stock(town: Town) -> dict[tuple[str, str, str, str], int]:
    return {tuple(json.loads(k)): v for k, v in town.store().balances.items()}


def fund_dibao_program(town: Town, yuan: int) -> None:
    town.submit(town.recorder, "appropriation.receive", {
        "document_no": "息财〔2026〕12号", "level": "county", "fund": "F-DIBAO",
        "amount": yuan * 100, "date": "2026-07-01",
    })  # fmt: skip
    town.submit(town.recorder, "allocation.make", {
        "fund": "F-DIBAO", "program": "P-DIBAO", "amount": yuan * 100, "date": "2026-07-02",
    })  # fmt: skip


def fund_flood_program(town: Town, yuan: int) -> None:
    town.submit(town.recorder, "donation.receive", {
        "receipt_no": "R2026-9000", "date": "2026-07-09", "donor_class": "enterprise",
        "fund": "F-DISASTER", "amount": yuan * 100,
    })  # fmt: skip
    town.submit(town.recorder, "allocation.make", {
        "fund": "F-DISASTER", "program": "P-FLOOD", "amount": yuan * 100, "date": "2026-07-10",
    })  # fmt: skip


def good_donations() -> list[list[Cell]]:
    blank: list[Cell] = [""] * len(DONATION_HEADER)
    return [
        list(DONATION_HEADER),
        donation_row("R2026-0001", "¥1,234.56", 捐赠方名称="贵州某建材有限公司", 同意公开="是",
                     定向用途="受灾人员救助"),
        donation_row("R2026-0002", "1.5万", 日期="2026/07/11", 捐赠方类别="individual"),
        donation_row("R2026-0003", "", 资金代码="", 捐赠方类别="社会组织",
                     捐赠方名称="息烽县慈善会", 同意公开="yes", 仓库代码="S-MAIN",
                     物资名称="KN95 口罩", 规格="GB 2626", 单位="只", 数量="1,200",
                     备注="县慈善会转交"),
        blank,
        blank,
    ]  # fmt: skip


# --- good files -------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_good_donations_csv_imports_every_row(town: Town, tmp_path: Path, encoding: str) -> None:
    path = write_csv(tmp_path / "7月捐赠.csv", good_donations(), encoding)
    before = count(town)

    report = import_file(town.app, town.recorder, path, now=NOW)

    assert (report.kind, report.rows, report.recorded, report.duplicates) == (DONATIONS, 3, 3, 0)
    assert len(report.sha256) == 64
    assert count(town) > before
    assert town.fund().balances == {"disaster_relief": 123_456, "": 1_500_000}
    assert stock(town) == {("KN95 口罩", "GB 2626", "只", ""): 1200}


def test_english_headers_in_any_case_and_spacing(town: Town, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "july.csv", [
        ["Receipt No", " DATE ", "Donor_Class", "donor name", "Consent", "FUND", "Amount"],
        ["R2026-0101", "2026-07-10", "enterprise", "某公司", "true", "F-DISASTER", "100"],
        ["R2026-0102", "2026-07-10", "individual", "", "", "F-DISASTER", "0.5"],
    ])  # fmt: skip

    report = import_file(town.app, town.recorder, path, now=NOW)

    assert (report.rows, report.recorded) == (2, 2)
    assert town.fund().balances == {"": 10_050}


def test_good_disbursements_xlsx_imports_every_row(town: Town, tmp_path: Path) -> None:
    fund_dibao_program(town, 5000)
    path = write_xlsx(tmp_path / "7月低保发放.xlsx", [
        list(DISBURSEMENT_HEADER),
        ["P-DIBAO", "R-0A1B2C", "流长村", 1234.5, datetime(2026, 7, 15), "2026-07", "否"],
        ["P-DIBAO", "R-0A1B2D", "马场村", 620, "2026/07/15", datetime(2026, 7, 1), None],
        ["P-DIBAO", None, None, 19.99, date(2026, 7, 15), "2026-07", "是"],
        ["P-DIBAO", "R-0A1B2E", "流长村", "1,000.10", "2026-07-15", "2026-07", "否"],
        [None] * 7,
        [None] * 7,
    ])  # fmt: skip

    report = import_file(town.app, town.recorder, path, now=NOW)

    assert (report.kind, report.rows, report.recorded) == (DISBURSEMENTS, 4, 4)
    assert report.duplicates == 0
    assert town.program("P-DIBAO").total == 500_000 - (123_450 + 62_000 + 1_999 + 100_010)


def test_xlsx_number_cells_become_exact_fen(town: Town, tmp_path: Path) -> None:
    amounts: list[Cell] = [0.1, 0.29, 19.99, 1234.5, 100, 1.15, 0.07, 1e5]
    rows: list[list[Cell]] = [["收据编号", "日期", "捐赠方类别", "资金代码", "金额"]]
    rows += [[f"R-X{i}", date(2026, 7, 10), "企业", "F-DISASTER", a] for i, a in enumerate(amounts)]
    path = write_xlsx(tmp_path / "amounts.xlsx", rows)

    report = import_file(town.app, town.recorder, path, now=NOW)

    assert report.recorded == len(amounts)
    assert town.fund().total == 10 + 29 + 1999 + 123_450 + 10_000 + 115 + 7 + 10_000_000


# --- bad files: every bad row, nothing recorded --------------------------------------------------


def test_every_bad_row_is_reported_and_nothing_recorded(town: Town, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "bad.csv", [
        list(DONATION_HEADER),
        donation_row("R2026-0201", "100"),
        donation_row("R2026-0202", "12.345"),
        donation_row("R2026-0203", "100", 资金代码="F-NOPE"),
        donation_row("R2026-0204", "100", 捐赠方名称="张三"),
        donation_row("R2026-0205", "100", 日期="2026-13-01"),
        donation_row("R2026-0206", "100", 捐赠方类别="政府"),
        donation_row("R2026-0207", "100"),
    ])  # fmt: skip

    problems = rejected(town, path)

    assert where(problems) == [
        (3, "金额（元）"), (4, "资金代码"), (5, "捐赠方名称"), (6, "日期"), (7, "捐赠方类别"),
    ]  # fmt: skip
    messages = {row: msg for row, _, msg in problems}
    assert "12.345" in messages[3]
    assert "F-NOPE" in messages[4]
    assert "consent" in messages[5]
    assert "2026-13-01" in messages[6]


def test_missing_recipient_is_reported_on_its_row(town: Town, tmp_path: Path) -> None:
    fund_dibao_program(town, 1000)
    path = write_xlsx(tmp_path / "发放.xlsx", [
        list(DISBURSEMENT_HEADER),
        ["P-DIBAO", "R-0A1B2C", "流长村", 100, "2026-07-15", "2026-07", "否"],
        ["P-DIBAO", None, "流长村", 100, "2026-07-15", "2026-07", "否"],
        ["P-DIBAO", "R-0A1B2D", "流长村", 100, "2026-07-15", "2026-7月", "否"],
        ["P-DIBAO", "R-0A1B2E", "流长村", 100, "2026-07-15", "2026-07", "是"],
        ["P-NOPE", "R-0A1B2F", "流长村", 100, "15.07.2026", "2026-07", "否"],
    ])  # fmt: skip

    problems = rejected(town, path)

    assert where(problems) == [
        (3, "受助人编号"), (4, "所属月份"), (5, "受助人编号"), (6, "发放日期"),
    ]
    assert "受助人编号 is required" in problems[0][2]


def test_xlsx_amount_with_more_than_two_decimals_is_refused(town: Town, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "amounts.xlsx", [
        ["收据编号", "日期", "捐赠方类别", "资金代码", "金额(元)"],
        ["R-1", date(2026, 7, 10), "企业", "F-DISASTER", 12.345],
        ["R-2", date(2026, 7, 10), "企业", "F-DISASTER", -5],
        ["R-3", date(2026, 7, 10), "企业", "F-DISASTER", 0],
    ])  # fmt: skip

    assert where(rejected(town, path)) == [(2, "金额(元)"), (3, "金额(元)"), (4, "金额(元)")]


def test_duplicate_receipt_numbers_in_one_file_name_both_rows(town: Town, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "dup.csv", [
        list(DONATION_HEADER),
        donation_row("R2026-0301", "100"),
        donation_row("R2026-0302", "100"),
        donation_row("R2026-0301", "200"),
    ])  # fmt: skip

    problems = rejected(town, path)

    assert where(problems) == [(2, "收据编号"), (4, "收据编号")]
    assert "row 4" in problems[0][2]
    assert "row 2" in problems[1][2]


def test_overdrawing_a_program_is_reported_on_its_row(town: Town, tmp_path: Path) -> None:
    fund_flood_program(town, 1000)
    path = write_csv(tmp_path / "洪灾发放.csv", [
        ["项目代码", "受助人编号", "村", "金额(元)", "发放日期"],
        ["P-FLOOD", "R-FL0001", "流长村", "600", "2026-07-12"],
        ["P-FLOOD", "R-FL0002", "流长村", "300", "2026-07-12"],
        ["P-FLOOD", "R-FL0003", "流长村", "200", "2026-07-12"],
    ])  # fmt: skip

    problems = rejected(town, path)

    assert where(problems) == [(4, "金额(元)")]
    assert "negative" in problems[0][2]
    assert town.program().total == 100_000


def test_receipt_already_in_the_ledger_is_reported_on_its_row(town: Town, tmp_path: Path) -> None:
    import_file(town.app, town.recorder, write_csv(tmp_path / "a.csv", good_donations()), now=NOW)
    path = write_csv(tmp_path / "b.csv", [
        list(DONATION_HEADER),
        donation_row("R2026-0401", "100"),
        donation_row("R2026-0002", "100"),
    ])  # fmt: skip

    problems = rejected(town, path)

    assert where(problems) == [(3, "收据编号")]


def test_unknown_header_is_reported(town: Town, tmp_path: Path) -> None:
    header: list[Cell] = [*DONATION_HEADER, "捐款人电话"]
    path = write_csv(tmp_path / "extra.csv", [header, [*donation_row("R-1", "100"), "13800000000"]])

    problems = rejected(town, path)

    assert where(problems) == [(1, "捐款人电话")]


def test_missing_columns_are_reported(town: Town, tmp_path: Path) -> None:
    rows: list[list[Cell]] = [["收据编号", "捐赠方类别", "资金代码"], ["R-1", "企业", "F"]]
    path = write_csv(tmp_path / "short.csv", rows)

    assert where(rejected(town, path)) == [(1, "日期"), (1, "金额(元)")]


def test_sheet_without_data_rows_is_refused(town: Town, tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "empty.xlsx", [list(DISBURSEMENT_HEADER), [None] * 7])

    assert where(rejected(town, path)) == [(2, "项目代码")]


# --- idempotency -------------------------------------------------------------------------------


def test_reimporting_the_same_file_records_nothing_new(town: Town, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "7月捐赠.csv", good_donations())
    first = import_file(town.app, town.recorder, path, now=NOW)
    after_first = count(town)

    again = import_file(town.app, town.recorder, path)

    assert (again.recorded, again.duplicates) == (0, again.rows)
    assert again.rows == first.rows == 3
    assert again.sha256 == first.sha256
    assert count(town) == after_first
    assert town.fund().total == 1_623_456


def test_reimporting_the_same_xlsx_records_nothing_new(town: Town, tmp_path: Path) -> None:
    fund_dibao_program(town, 1000)
    path = write_xlsx(tmp_path / "发放.xlsx", [
        list(DISBURSEMENT_HEADER),
        ["P-DIBAO", "R-0A1B2C", "流长村", 450, date(2026, 7, 15), "2026-07", "否"],
        ["P-DIBAO", "R-0A1B2D", "流长村", 450, date(2026, 7, 15), "2026-07", "否"],
    ])  # fmt: skip
    import_file(town.app, town.recorder, path, now=NOW)
    after_first = count(town)

    again = import_file(town.app, town.recorder, path, now=NOW)

    assert (again.rows, again.recorded, again.duplicates) == (2, 0, 2)
    assert count(town) == after_first
    assert town.program("P-DIBAO").total == 10_000


def test_the_same_rows_in_a_resaved_and_resorted_file_record_nothing_twice(
    town: Town, tmp_path: Path
) -> None:
    rows = good_donations()
    import_file(town.app, town.recorder, write_csv(tmp_path / "first.csv", rows), now=NOW)
    after_first = count(town)
    resorted = [rows[0], *reversed(rows[1:])]
    xlsx = write_xlsx(tmp_path / "resaved.xlsx", resorted)

    again = import_file(town.app, town.recorder, xlsx, now=NOW)

    assert again.recorded == 0
    assert again.duplicates == again.rows
    assert count(town) == after_first


def test_recorded_goods_row_is_signed_with_a_content_idempotency_key(
    town: Town, tmp_path: Path
) -> None:
    rows = good_donations()[:1] + good_donations()[3:4]
    path = write_csv(tmp_path / "goods.csv", rows)

    import_file(town.app, town.recorder, path, now=NOW)

    payload = payload_of(list(town.app.history(town.store().id))[-1].signed)  # type: ignore[attr-defined]
    content = canonical({"cmd": payload["cmd"], "body": payload["body"]})
    assert payload["idem"] == f"import:{hashlib.sha256(content).hexdigest()[:32]}:1"
    assert payload["at"] == NOW.isoformat()
    assert payload["body"] == {
        "receipt_no": "R2026-0003", "date": "2026-07-10", "donor_class": "social_organisation",
        "donor_name": "息烽县慈善会", "consent": True, "note": "县慈善会转交", "store": "S-MAIN",
        "goods": [{"item": "KN95 口罩", "grade": "GB 2626", "unit": "只", "quantity": 1200}],
    }  # fmt: skip


def test_a_sheet_is_signed_once_as_a_batch(town: Town, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "7月捐赠.csv", good_donations())
    before = count(town)

    import_file(town.app, town.recorder, path, now=NOW)

    stored = [town.app.mapper.to_domain_event(n)
              for n in town.app.recorder.select_notifications(start=before + 1, limit=100)]  # fmt: skip
    blobs = {base64.b64decode(e.sig) for e in stored}  # type: ignore[attr-defined]
    assert len(blobs) == 3  # one batch signature per row (its own proof) ...
    assert all(is_batch_signature(b) for b in blobs)
    assert len({b[4:68] for b in blobs}) == 1  # ... all carrying the same Ed25519 signature
