"""The ``gongkai`` command line.

Every command has ``--help``; read commands take ``--json``; a refused command exits 1 with
the reason on stderr (``error: <code>: <message>``), bad usage exits 2. Commands that act take
``--as KEYFILE``: the acting official's encrypted key, opened with GONGKAI_PASSPHRASE, the file
named by GONGKAI_PASSPHRASE_FILE, or a prompt. The database is ``--db`` or GONGKAI_DATABASE_URL.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import click

from api.bootstrap import Services, bootstrap
from api.config import Settings
from ledger import ids
from ledger.accounts import Fund, Program, Store
from ledger.application import CommandResult
from ledger.catalogue import CATEGORIES, DEPARTMENTS, ROLE_LABELS, Role
from ledger.commands import Signer, payload_of
from ledger.errors import InputError, LedgerError
from ledger.keys import PrivateKey, read_private_key, read_public_key, write_keypair
from ledger.money import format_yuan
from projections import balances
from projections.store import DatabaseURLError

F = TypeVar("F", bound=Callable[..., Any])


class State:
    def __init__(self, db: str | None) -> None:
        self.settings = Settings.from_env(db)
        self._services: Services | None = None

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = bootstrap(self.settings)
        return self._services

    def passphrase(self, path: Path) -> bytes:
        if self.settings.passphrase is not None:
            return self.settings.passphrase.encode()
        if self.settings.passphrase_file is not None:
            return self.settings.passphrase_file.read_text().strip().encode()
        if sys.stdin.isatty():
            return str(click.prompt(f"passphrase for {path}", hide_input=True)).encode()
        raise InputError(
            f"no passphrase for {path}: set GONGKAI_PASSPHRASE or GONGKAI_PASSPHRASE_FILE"
        )

    def signer(self, keyfile: Path) -> Signer:
        key = read_private_key(keyfile, self.passphrase(keyfile))
        return Signer(key, self.services.ledger.registry().jurisdiction)

    def close(self) -> None:
        if self._services is not None:
            self._services.close()


pass_state = click.make_pass_decorator(State)


def acting(func: F) -> F:
    opts = [
        click.option("--as", "keyfile", required=True, type=click.Path(exists=True, dir_okay=False,
                     path_type=Path), help="the acting official's private key file"),
        click.option("--idempotency-key", default=None,
                     help="retrying with the same key records nothing twice"),
    ]  # fmt: skip
    for opt in reversed(opts):
        func = opt(func)
    return func


def json_option(func: F) -> F:
    return click.option("--json", "as_json", is_flag=True, help="print JSON for machines")(func)


def emit(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))


def submit(state: State, keyfile: Path, cmd: str, body: dict[str, Any], idem: str | None) -> None:
    signer = state.signer(keyfile)
    result = state.services.ledger.submit(signer.sign(cmd, body, idem=idem))
    report(result)


def report(result: CommandResult) -> None:
    verb = "already recorded (nothing new)" if result.duplicate else "recorded"
    click.echo(f"{result.cmd} {verb}; idempotency key {result.idem}")


class Main(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except LedgerError as error:
            click.echo(f"error: {error.code}: {error.message}", err=True)
            ctx.exit(1)
        except DatabaseURLError as error:
            click.echo(f"error: bad_database_url: {error}", err=True)
            ctx.exit(2)
        finally:
            state = ctx.find_object(State)
            if state is not None:
                state.close()


@click.group(cls=Main)
@click.option("--db", default=None, help="sqlite:///path or postgresql://… (default: GONGKAI_DATABASE_URL or sqlite:///var/gongkai.db)")
@click.pass_context
def main(ctx: click.Context, db: str | None) -> None:
    """gongkai (公开): a verifiable ledger for relief funds and donations."""
    ctx.obj = State(db)


@main.command()
@click.option("--jurisdiction", required=True, help="the town or office whose log this is, e.g. 流长镇")
@click.option("--name", required=True, help="the first administrator's name")
@click.option("--department", type=click.Choice(sorted(DEPARTMENTS)), default="dangzheng", show_default=True)
@click.option("--as", "keyfile", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="the first administrator's private key file")
@pass_state
def init(state: State, jurisdiction: str, name: str, department: str, keyfile: Path) -> None:
    """Found the ledger (genesis): the first administrator signs for themselves."""
    key = read_private_key(keyfile, state.passphrase(keyfile))
    services = state.services
    services.log_key(create=True)
    intake = services.intake_key(create=True)
    admin = Signer(key, jurisdiction)
    body = {"jurisdiction": jurisdiction, "administrator": {
        "name": name, "role": Role.ADMINISTRATOR.value, "department": department,
        "public_key": key.public.b64()}}  # fmt: skip
    report(services.ledger.submit(admin.sign("registry.found", body)))
    # The public feedback channel's key, enrolled by the administrator right away.
    report(services.ledger.submit(admin.sign("official.enrol", {
        "name": "公众留言", "role": Role.INTAKE.value, "department": "dangzheng",
        "public_key": intake.public.b64()})))  # fmt: skip


@main.group()
def keys() -> None:
    """Key files of officials."""


@keys.command("new")
@click.option("--out", required=True, type=click.Path(path_type=Path), help="file stem: writes STEM.key and STEM.pub")
@pass_state
def keys_new(state: State, out: Path) -> None:
    """Write a new Ed25519 key: STEM.key (PKCS#8, passphrase-encrypted) and STEM.pub."""
    key = PrivateKey.generate()
    private, public = write_keypair(key, out, state.passphrase(out.with_suffix(".key")))
    click.echo(f"wrote {private} and {public}; key id {key.key_id}")


@main.group()
def officials() -> None:
    """Enrol, change the role of, revoke and list officials."""


@officials.command("enrol")
@acting
@click.option("--pub", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--department", required=True, type=click.Choice(sorted(DEPARTMENTS)))
@pass_state
def officials_enrol(state: State, keyfile: Path, idempotency_key: str | None, pub: Path, name: str, role: str, department: str) -> None:
    """Enrol an official's public key with a role and department (administrators only)."""
    body = {"name": name, "role": role, "department": department,
            "public_key": read_public_key(pub).b64()}  # fmt: skip
    submit(state, keyfile, "official.enrol", body, idempotency_key)


@officials.command("change-role")
@acting
@click.option("--key-id", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--department", required=True, type=click.Choice(sorted(DEPARTMENTS)))
@pass_state
def officials_change_role(state: State, keyfile: Path, idempotency_key: str | None, key_id: str, role: str, department: str) -> None:
    """Change an official's role and department."""
    submit(state, keyfile, "official.change_role",
           {"key_id": key_id, "role": role, "department": department}, idempotency_key)  # fmt: skip


@officials.command("revoke")
@acting
@click.option("--key-id", required=True)
@click.option("--reason", required=True)
@pass_state
def officials_revoke(state: State, keyfile: Path, idempotency_key: str | None, key_id: str, reason: str) -> None:
    """Revoke an official's key: it signs nothing from now on."""
    submit(state, keyfile, "official.revoke", {"key_id": key_id, "reason": reason}, idempotency_key)


@officials.command("list")
@json_option
@pass_state
def officials_list(state: State, as_json: bool) -> None:
    """List enrolled officials (revoked ones marked)."""
    rows = balances.officials(state.services.read_models())
    if as_json:
        emit(rows)
        return
    for r in rows:
        revoked = f"  已撤销 revoked {r['revoked_at']}" if r["revoked_at"] else ""
        click.echo(f"{r['key_id']}  {r['name']}  {ROLE_LABELS[Role(r['role'])]}  "
                   f"{DEPARTMENTS[r['department']]}{revoked}")  # fmt: skip


def _open_group(kind: str, cmd: str, label: str) -> click.Group:
    group = click.Group(kind + "s", help=f"Open and list {label}.")

    @group.command("open")
    @acting
    @click.option("--code", required=True, help="a short code, e.g. F-DIBAO-2026")
    @click.option("--name", required=True)
    @click.option("--department", required=True, type=click.Choice(sorted(DEPARTMENTS)))
    @click.option("--category", type=click.Choice(sorted(CATEGORIES)), required=kind != "store", default=None)
    @click.option("--restricted", is_flag=True, help="funds only: may serve its category only")
    @pass_state
    def open_(state: State, keyfile: Path, idempotency_key: str | None, code: str, name: str, department: str, category: str | None, restricted: bool) -> None:
        body: dict[str, Any] = {"code": code, "name": name, "department": department}
        if kind != "store":
            body["category"] = category
        if kind == "fund":
            body["restricted"] = restricted
        submit(state, keyfile, cmd, body, idempotency_key)

    open_.help = f"Open a {kind} (administrator, or head of its department)."

    @group.command("list")
    @json_option
    @pass_state
    def list_(state: State, as_json: bool) -> None:
        rows = balances.accounts(state.services.read_models(), kind)
        if as_json:
            emit([r.to_json() for r in rows])
            return
        for r in rows:
            click.echo(_account_line(r))

    list_.help = f"List {label} with their balances."
    return group


def _account_line(r: balances.AccountRow) -> str:
    if r.kind == "store":
        stock = "; ".join(f"{s['item']} {s['grade']} {s['quantity']}{s['unit']}" for s in r.stock())
        return f"{r.code}  {r.name}  [{DEPARTMENTS[r.department]}]  {stock or '(empty)'}"
    restricted = " 专项" if r.restricted else ""
    category = CATEGORIES[r.category][1] if r.category else ""
    return f"{r.code}  {r.name}  {category}{restricted}  {format_yuan(r.balance)}"


main.add_command(_open_group("fund", "fund.open", "funds (资金)"))
main.add_command(_open_group("program", "program.open", "relief programs (救助项目)"))
main.add_command(_open_group("store", "store.open", "goods stores (物资仓库)"))


@main.command("balances")
@json_option
@pass_state
def balances_(state: State, as_json: bool) -> None:
    """Balances of every fund and program, and the stock of every store."""
    rows = balances.accounts(state.services.read_models())
    if as_json:
        emit([r.to_json() for r in rows])
        return
    for kind, title in (("fund", "资金 Funds"), ("program", "项目 Programs"), ("store", "仓库 Stores")):
        click.echo(title)
        for r in (r for r in rows if r.kind == kind):
            click.echo("  " + _account_line(r))


@main.command()
@click.argument("aggregate")
@json_option
@pass_state
def history(state: State, aggregate: str, as_json: bool) -> None:
    """Every event of one aggregate: fund:CODE, program:CODE, store:CODE, receipt:NO or a UUID."""
    ledger = state.services.ledger
    aggregate_id = _aggregate_id(ledger.registry().jurisdiction, aggregate)
    events = []
    for event in ledger.history(aggregate_id):
        payload = payload_of(event.signed)  # type: ignore[attr-defined]
        events.append({"version": event.originator_version, "event": type(event).__qualname__,
                       "cmd": payload["cmd"], "at": payload["at"], "by": payload["by"],
                       "body": payload["body"]})  # fmt: skip
    if not events:
        raise LedgerError(f"no events for {aggregate}")
    if as_json:
        emit(events)
        return
    for e in events:
        click.echo(f"v{e['version']}  {e['at']}  {e['event']}  by {e['by']}  "
                   f"{json.dumps(e['body'], ensure_ascii=False, sort_keys=True)}")  # fmt: skip


def _aggregate_id(jurisdiction: str, text: str) -> UUID:
    kind, _, code = text.partition(":")
    makers = {"fund": ids.fund_id, "program": ids.program_id, "store": ids.store_id,
              "receipt": ids.donation_id, "pledge": ids.pledge_id}  # fmt: skip
    if code and kind in makers:
        return makers[kind](jurisdiction, code)
    try:
        return UUID(text)
    except ValueError:
        raise InputError(
            f"{text!r}: name an aggregate as fund:CODE, program:CODE, store:CODE, receipt:NO, "
            "pledge:NO or a UUID"
        ) from None


# Registered last: these modules add their commands to ``main``.
from api import cli_backup as _cli_backup  # noqa: E402, F401
from api import cli_disclosure as _cli_disclosure  # noqa: E402
from api import cli_log as _cli_log  # noqa: E402
from api import cli_publish as _cli_publish  # noqa: E402, F401
from api import cli_recipients as _cli_recipients  # noqa: E402, F401
from api import cli_record as _cli_record  # noqa: E402
from api import cli_report as _cli_report  # noqa: E402
from api import cli_run as _cli_run  # noqa: E402
from api import cli_trace as _cli_trace  # noqa: E402, F401
from api import cli_verify_site as _cli_verify_site  # noqa: E402, F401

__all__ = ["Fund", "Program", "Store", "_cli_disclosure", "_cli_log", "_cli_record", "_cli_report", "_cli_run", "main"]
