"""``gongkai trace RECEIPT``: where a donation went (捐赠去向), live or as of a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from api.cli import State, emit, json_option, main, pass_state
from ledger.checkpoint import SignedNote, verify_log_signature
from ledger.errors import InputError
from ledger.money import format_yuan
from projections.merkle_log import tree_size
from projections.trace_report import donation_trace, traced_as_of

_KIND = {"allocation": "拨付 allocation", "transfer": "调剂 transfer"}


@main.command("trace")
@click.argument("receipt")
@click.option("--as-of", "as_of", default=None,
              help="a checkpoint file or a tree size: the trace as the log stood then")  # fmt: skip
@json_option
@pass_state
def trace(state: State, receipt: str, as_of: str | None, as_json: bool) -> None:
    """Where the donation with receipt number RECEIPT went: allocations, transfers,
    disbursements and goods issues attributed to it (first in, first out), and what is idle."""
    services = state.services
    live = services.read_models()
    size: int | None = None
    if as_of is None:
        data = donation_trace(live, receipt)
    else:
        size = _size(state, as_of)
        if size > tree_size(live):
            raise InputError(f"--as-of {size} is larger than the log ({tree_size(live)} leaves)")
        with traced_as_of(services.ledger, live, size) as db:
            data = donation_trace(db, receipt)
    data["as_of_tree_size"] = size
    if as_json:
        emit(data)
    else:
        for line in render(data):
            click.echo(line)


def _size(state: State, as_of: str) -> int:
    path = Path(as_of)
    if path.is_file():
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
        return verify_log_signature(note, state.services.origin, state.services.log_key().public).size
    if as_of.isdigit():
        return int(as_of)
    raise InputError(f"--as-of {as_of!r} is neither a checkpoint file nor a tree size")


def _amount(entry: dict[str, Any]) -> str:
    if "amount_fen" in entry:
        return format_yuan(int(entry["amount_fen"]))
    grade = f"（{entry['grade']}）" if entry.get("grade") else ""
    directed = "（定向）" if entry.get("purpose") else ""
    return f"{entry['item']}{grade} {entry['quantity']}{entry['unit']}{directed}"


def _account(entry: dict[str, Any]) -> str:
    category = f"（{entry['category_label']}）" if entry.get("category_label") else ""
    return f"{entry['code']} {entry['name']}{category}"


def render(data: dict[str, Any]) -> list[str]:
    """The trace as text for people: Chinese first, figures net of corrections."""
    d = data["donation"]
    as_of = data.get("as_of_tree_size")
    lines = [f"捐赠去向 Where donation {data['receipt_no']} went"
             + (f"（截至日志第 {as_of} 条 as of tree size {as_of}）" if as_of is not None else "")]  # fmt: skip
    donor = d["donor_class_label"] + (f" {d['donor_name']}" if d["donor_name"] else "（未公开姓名）")
    purpose = f"定向 {d['purpose_label']}" if d["purpose"] else "非定向 undirected"
    gift = (format_yuan(d["amount_fen"]) if "amount_fen" in d
            else "；".join(_amount({**g, "purpose": d["purpose"]}) for g in d["goods"]) or "—")  # fmt: skip
    lines.append(f"  {d['date']}  {donor}  {gift}  {purpose}  → {_account(d['account'])}")
    status = {"corrected": "已更正 corrected", "reversed": "已冲销 reversed"}.get(d["status"])
    if status:
        lines.append(f"  {status}")
    lines += [f"  更正说明 {n['date']}: {n['note']}" for n in d["corrections"]]
    lines.append("去向 Uses")
    for m in data["movements"]:
        mark = "（含更正）" if m["corrected"] else ""
        lines.append(f"  {m['date']}  {_KIND[m['kind']]}  {_account(m['from'])} → "
                     f"{_account(m['to'])}  {_amount(m)}{mark}")  # fmt: skip
    for p in data["disbursements"]:
        lines.append(f"  发放 paid  {_account(p['program'])}  {p['village']}  "
                     f"{p['recipients']} 人 {p['payments']} 笔  {format_yuan(p['amount_fen'])}  "
                     f"{p['first_date']}～{p['last_date']}")  # fmt: skip
    for g in data["goods_issues"]:
        to = g["institution"] if "institution" in g else f"{g['recipients']} 名受助群众 recipients"
        when = g.get("date") or f"{g['first_date']}～{g['last_date']}"
        approver = g["approved_by"]["name"] or g["approved_by"]["key_id"]
        lines.append(f"  {when}  物资发放 issued  {_account(g['store'])}  {_amount(g)}  → {to}"
                     f"（{g['category_label']}）  审批 approved by {approver}")  # fmt: skip
    if data["protected"]:
        hidden = [format_yuan(data["protected"]["amount_fen"])] if data["protected"]["amount_fen"] else []
        hidden += [_amount(g) for g in data["protected"]["goods"]]
        lines.append(f"  受保护对象（依法不公开明细） protected recipients: {'；'.join(hidden)}")
    for s in data["substitutions"]:
        verb = "替代承担 carried for" if s.get("amount_fen", s.get("quantity", 0)) > 0 else "改由其承担 carried by"
        lines.append(f"  更正替代 {verb} {s['counterpart_label']}  {_amount(s)}  ({s['account']['code']})")
    if len(lines) and lines[-1] == "去向 Uses":
        lines.append("  （尚未使用 not used yet）")
    lines.append("闲置 Idle")
    lines += [f"  {_account(i['account'])}  {_amount(i)}" for i in data["idle"]] or ["  —"]
    lines.append("合计 Totals")
    for t in data["totals"]:
        show = format_yuan if t["money"] else str
        mark = "✓ 平衡 reconciled" if t["reconciled"] else "✗ 不平衡 NOT reconciled"
        what = "" if t["money"] else f"{t['item']}（{t['unit']}）: "
        lines.append(f"  {what}收到 {show(t['received'])} = 已使用 {show(t['used'])} + "
                     f"更正替代 {show(t['substituted'])} + 闲置 {show(t['idle'])}  {mark}")  # fmt: skip
    if data["corrections"]:
        lines.append("涉及的更正 Corrections touching this donation")
        lines += [f"  {c['date']}  {c['note']}" for c in data["corrections"]]
    return lines
