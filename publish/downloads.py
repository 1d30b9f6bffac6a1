"""Open data: every table of the portal as CSV (UTF-8 with BOM, so Excel opens it in Chinese)
and JSON, with the checkpoint it was built from.

A CSV's header row holds the column keys (stable, for machines); the JSON holds the same rows as
objects plus each column's Chinese and English label. Money is integer fen (columns ending in
``_fen``), goods are integer quantities in the row's unit. Rows are in a fixed order, so the
same checkpoint always gives the same bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

from publish.books import Books, Stamp

Column = tuple[str, str, str]  # key, Chinese label, English label


@dataclass(frozen=True, slots=True)
class Table:
    name: str
    zh: str
    en: str
    columns: tuple[Column, ...]
    rows: tuple[dict[str, Any], ...]

    def csv_bytes(self) -> bytes:
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([c[0] for c in self.columns])
        for row in self.rows:
            writer.writerow([_cell(row.get(c[0])) for c in self.columns])
        return ("\ufeff" + out.getvalue()).encode("utf-8")

    def json_bytes(self, stamp: Stamp) -> bytes:
        data = {"checkpoint": stamp.to_json(), "table": self.name, "title": {"zh": self.zh, "en": self.en},
                "columns": [{"key": k, "zh": zh, "en": en} for k, zh, en in self.columns],
                "rows": [{c[0]: row.get(c[0]) for c in self.columns} for row in self.rows]}  # fmt: skip
        # Compact: a table of a million-event ledger encodes in C, not in Python (as with indent).
        return (json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n").encode("utf-8")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join(str(v) for v in value)
    return str(value)


def _table(name: str, zh: str, en: str, columns: str, rows: list[dict[str, Any]]) -> Table:
    """``columns`` is ``key:中文:English`` per line."""
    parsed: list[Column] = []
    for line in columns.strip().splitlines():
        key, label_zh, label_en = line.strip().split(":", 2)
        parsed.append((key, label_zh, label_en))
    return Table(name, zh, en, tuple(parsed), tuple(rows))


def tables(books: Books) -> list[Table]:
    report = books.report
    sources = [{"kind": "donation", "code": d["donor_class"], "count": d["donations"],
                "amount_fen": d["amount"]} for d in report["sources"]["donors"]]  # fmt: skip
    sources += [{"kind": "appropriation", "code": g["level"], "count": None, "amount_fen": g["amount"]}
                for g in report["sources"]["governments"]]  # fmt: skip
    w = report["recipients"]["withheld"]
    recipients = [dict(g, withheld=False, amount_fen=g["amount"]) for g in report["recipients"]["groups"]]
    recipients.append({"village": None, "category": None, "recipients": None, "payments": w["payments"],
                       "amount_fen": w["amount"], "withheld": True})  # fmt: skip
    donations = []
    for receipt, trace in books.traces.items():
        d = trace["donation"]
        base = {"receipt_no": receipt, "date": d["date"], "donor_class": d["donor_class"],
                "donor_name": d["donor_name"], "purpose": d["purpose"], "account": d["account"]["code"],
                "status": d["status"]}  # fmt: skip
        if "amount_fen" in d:
            donations.append(dict(base, amount_fen=books.donations.get(receipt, 0)))
        donations += [dict(base, item=g["item"], grade=g.get("grade", ""), unit=g["unit"],
                           quantity=g["quantity"]) for g in d.get("goods", [])]  # fmt: skip
    trail = [dict(step, item_no=i["item_no"], detail=json.dumps(step["detail"], ensure_ascii=False, sort_keys=True))
             for i in books.items for step in i["trail"]]  # fmt: skip
    feedback = [dict(f, item_no=i["item_no"]) for i in books.items for f in i["feedback"]]
    return [
        _table("sources", "资金来源", "Sources of money", """
            kind:来源类型:kind
            code:捐赠人类别或拨款层级:donor class or government level
            count:捐赠笔数:donations
            amount_fen:金额（分）:amount (fen)""", sources),
        _table("pledges", "认捐（未到账，不计入）", "Pledges (not received, not counted)", """
            donor_class:捐赠人类别:donor class
            amount_fen:金额（分）:amount (fen)""",
               [dict(p, amount_fen=p["amount"]) for p in report["pledged"]["by_class"]]),
        _table("funds", "资金", "Funds", """
            code:代码:code
            name:名称:name
            area:领域:focus area
            category:类别:category
            restricted:专项:restricted
            received_fen:收入（分）:received (fen)
            transfers_in_fen:调入（分）:transfers in (fen)
            transfers_out_fen:调出（分）:transfers out (fen)
            allocated_fen:拨付项目（分）:allocated (fen)
            idle_fen:闲置（分）:idle (fen)""", [_fen(f) for f in report["funds"]]),
        _table("programs", "救助项目", "Programs", """
            code:代码:code
            name:名称:name
            area:领域:focus area
            category:类别:category
            allocated_fen:拨入（分）:allocated (fen)
            disbursed_fen:发放（分）:disbursed (fen)
            idle_fen:闲置（分）:idle (fen)""", [_fen(p) for p in report["programs"]]),
        _table("flows", "资金流向", "Money flows", """
            kind:类型:kind
            source:来源:from
            dest:去向:to
            amount_fen:金额（分）:amount (fen)""", [dict(link, amount_fen=link["amount"]) for link in books.links]),
        _table("recipients", "受助发放（按村和类别）", "Payments by village and category", """
            village:村（社区）:village
            category:类别:category
            recipients:人数:recipients
            payments:笔数:payments
            amount_fen:金额（分）:amount (fen)
            withheld:受保护对象合计（依法不公开明细）:protected recipients (withheld)""", recipients),
        _table("goods", "物资", "Goods", """
            store:仓库:store
            item:物资:item
            grade:规格:grade
            unit:单位:unit
            received:收到:received
            issued:发出:issued
            in_store:库存:in store""", list(books.goods["goods"])),
        _table("goods_issues", "物资发放记录", "Goods issues", """
            date:日期:date
            store:仓库:store
            item:物资:item
            grade:规格:grade
            unit:单位:unit
            quantity:数量:quantity
            institution:接收单位:institution
            recipient:受助人化名:recipient (pseudonym)
            category:类别:category
            approved_by_name:批准人:approved by
            recorded_by_name:经办人:recorded by
            correction:更正:correction""", list(books.goods["issues"])),
        _table("donations", "捐赠", "Donations", """
            receipt_no:收据号:receipt number
            date:日期:date
            donor_class:捐赠人类别:donor class
            donor_name:捐赠人（经同意公开）:donor (named with consent)
            purpose:定向用途:directed purpose
            account:入账:account
            status:状态:status
            amount_fen:金额（分）:amount (fen)
            item:物资:item
            grade:规格:grade
            unit:单位:unit
            quantity:数量:quantity""", donations),
        _table("disclosures", "公开事项", "Disclosure items", """
            item_no:编号:item number
            title:标题:title
            kind:信息类别:kind of information
            area:领域:focus area
            department:责任部门:department
            status:状态:status
            reviewed_on:审核日期:reviewed on
            posted_on:公示日期:posted on
            approved_on:审签日期:approved on
            published_on:发布日期:published on
            filed_on:备案日期:filed on
            channels:发布渠道:channels
            corrects:更正的事项:corrects
            corrected_by:更正后的事项:corrected by
            note:更正说明:correction note""", books.items),
        _table("disclosure_trail", "公开事项审签记录", "Review and approval trail", """
            item_no:编号:item number
            step:步骤:step
            date:日期:date
            at:签名时间:signed at
            official:签名人:official
            role:职务:role
            key_id:公钥编号:key id
            detail:内容:detail""", trail),
        _table("feedback", "公众意见和答复", "Public feedback and responses", """
            item_no:编号:item number
            feedback_no:意见编号:feedback number
            kind:类型:kind
            text:意见:feedback
            received_on:收到日期:received on
            response:答复:response
            responded_on:答复日期:responded on""", feedback),
        _table("obligations", "公开时限记录", "Disclosure deadlines", """
            obligation_no:编号:number
            title:事项:title
            department:责任部门:department
            area:领域:focus area
            rule:时限规则:rule
            formed_on:信息形成日期:formed on
            due:公开期限:due
            published_on:公开日期:published on
            item_no:公开事项:item
            state:状态:state
            working_days:用时（工作日）:working days""", books.obligations),
        _table("dashboard", "公开督查统计", "Supervision dashboard", """
            department:部门:department
            area:领域:focus area
            obligations:公开义务:obligations
            published:已公开:published
            on_time:按时公开:on time
            late:逾期公开:late
            overdue:逾期未公开:overdue
            due:未到期:due
            on_time_percent:按时率（%）:on time (%)
            median_working_days:中位工作日:median working days""", books.dashboard),
    ]


def _fen(row: dict[str, Any]) -> dict[str, Any]:
    money = ("received", "transfers_in", "transfers_out", "allocated", "disbursed", "idle")
    return dict(row, **{f"{k}_fen": row[k] for k in money if k in row})
