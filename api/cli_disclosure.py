"""``gongkai obligations …``, ``gongkai disclosure …``, ``gongkai feedback …`` and
``gongkai deadlines``: the plan's disclosure procedure and 党政办's supervision."""

from __future__ import annotations

import base64
import hashlib
from datetime import date
from pathlib import Path
from typing import Any

import click

from api.cli import State, acting, emit, json_option, main, pass_state, submit
from ledger.catalogue import AREAS, CATEGORIES, CHANNELS, DEPARTMENTS, DOCUMENT_KINDS, INFO_KINDS
from ledger.errors import InputError
from ledger.workdays import clock, policy
from projections import checkpoints, deadlines
from publish.scorecard import write_scorecard


def _today(value: str | None) -> str:
    return value or date.today().isoformat()


date_option = click.option("--date", "day", default=None, help="the day of this step (default today)")


@main.group()
def obligations() -> None:
    """Disclosure obligations: the legal clock of information that formed or changed."""


@obligations.command("open")
@acting
@click.option("--obligation-no", required=True)
@click.option("--title", required=True)
@click.option("--department", required=True, type=click.Choice(sorted(DEPARTMENTS)))
@click.option("--area", required=True, type=click.Choice(sorted(AREAS)))
@click.option("--category", type=click.Choice(sorted(CATEGORIES)), default=None)
@click.option("--rule", default=None, help="a rule of the policy file (default: by category)")
@click.option("--posting", is_flag=True, help="a preliminary list posted 7 working days for objections")
@click.option("--formed-on", required=True, help="the day the information formed or changed")
@click.option("--source", "sources", multiple=True, help="what formed it: a receipt number, a month…")
@pass_state
def obligations_open(state: State, keyfile: Path, idempotency_key: str | None, obligation_no: str, title: str, department: str, area: str, category: str | None, rule: str | None, posting: bool, formed_on: str, sources: tuple[str, ...]) -> None:
    """Open an obligation; its due date follows the policy file and the working-day calendar."""
    chosen = rule or policy().rule_for(category, posting=posting)
    try:
        formed = date.fromisoformat(formed_on)
    except ValueError:
        raise InputError(f"--formed-on {formed_on!r} is not a date YYYY-MM-DD") from None
    c = clock(chosen, formed)
    body: dict[str, Any] = {"obligation_no": obligation_no, "title": title, "department": department,
                            "area": area, "rule": chosen, "formed_on": formed_on,
                            "due": c.due.isoformat(), "policy_version": c.policy_version,
                            "calendar": c.calendar, "sources": list(sources)}  # fmt: skip
    if category:
        body["category"] = category
    submit(state, keyfile, "obligation.open", body, idempotency_key)
    click.echo(f"due {c.due.isoformat()} ({c.working_days} working days, {c.calendar})")


@main.group()
def disclosure() -> None:
    """Disclosure items: draft, submit, review, post, approve, publish, file, correct, withdraw."""


@disclosure.command("draft")
@acting
@click.option("--item-no", required=True)
@click.option("--title", required=True)
@click.option("--kind", required=True, type=click.Choice(sorted(INFO_KINDS)))
@click.option("--area", required=True, type=click.Choice(sorted(AREAS)))
@click.option("--department", required=True, type=click.Choice(sorted(DEPARTMENTS)))
@click.option("--report", type=click.Choice(["flows", "recipients", "goods", "trace"]), default=None,
              help="content: a report bound to the log's latest checkpoint")
