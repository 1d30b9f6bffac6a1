"""``gongkai report flows`` and ``gongkai report goods``: reports from the flows read model,
live or as of a checkpoint (rebuilt from zero in a scratch store)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import click

from api.cli import State, emit, json_option, main, pass_state
from ledger.catalogue import AREAS, CATEGORIES, DONOR_CLASSES
from ledger.checkpoint import SignedNote, verify_log_signature
from ledger.errors import InputError
from ledger.money import format_wan, format_yuan
from projections.balances import BalancesProjection
from projections.flows import FlowsProjection
from projections.merkle_log import tree_size
from projections.replay import scratch_as_of
from projections.reports import Scope, flow_report, goods_ledger
from projections.sql import Database

LEVELS = {"county": "县级", "city": "市级", "province": "省级", "central": "中央"}


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InputError(f"{option} {value!r} is not a date YYYY-MM-DD") from None


@contextmanager
def _books(state: State, as_of: str | None) -> Iterator[Database]:
    """The live read models, or the read models rebuilt as of a checkpoint file or tree size."""
    services = state.services
    live = services.read_models()
    if as_of is None:
        yield live
        return
    path = Path(as_of)
    if path.is_file():
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
        size = verify_log_signature(note, services.origin, services.log_key().public).size
    elif as_of.isdigit():
        size = int(as_of)
    else:
        raise InputError(f"--as-of {as_of!r} is neither a checkpoint file nor a tree size")
    if size > tree_size(live):
        raise InputError(f"--as-of {size} is larger than the log ({tree_size(live)} leaves)")
    with scratch_as_of(services.ledger, live, size, [BalancesProjection(), FlowsProjection()]) as db:
        yield db


as_of_option = click.option("--as-of", default=None,
                            help="a checkpoint file or a tree size: the books as they stood then")  # fmt: skip


@main.group()
def report() -> None:
    """Reports: fund flows and the goods ledger."""


@report.command("flows")
@click.option("--from", "start", default=None, help="first day YYYY-MM-DD")
@click.option("--to", "end", default=None, help="last day YYYY-MM-DD")
@click.option("--area", type=click.Choice(sorted(AREAS)), default=None)
@click.option("--fund", default=None, help="one fund's code")
@as_of_option
@json_option
@pass_state
def report_flows(state: State, start: str | None, end: str | None, area: str | None, fund: str | None, as_of: str | None, as_json: bool) -> None:
    """Where the money came from and went: sources → funds → programs → recipients."""
    scope = Scope(_day(start, "--from"), _day(end, "--to"), area, fund)
    with _books(state, as_of) as db:
        data = flow_report(db, scope)
    data["as_of"] = as_of
    if as_json:
        emit(data)
        return
    _print_flows(data)


def _y(fen: int) -> str:
    return f"{format_yuan(fen)}（{format_wan(fen)}）"


def _print_flows(data: dict[str, Any]) -> None:
    s = data["scope"]
    click.echo(f"资金流向报告 Fund-flow report  {s['start'] or '…'} — {s['end'] or '…'}"
               + (f"  领域 {s['area_label']}" if s["area"] else "")
               + (f"  资金 {s['fund']}" if s["fund"] else ""))  # fmt: skip
    click.echo("来源 Sources")
    for d in data["sources"]["donors"]:
        click.echo(f"  捐赠·{DONOR_CLASSES[d['donor_class']]}  {d['donations']} 笔  {_y(d['amount'])}")
    for g in data["sources"]["governments"]:
        click.echo(f"  财政拨款·{LEVELS[g['level']]}  {_y(g['amount'])}")
    click.echo(f"  合计 total  {_y(data['sources']['total'])}")
    click.echo(f"  认捐（未到账，不计入）pledged, not counted  {_y(data['pledged']['total'])}")
    click.echo("资金 Funds                 期初闲置 opening   收入 received   调入 in   调出 out   拨付项目 allocated   闲置 idle")
    for f in data["funds"]:
        click.echo(f"  {f['code']:14} {format_yuan(f['opening_idle']):>14} {format_yuan(f['received']):>14} "
                   f"{format_yuan(f['transfers_in']):>12} {format_yuan(f['transfers_out']):>12} "
                   f"{format_yuan(f['allocated']):>14} {format_yuan(f['idle']):>14}")  # fmt: skip
    click.echo("项目 Programs              期初 opening   拨入 allocated   发放 disbursed   闲置 idle")
    for p in data["programs"]:
        click.echo(f"  {p['code']:14} {format_yuan(p['opening_idle']):>14} {format_yuan(p['allocated']):>14} "
                   f"{format_yuan(p['disbursed']):>14} {format_yuan(p['idle']):>14}")  # fmt: skip
    click.echo("受助发放 Payments by village and category")
    for g in data["recipients"]["groups"]:
        label = CATEGORIES[g["category"]][1] if g["category"] else ""
        click.echo(f"  {g['village'] or '-'}  {label}  {g['recipients']} 户/人  {g['payments']} 笔  {_y(g['amount'])}")
    w = data["recipients"]["withheld"]
    click.echo(f"  另有受保护对象 {w['payments']} 笔，合计 {_y(w['amount'])}（依法不予公开） withheld")
    t = data["totals"]
    click.echo(f"合计 Totals: 期初闲置 {_y(t['opening_idle'])} + 收入 {_y(t['incoming'])} + 调入 {_y(t['crossing_in'])}"
               f" = 发放 {_y(t['outgoing'])} + 调出 {_y(t['crossing_out'])} + 闲置 {_y(t['idle'])}"
               f"  {'✔ 平衡 reconciles' if t['reconciles'] else '✘ 不平衡 DOES NOT RECONCILE'}")  # fmt: skip


@report.command("goods")
@click.option("--from", "start", default=None)
@click.option("--to", "end", default=None)
@as_of_option
@json_option
@pass_state
def report_goods(state: State, start: str | None, end: str | None, as_of: str | None, as_json: bool) -> None:
    """The goods ledger: received, issued, in store, and who approved every issue."""
    scope = Scope(_day(start, "--from"), _day(end, "--to"))
    with _books(state, as_of) as db:
        data = goods_ledger(db, scope)
    if as_json:
        emit(data)
        return
    click.echo("物资台账 Goods ledger")
    for g in data["goods"]:
        click.echo(f"  {g['store']}  {g['item']}（{g['grade'] or '-'}）  收 {g['received']}{g['unit']}  "
                   f"发 {g['issued']}{g['unit']}  存 {g['in_store']}{g['unit']}")  # fmt: skip
    click.echo("发放记录 Issues")
    for i in data["issues"]:
        to = i["institution"] or f"受助人 {i['recipient']}"
        click.echo(f"  {i['date']}  {i['item']} {i['quantity']}{i['unit']} → {to}  "
                   f"批准 {i['approved_by_name'] or i['approved_by']}"
                   + ("  （更正）" if i["correction"] else ""))  # fmt: skip
