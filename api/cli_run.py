"""``gongkai import``, ``gongkai demo`` and ``gongkai serve``."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from api.bootstrap import Services
from api.cli import State, main, pass_state
from ledger.catalogue import Role
from ledger.commands import Signer
from ledger.errors import ImportRejected


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "keyfile", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_state
def import_(state: State, file: Path, keyfile: Path) -> None:
    """Import a CSV or XLSX file of donations or disbursements: all rows or none.

    A file with bad rows records nothing and lists every bad row and column. Importing the
    same file again records nothing twice.
    """
    from api.importer import import_file

    try:
        report = import_file(state.services.ledger, state.signer(keyfile), file)
    except ImportRejected as rejected:
        click.echo(rejected.message, err=True)
        raise SystemExit(1) from None
    click.echo(
        f"{file.name}: {report.rows} {report.kind} row(s); {report.recorded} recorded, "
        f"{report.duplicates} already recorded; sha256 {report.sha256}"
    )


@main.command()
@click.option("--seed", default=2026, show_default=True, type=int)
@click.option("--scale", default=1, show_default=True, type=int, help="multiply the demo year")
@click.option("--keys-out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="write the demo officials' key files here (passphrase gongkai-demo)")
@click.option("--if-empty", is_flag=True, help="do nothing if the ledger already has data")
@pass_state
def demo(state: State, seed: int, scale: int, keys_out: Path | None, if_empty: bool) -> None:
    """Fill the ledger with one believable year of 流长镇 (deterministic from --seed)."""
    from api.demo import build_demo, write_demo_keys

    ledger = state.services.ledger
    if keys_out is not None:
        for path in write_demo_keys(keys_out, seed):
            click.echo(f"wrote {path}")
    if ledger.is_initialised():
        if if_empty:
            click.echo("the ledger already has data; demo not built")
            return
        raise click.ClickException("the ledger already has data; use an empty database")
    done = 0

    def progress(count: int) -> None:
        nonlocal done
        done += count
        if sys.stderr.isatty():
            click.echo(f"\rdemo: {done:,} commands recorded", nl=False, err=True)

    summary = build_demo(ledger, seed=seed, scale=scale, progress=progress)
    from api.demo import demo_officials
    from api.demo_disclosures import demo_disclosures

    disclosures = demo_disclosures(ledger, demo_officials(seed), seed=seed)
    if sys.stderr.isatty():
        click.echo(err=True)
    services = state.services
    services.log_key(create=True)
    _enrol_intake(services, seed)
    services.runner.catch_up()
    click.echo(f"demo built: {summary}; {disclosures} disclosure steps")


def _enrol_intake(services: Services, seed: int) -> None:
    """Enrol the server's public-feedback key, signed by the demo administrator."""
    from api.demo import JURISDICTION, demo_officials

    intake = services.intake_key(create=True)
    if services.ledger.registry().find(intake.key_id) is not None:
        return
    admin = Signer(demo_officials(seed)["administrator"], JURISDICTION)
    services.ledger.submit(admin.sign("official.enrol", {
        "name": "公众留言", "role": Role.INTAKE.value, "department": "dangzheng",
        "public_key": intake.public.b64()}))  # fmt: skip


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@pass_state
def serve(state: State, host: str, port: int) -> None:
    """Serve the API and the web pages (uvicorn)."""
    import uvicorn

    from api.web import create_app

    uvicorn.run(create_app(state.settings), host=host, port=port, log_level="info")