@click.option("--param", "params", multiple=True, help="report parameter KEY=VALUE")
@click.option("--document-kind", type=click.Choice(sorted(DOCUMENT_KINDS)), default=None)
@click.option("--file", "files", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="content: a document file, hashed into the signed command")
@click.option("--obligation", "obligation_nos", multiple=True, help="obligations this item discharges")
@click.option("--posting", is_flag=True, help="a list posted for objections (公示) before approval")
@click.option("--summary", default=None)
@date_option
@pass_state
def disclosure_draft(state: State, keyfile: Path, idempotency_key: str | None, item_no: str, title: str, kind: str, area: str, department: str, report: str | None, params: tuple[str, ...], document_kind: str | None, files: tuple[Path, ...], obligation_nos: tuple[str, ...], posting: bool, summary: str | None, day: str | None) -> None:
    """Draft a disclosure item: a report bound to a checkpoint, or documents."""
    if (report is None) == (document_kind is None):
        raise InputError("give either --report or --document-kind with --file")
    content: dict[str, Any]
    if report is not None:
        services = state.services
        db = services.read_models()
        note = checkpoints.make_checkpoint(db, services.origin, services.log_key())
        cp = note.checkpoint
        content = {"type": "report", "report": report,
                   "params": dict(p.split("=", 1) for p in params if "=" in p),
                   "checkpoint": {"size": cp.size, "root": base64.b64encode(cp.root).decode()}}  # fmt: skip
    else:
        if not files:
            raise InputError("--document-kind needs at least one --file")
        content = {"type": "document", "doc_kind": document_kind,
                   "files": [{"name": f.name, "sha256": hashlib.sha256(f.read_bytes()).hexdigest(),
                              "size": f.stat().st_size} for f in files]}  # fmt: skip
    body: dict[str, Any] = {"item_no": item_no, "title": title, "kind": kind, "area": area,
                            "department": department, "content": content, "posting": posting,
                            "obligations": list(obligation_nos), "date": _today(day)}  # fmt: skip
    if summary:
        body["summary"] = summary
    submit(state, keyfile, "disclosure.draft", body, idempotency_key)


def _step(name: str, cmd: str, help_text: str, *extra: Any) -> None:
    @acting
    @click.argument("item_no")
    @date_option
    @pass_state
    def step(state: State, /, keyfile: Path, idempotency_key: str | None, item_no: str, day: str | None, **options: Any) -> None:
        body: dict[str, Any] = {"item_no": item_no, "date": _today(day)}
        for key, value in options.items():
            if value not in (None, ()):
                body[key] = list(value) if isinstance(value, tuple) else value
        if cmd == "disclosure.post":
            body["posting_ends"] = clock("posting_period", date.fromisoformat(body["date"])).due.isoformat()
        submit(state, keyfile, cmd, body, idempotency_key)

    for option in reversed(extra):
        step = option(step)
    step.__doc__ = help_text
    disclosure.command(name)(step)


_step("submit", "disclosure.submit", "Submit a drafted item for review.")
_step("review", "disclosure.review", "Review and sign an item (head of its department).",
      click.option("--opinion", default=None))
_step("post", "disclosure.post", "Post a reviewed list for objections (公示, 7 working days).",
      click.option("--channel", "channels", multiple=True, required=True, type=click.Choice(sorted(CHANNELS))))
_step("approve", "disclosure.approve", "Approve and sign an item (leader in charge).",
      click.option("--opinion", default=None))
_step("publish", "disclosure.publish", "Publish an approved item on channels.",
      click.option("--channel", "channels", multiple=True, required=True, type=click.Choice(sorted(CHANNELS))))
_step("file", "disclosure.file", "File the signed item with 党政办 (备案).")
_step("correct", "disclosure.correct", "Correct a published item by a drafted replacement (更正说明).",
      click.option("--replacement", "replacement_item_no", required=True),
      click.option("--note", required=True, help="更正说明"))
_step("withdraw", "disclosure.withdraw", "Withdraw an item.", click.option("--reason", required=True))  # fmt: skip


@disclosure.command("list")
@json_option
@pass_state
def disclosure_list(state: State, as_json: bool) -> None:
    """Every disclosure item with its status and dates."""
    rows = deadlines.items(state.services.read_models())
    if as_json:
        emit(rows)
        return
    for r in rows:
        click.echo(f"{r['item_no']}  {r['status']:10}  {r['title']}  [{DEPARTMENTS[r['department']]}]"
                   f"  published {r['published_on'] or '-'}")  # fmt: skip


@disclosure.command("show")
@click.argument("item_no")
@json_option
@pass_state
def disclosure_show(state: State, item_no: str, as_json: bool) -> None:
    """One item with its signed trail (review, approval, publication…) and feedback."""
    db = state.services.read_models()
    found = [r for r in deadlines.items(db) if r["item_no"] == item_no]
    if not found:
        raise InputError(f"no disclosure item {item_no!r}")
    feedback = db.query(
        "SELECT feedback_no, kind, text, received_on, response, responded_on FROM gk_feedback "
        "WHERE item_no = ? ORDER BY received_on, feedback_no", (item_no,))  # fmt: skip
    data = dict(found[0], trail=deadlines.trail(db, item_no), feedback=[
        dict(zip(("feedback_no", "kind", "text", "received_on", "response", "responded_on"), f, strict=True))
        for f in feedback])  # fmt: skip
    if as_json:
        emit(data)
        return
    click.echo(f"{item_no}  {data['title']}  ({data['status']})")
    for t in data["trail"]:
        click.echo(f"  {t['date']}  {t['step']}  {t['official'] or t['key_id']}")
    for f in data["feedback"]:
        click.echo(f"  [{f['kind']}] {f['text']} → {f['response'] or '（待回复 awaiting response）'}")


