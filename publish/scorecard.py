"""The annual disclosure scorecard (年度政务公开考核): per department, from the dashboard rows,
as XLSX (for the assessment) and CSV (UTF-8 with BOM, so Excel opens it in Chinese)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from ledger.catalogue import AREAS, DEPARTMENTS

HEADERS = ["部门", "领域", "公开义务", "已公开", "按时公开", "逾期公开", "逾期未公开", "未到期",
           "按时率(%)", "中位工作日"]  # fmt: skip


def scorecard_rows(dashboard: list[dict[str, Any]]) -> list[list[Any]]:
    return [
        [DEPARTMENTS[r["department"]], AREAS[r["area"]], r["obligations"], r["published"],
         r["on_time"], r["late"], r["overdue"], r["due"],
         "" if r["on_time_percent"] is None else r["on_time_percent"],
         "" if r["median_working_days"] is None else r["median_working_days"]]
        for r in dashboard
    ]  # fmt: skip


def write_scorecard(dashboard: list[dict[str, Any]], year: int, out: Path) -> Path:
    rows = scorecard_rows(dashboard)
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".csv":
        with out.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADERS)
            writer.writerows(rows)
        return out
    if out.suffix.lower() != ".xlsx":
        raise ValueError(f"{out.name}: the scorecard is written as .xlsx or .csv")
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = f"{year}年度政务公开考核"
    sheet.append(HEADERS)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append(row)
    book.save(out)
    return out
