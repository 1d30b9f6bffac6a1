"""``gongkai record …``: one subcommand per money or goods movement, and corrections.

Amounts are typed in yuan (``1234.56``, ``1.5万``) and recorded as integer fen. Goods are
``--goods "ITEM|GRADE|UNIT|QUANTITY"`` (repeatable).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import click

from api.cli import State, acting, main, pass_state, submit
from ledger.accounts import Fund, Program
from ledger.catalogue import APPROPRIATION_LEVELS, CATEGORIES, DONOR_CLASSES
from ledger.commands import payload_of
from ledger.errors import InputError
from ledger.money import parse_yuan

CATEGORY = click.Choice(sorted(CATEGORIES))


def _amount(text: str) -> int:
    return parse_yuan(text, "--amount")


def _goods(specs: tuple[str, ...]) -> list[dict[str, Any]]:
    lines = []
    for spec in specs:
        parts = spec.split("|")
        if len(parts) != 4:
            raise InputError(f"--goods {spec!r} must be ITEM|GRADE|UNIT|QUANTITY")
        item, grade, unit, quantity = (p.strip() for p in parts)
        if not quantity.isdigit():
            raise InputError(f"--goods {spec!r}: quantity {quantity!r} is not a whole number")
        lines.append({"item": item, "grade": grade, "unit": unit, "quantity": int(quantity)})
    return lines


def _date(value: str | None) -> str:
    return value or date.today().isoformat()


def _drop_none(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


@main.group()
def record() -> None:
    """Record a pledge, donation, appropriation, allocation, transfer, disbursement, goods
    movement or correction, signed with --as."""


date_option = click.option("--date", "day", default=None, help="YYYY-MM-DD (default today)")


@record.command("pledge")
@acting
@click.option("--pledge-no", required=True)
@click.option("--fund", required=True)
@click.option("--donor-class", required=True, type=click.Choice(sorted(DONOR_CLASSES)))
@click.option("--donor-name", default=None, help="published only with --consent")
@click.option("--consent", is_flag=True, help="the donor agreed to be named publicly")
@click.option("--amount", required=True)
@click.option("--purpose", type=CATEGORY, default=None, help="directed purpose")
@date_option
@pass_state
def pledge(state: State, keyfile: Path, idempotency_key: str | None, pledge_no: str, fund: str, donor_class: str, donor_name: str | None, consent: bool, amount: str, purpose: str | None, day: str | None) -> None:
    """Record a pledge (认捐): promised, not yet received."""
    body = _drop_none({"pledge_no": pledge_no, "fund": fund, "donor_class": donor_class,
                       "donor_name": donor_name, "consent": consent, "amount": _amount(amount),
                       "purpose": purpose, "date": _date(day)})  # fmt: skip
    submit(state, keyfile, "pledge.record", body, idempotency_key)


@record.command("donation")
@acting
@click.option("--receipt-no", required=True)
@click.option("--donor-class", required=True, type=click.Choice(sorted(DONOR_CLASSES)))
@click.option("--donor-name", default=None, help="published only with --consent")
@click.option("--consent", is_flag=True)
@click.option("--purpose", type=CATEGORY, default=None, help="directed purpose (定向)")
@click.option("--fund", default=None, help="money: the fund it goes into")
@click.option("--amount", default=None, help="money: yuan")
@click.option("--store", default=None, help="goods: the store they go into")
@click.option("--goods", multiple=True, help="goods: ITEM|GRADE|UNIT|QUANTITY (repeatable)")
@click.option("--pledge-no", default=None, help="the pledge this fulfils")
@click.option("--note", default=None)
@date_option
@pass_state
def donation(state: State, keyfile: Path, idempotency_key: str | None, receipt_no: str, donor_class: str, donor_name: str | None, consent: bool, purpose: str | None, fund: str | None, amount: str | None, store: str | None, goods: tuple[str, ...], pledge_no: str | None, note: str | None, day: str | None) -> None:
    """Record a donation received, of money (--fund --amount) or goods (--store --goods)."""
    body = _drop_none({"receipt_no": receipt_no, "date": _date(day), "donor_class": donor_class,
                       "donor_name": donor_name, "consent": consent, "purpose": purpose,
                       "fund": fund, "amount": _amount(amount) if amount is not None else None,
                       "store": store, "goods": _goods(goods) if goods else None,
                       "pledge_no": pledge_no, "note": note})  # fmt: skip
    submit(state, keyfile, "donation.receive", body, idempotency_key)


@record.command("appropriation")
@acting
@click.option("--document-no", required=True, help="e.g. 息财〔2026〕12号")
@click.option("--level", required=True, type=click.Choice(sorted(APPROPRIATION_LEVELS)))
@click.option("--fund", required=True)
@click.option("--amount", required=True)
@click.option("--purpose", type=CATEGORY, default=None)
@date_option
@pass_state
def appropriation(state: State, keyfile: Path, idempotency_key: str | None, document_no: str, level: str, fund: str, amount: str, purpose: str | None, day: str | None) -> None:
    """Record a government appropriation (财政拨款) received."""
    body = _drop_none({"document_no": document_no, "level": level, "fund": fund,
                       "amount": _amount(amount), "purpose": purpose, "date": _date(day)})  # fmt: skip
    submit(state, keyfile, "appropriation.receive", body, idempotency_key)


@record.command("allocation")
@acting
@click.option("--fund", required=True)
@click.option("--program", required=True)
@click.option("--amount", required=True)
@click.option("--purpose", type=CATEGORY, default=None, help="draw directed money of this purpose")
@click.option("--note", default=None)
@date_option
@pass_state
def allocation(state: State, keyfile: Path, idempotency_key: str | None, fund: str, program: str, amount: str, purpose: str | None, note: str | None, day: str | None) -> None:
    """Allocate money from a fund to a program.

    Without --purpose, money directed to the program's category is drawn first when the fund
    holds enough of it; otherwise undirected money.
    """
    if purpose is None:
        ledger = state.services.ledger
        category = ledger.account(Program, program).category  # type: ignore[attr-defined]
        if ledger.account(Fund, fund).balances.get(category, 0) >= _amount(amount):
            purpose = category
    body = _drop_none({"fund": fund, "program": program, "amount": _amount(amount),
                       "purpose": purpose, "note": note, "date": _date(day)})  # fmt: skip
    submit(state, keyfile, "allocation.make", body, idempotency_key)


@record.command("transfer")
@acting
@click.option("--from-fund", required=True)
@click.option("--to-fund", required=True)
@click.option("--amount", required=True)
@click.option("--purpose", type=CATEGORY, default=None)
@click.option("--note", default=None)
@date_option
@pass_state
def transfer(state: State, keyfile: Path, idempotency_key: str | None, from_fund: str, to_fund: str, amount: str, purpose: str | None, note: str | None, day: str | None) -> None:
    """Transfer money between funds (internal: never counted twice in reports)."""
    body = _drop_none({"from_fund": from_fund, "to_fund": to_fund, "amount": _amount(amount),
                       "purpose": purpose, "note": note, "date": _date(day)})  # fmt: skip
    submit(state, keyfile, "transfer.make", body, idempotency_key)


@record.command("disbursement")
@acting
@click.option("--program", required=True)
@click.option("--amount", required=True)
@click.option("--recipient", default=None, help="pseudonymous reference, e.g. R-7K2Q9D")
@click.option("--village", default=None)
@click.option("--period", default=None, help="YYYY-MM the payment is for")
@click.option("--protected", is_flag=True, help="a protected recipient: no reference or village in public")
@date_option
@pass_state
def disbursement(state: State, keyfile: Path, idempotency_key: str | None, program: str, amount: str, recipient: str | None, village: str | None, period: str | None, protected: bool, day: str | None) -> None:
    """Pay a recipient from a program."""
    body = _drop_none({"program": program, "amount": _amount(amount), "recipient": recipient,
                       "village": village, "period": period, "protected": protected,
                       "date": _date(day)})  # fmt: skip
    submit(state, keyfile, "disbursement.make", body, idempotency_key)


@record.command("goods-in")
@acting
@click.option("--store", required=True)
@click.option("--goods", multiple=True, required=True, help="ITEM|GRADE|UNIT|QUANTITY (repeatable)")
@click.option("--source", required=True, help="where the goods came from")
@click.option("--purpose", type=CATEGORY, default=None)
@date_option
@pass_state
def goods_in(state: State, keyfile: Path, idempotency_key: str | None, store: str, goods: tuple[str, ...], source: str, purpose: str | None, day: str | None) -> None:
    """Receive goods into a store (other than donations)."""
    body = _drop_none({"store": store, "goods": _goods(goods), "source": source,
                       "purpose": purpose, "date": _date(day)})  # fmt: skip
    submit(state, keyfile, "goods.receive", body, idempotency_key)


@record.command("goods-out")
@acting
@click.option("--store", required=True)
@click.option("--goods", multiple=True, required=True, help="ITEM|GRADE|UNIT|QUANTITY (repeatable)")
@click.option("--category", required=True, type=CATEGORY, help="what the goods are used for")
@click.option("--purpose", type=CATEGORY, default=None, help="issue goods directed to this purpose")
@click.option("--recipient", default=None, help="pseudonymous recipient reference")
@click.option("--institution", default=None, help="or an institution, e.g. 流长镇中心小学")
@click.option("--approved-by", required=True, help="key id of the approving head or leader")
@date_option
@pass_state
def goods_out(state: State, keyfile: Path, idempotency_key: str | None, store: str, goods: tuple[str, ...], category: str, purpose: str | None, recipient: str | None, institution: str | None, approved_by: str, day: str | None) -> None:
    """Issue goods from a store to a recipient or an institution, naming who approved it."""
    body = _drop_none({"store": store, "goods": _goods(goods), "category": category,
                       "purpose": purpose, "recipient": recipient, "institution": institution,
                       "approved_by": approved_by, "date": _date(day)})  # fmt: skip
    submit(state, keyfile, "goods.issue", body, idempotency_key)


@record.command("correction")
@acting
@click.option("--aggregate", required=True, help="UUID of the aggregate holding the event (see `history`)")
@click.option("--version", required=True, type=int, help="the event's version in that aggregate")
@click.option("--note", required=True, help="更正说明: what was wrong and why")
@click.option("--set", "changes", multiple=True, help="FIELD=VALUE to adjust (amount in yuan); none = reverse")
@pass_state
def correction(state: State, keyfile: Path, idempotency_key: str | None, aggregate: str, version: int, note: str, changes: tuple[str, ...]) -> None:
    """Correct an earlier event: reverse it, or adjust fields with --set; carries a 更正说明."""
    ledger = state.services.ledger
    try:
        aggregate_id = UUID(aggregate)
    except ValueError:
        raise InputError(f"--aggregate {aggregate!r} is not a UUID") from None
    original = payload_of(ledger.stored_event(aggregate_id, version).signed)  # type: ignore[attr-defined]
    body: dict[str, Any] = {
        "corrects": {"aggregate": str(aggregate_id), "version": version},
        "original": {"cmd": original["cmd"], "body": original["body"]},
        "note": note,
    }
    if changes:
        replacement = dict(original["body"])
        for change in changes:
            field, sep, value = change.partition("=")
            if not sep:
                raise InputError(f"--set {change!r} must be FIELD=VALUE")
            if field == "amount":
                replacement[field] = parse_yuan(value, "--set amount")
            elif field == "goods":
                replacement[field] = _goods(tuple(value.split(";")))
            else:
                replacement[field] = value
        body["replacement"] = replacement
    submit(state, keyfile, "correction.record", body, idempotency_key)
