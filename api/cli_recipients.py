"""``gongkai recipients register | list | erase``: the recipient registry on the command line.

``register`` seals the person's data beside a public part that holds only a pseudonym, the
village and the program (nothing but the program for a protected recipient). ``list`` prints
the list for an audience: ``public`` (aggregates), ``village`` (masked names for the notice
board) or ``auditor`` (everything; only with ``--as`` an auditor's key, proven by signing a
fresh challenge). ``erase`` (an administrator) destroys a recipient's key.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import secrets
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from api.cli import State, emit, json_option, main, pass_state, report
from ledger.catalogue import CATEGORIES
from ledger.checkpoint import SignedNote, verify_log_signature
from ledger.errors import InputError
from ledger.fields import Fields
from ledger.money import format_yuan
from ledger.privacy import FLAGS, authorize_reader
from ledger.recipients import erase_body, register_body
from projections.merkle_log import tree_size
from projections.recipient_lists import AUDIENCES, ERASED, UNREGISTERED, Filters, build
from projections.recipients import RecipientsProjection
from projections.replay import scratch_as_of
from projections.sql import Database

_ALPHABET = string.ascii_uppercase + string.digits
_PERIOD = re.compile(r"^\d{4}(-\d{2})?$")


def new_pseudonym(*, protected: bool, secret: bytes | None = None) -> str:
    """A fresh random pseudonym: R-XXXXXX, or P- and 16 characters for a protected recipient.

    With ``secret`` it is derived from it instead, so a retried command draws the same one.
    """
    prefix, length = ("P-", 16) if protected else ("R-", 6)
    for attempt in itertools.count():
        if secret is None:
            chars = [secrets.choice(_ALPHABET) for _ in range(length)]
        else:
            drawn = hashlib.sha256(secret + attempt.to_bytes(4, "big")).digest()
            chars = [_ALPHABET[b % len(_ALPHABET)] for b in drawn[:length]]
        candidate = prefix + "".join(chars)
        try:
            return Fields({"p": candidate}).pseudonym("p")
        except InputError:
            continue  # a run of digits that looks like a number: draw again
    raise AssertionError("unreachable")  # pragma: no cover


@main.group()
def recipients() -> None:
    """The recipient registry: register (sealed personal data), list by audience, erase."""


@recipients.command("register")
@click.option("--as", "keyfile", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="a recorder of the program's department")
@click.option("--idempotency-key", default=None)
@click.option("--program", required=True, help="the program whose roster the person joins")
@click.option("--pseudonym", default=None, help="default: a new random one (printed)")
@click.option("--village", default=None, help="required unless --protected")
@click.option("--protected", is_flag=True, help="a minor, HIV/AIDS relief or confidential: never listed")
@click.option("--name", required=True)
@click.option("--id-number", required=True, help="resident ID number (GB 11643, check digit validated)")
@click.option("--household-size", required=True, type=int)
@click.option("--phone", default=None)
@click.option("--address", default=None)
@click.option("--bank-account", default=None)
@click.option("--flag", "flags", multiple=True, type=click.Choice(sorted(FLAGS)))
@pass_state
def register(state: State, keyfile: Path, idempotency_key: str | None, program: str, pseudonym: str | None, village: str | None, protected: bool, name: str, id_number: str, household_size: int, phone: str | None, address: str | None, bank_account: str | None, flags: tuple[str, ...]) -> None:
    """Register a recipient: personal data sealed, a pseudonym in public."""
    if not protected and village is None:
        raise InputError("--village is required (or --protected)")
    signer = state.signer(keyfile)
    if pseudonym is None:
        # A retry with the same idempotency key must draw the same pseudonym; the official's
        # own signature over the key makes it so without making it guessable.
        secret = signer.key.sign(b"gongkai/pseudonym/" + idempotency_key.encode()) if idempotency_key else None
        pseudonym = new_pseudonym(protected=protected, secret=secret)
    data: dict[str, Any] = {
        "name": name.strip(),
        "id_number": re.sub(r"\s", "", id_number).upper(),
        "household_size": household_size,
        "flags": sorted(set(flags)),
    }
    for key, value in (("phone", phone), ("address", address), ("bank_account", bank_account)):
        if value is not None:
            data[key] = re.sub(r"\s", "", value) if key != "address" else value.strip()
    body = register_body(signer.jurisdiction, program, pseudonym, None if protected else village,
                         protected=protected)  # fmt: skip
    envelope = signer.sign("recipient.register", body, idem=idempotency_key, sealed=data, subject=pseudonym)
    report(state.services.ledger.submit(envelope))
    click.echo(f"pseudonym {pseudonym}")


@recipients.command("erase")
@click.argument("pseudonym")
@click.option("--as", "keyfile", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="an administrator's key")
@click.option("--reason", required=True, help="why (public: no personal data), e.g. 本人申请删除")
@click.option("--idempotency-key", default=None)
@pass_state
def erase(state: State, pseudonym: str, keyfile: Path, reason: str, idempotency_key: str | None) -> None:
    """Erase a recipient: destroy their key (the log keeps verifying, totals keep reconciling)."""
    signer = state.signer(keyfile)
    body = erase_body(signer.jurisdiction, pseudonym, reason)
    envelope = signer.sign("recipient.erase", body, idem=idempotency_key, sealed={}, subject=pseudonym)
    report(state.services.ledger.submit(envelope))


@recipients.command("list")
@click.option("--audience", required=True, type=click.Choice(AUDIENCES))
@click.option("--village", default=None)
@click.option("--category", default=None, type=click.Choice(sorted(CATEGORIES)))
@click.option("--period", default=None, help="YYYY or YYYY-MM: the month payments are for")
@click.option("--as", "keyfile", default=None, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="auditor list: the auditor's key (proven by signing a fresh challenge)")
@click.option("--as-of", default=None, help="a checkpoint file or a tree size: the list as it stood then")
@json_option
@pass_state
def list_(state: State, audience: str, village: str | None, category: str | None, period: str | None, keyfile: Path | None, as_of: str | None, as_json: bool) -> None:
    """List recipients for an audience: public (aggregates), village (masked names), auditor (all).

    As of a checkpoint, the list is rebuilt from the log up to it; people erased since are
    shown as erased (an erasure is never undone).
    """
    if period is not None and not _PERIOD.match(period):
        raise InputError(f"--period {period!r} must be YYYY or YYYY-MM")
    services = state.services
    if audience == "auditor":
        if keyfile is None:
            raise InputError("the auditor list needs --as with an auditor's key")
        key = state.signer(keyfile).key
        registry = services.ledger.registry()
        challenge = f"gongkai recipients list/{registry.jurisdiction}/".encode() + secrets.token_bytes(32)
        authorize_reader(registry, key.key_id, challenge, key.sign(challenge))
    with _read_model(state, as_of) as db:
        data = build(audience, db, services.ledger, Filters(village, category, period))
    if as_json:
        emit(data)
        return
    {"public": _print_public, "village": _print_village, "auditor": _print_auditor}[audience](data)


@contextmanager
def _read_model(state: State, as_of: str | None) -> Iterator[Database]:
    """The live recipients read model, or one rebuilt up to a checkpoint or tree size."""
    services = state.services
    live = services.read_models()
    if as_of is None:
        yield live
        return
    if Path(as_of).is_file():
        note = SignedNote.parse(Path(as_of).read_text(encoding="utf-8"))
        size = verify_log_signature(note, services.origin, services.log_key().public).size
    elif as_of.isdigit():
        size = int(as_of)
    else:
        raise InputError(f"--as-of {as_of!r} is neither a checkpoint file nor a tree size")
    if size > tree_size(live):
        raise InputError(f"--as-of {size} is larger than the log ({tree_size(live)} leaves)")
    with scratch_as_of(services.ledger, live, size, [RecipientsProjection()]) as db:
        yield db


def _print_filters(title: str, data: dict[str, Any]) -> None:
    f = data["filters"]
    scope = "  ".join(f"{k} {v}" for k, v in (("村 village", f["village"]),
                      ("类别 category", f["category"]), ("期间 period", f["period"])) if v)  # fmt: skip
    click.echo(title + (f"  ({scope})" if scope else ""))


def _print_totals(data: dict[str, Any]) -> None:
    held = data["withheld"]
    click.echo(f"列出合计 listed: {format_yuan(data['listed_fen'])}")
    if data["filters"]["village"] is not None:
        click.echo(f"其他村（社区） other villages: {format_yuan(data['other_villages_fen'])}")
    amount = format_yuan(held["amount_fen"])
    click.echo(f"另有 {held['recipients']} 名受保护对象，合计 {amount}（依法不予公开，全镇合计） / "
               f"withheld: {held['recipients']} recipients, {amount} (town-wide)")  # fmt: skip
    click.echo(f"总计 total paid: {format_yuan(data['total_fen'])}")


def _print_public(data: dict[str, Any]) -> None:
    _print_filters("救助对象分村汇总 Recipients by village and category", data)
    for r in data["rows"]:
        click.echo(f"  {r['village']}  {r['category_label']}  {r['recipients']}人  "
                   f"{format_yuan(r['amount_fen'])}")  # fmt: skip
    _print_totals(data)


def _print_village(data: dict[str, Any]) -> None:
    _print_filters("救助对象公示（村务公开栏） Recipients for the village notice board", data)
    section = None
    for r in data["rows"]:
        if (r["village"], r["category"]) != section:
            section = (r["village"], r["category"])
            click.echo(f"{r['village']} · {r['category_label']}")
        name = r["name"] or {"erased": ERASED, "unregistered": UNREGISTERED}[r["status"]]
        size = f"{r['household_size']}人" if r["household_size"] else "-"
        click.echo(f"  {name}  {size}  {format_yuan(r['amount_fen'])}")
    _print_totals(data)


def _print_auditor(data: dict[str, Any]) -> None:
    _print_filters("救助对象明细（审计） Recipients in full, for auditors", data)
    for r in data["rows"]:
        flags = ",".join(r.get("flags") or [])
        protected = " 受保护" if r["protected"] else ""
        details = "  ".join(str(r.get(k) or "-") for k in ("name", "id_number", "phone", "address",
                                                           "bank_account", "household_size"))  # fmt: skip
        click.echo(f"{r['pseudonym']}  [{r['status']}{protected}]  {r['village'] or '-'}  "
                   f"{r['category_label']}  {details}  {flags}  {r['payments']}笔 "
                   f"{format_yuan(r['amount_fen'])}")  # fmt: skip
    loose = data["protected_without_sealed_part"]
    if loose["payments"]:
        click.echo(f"受保护发放（无密封部分） protected payments without a sealed part: "
                   f"{loose['payments']}, {format_yuan(loose['amount_fen'])}")  # fmt: skip
    click.echo(f"列出合计 listed: {format_yuan(data['listed_fen'])}  总计 total paid: "
               f"{format_yuan(data['total_fen'])}")  # fmt: skip