@main.group()
def feedback() -> None:
    """Public feedback and objections on published or posted items."""


@feedback.command("receive")
@acting
@click.argument("item_no")
@click.option("--feedback-no", required=True)
@click.option("--kind", type=click.Choice(["comment", "objection"]), required=True)
@click.option("--text", required=True)
@date_option
@pass_state
def feedback_receive(state: State, keyfile: Path, idempotency_key: str | None, item_no: str, feedback_no: str, kind: str, text: str, day: str | None) -> None:
    """Record feedback received from the public (intake key or 党政办)."""
    body = {"item_no": item_no, "feedback_no": feedback_no, "kind": kind, "text": text, "date": _today(day)}
    submit(state, keyfile, "feedback.receive", body, idempotency_key)


@feedback.command("respond")
@acting
@click.argument("item_no")
@click.option("--feedback-no", required=True)
@click.option("--text", required=True)
@date_option
@pass_state
def feedback_respond(state: State, keyfile: Path, idempotency_key: str | None, item_no: str, feedback_no: str, text: str, day: str | None) -> None:
    """Record the department's signed response (published with the item)."""
    body = {"item_no": item_no, "feedback_no": feedback_no, "text": text, "date": _today(day)}
    submit(state, keyfile, "feedback.respond", body, idempotency_key)


@main.group(invoke_without_command=True)
@click.option("--today", default=None, help="judge as of this day (default today)")
@json_option
@click.pass_context
def deadlines_(ctx: click.Context, today: str | None, as_json: bool) -> None:
    """Obligations due, overdue and done late; the dashboard per department and area."""
    if ctx.invoked_subcommand is not None:
        return
    state = ctx.find_object(State)
    assert state is not None
    day = date.fromisoformat(today) if today else date.today()
    rows = deadlines.obligations(state.services.read_models())
    listed = [{"obligation_no": r.obligation_no, "title": r.title, "department": r.department,
               "area": r.area, "rule": r.rule, "formed_on": r.formed_on, "due": r.due,
               "published_on": r.published_on, "item_no": r.item_no, "state": r.state(day)}
              for r in rows]  # fmt: skip
    board = deadlines.dashboard(rows, day)
    if as_json:
        emit({"today": day.isoformat(), "obligations": listed, "dashboard": board})
        return
    labels = {"due": "待公开", "overdue": "逾期未公开", "late": "逾期公开", "on_time": "按时公开"}
    for r in listed:
        click.echo(f"{r['due']}  {labels[str(r['state'])]:6}  {r['obligation_no']}  {r['title']}"
                   f"  [{DEPARTMENTS[str(r['department'])]}]  {r['published_on'] or ''}")  # fmt: skip
    click.echo("督查 Dashboard")
    for b in board:
        click.echo(f"  {DEPARTMENTS[b['department']]} · {AREAS[b['area']]}: {b['obligations']} 项, "
                   f"按时 {b['on_time']}, 逾期公开 {b['late']}, 逾期未公开 {b['overdue']}, "
                   f"按时率 {b['on_time_percent'] if b['on_time_percent'] is not None else '-'}%, "
                   f"中位 {b['median_working_days'] if b['median_working_days'] is not None else '-'} 工作日")  # fmt: skip


deadlines_.name = "deadlines"
main.add_command(deadlines_, "deadlines")


@deadlines_.command("scorecard")
@click.option("--year", type=int, required=True)
@click.option("--today", default=None, help="judge as of this day (default today)")
@click.option("--out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.xlsx or FILE.csv")
@pass_state
def scorecard(state: State, year: int, today: str | None, out: Path) -> None:
    """The annual scorecard for the performance assessment (XLSX or CSV)."""
    day = date.fromisoformat(today) if today else date.today()
    rows = deadlines.obligations(state.services.read_models(), year=year)
    try:
        path = write_scorecard(deadlines.dashboard(rows, day), year, out)
    except ValueError as error:
        raise InputError(str(error)) from None
    click.echo(f"wrote {path}")
