"""``gongkai verify-site DIR``: check a published site from its public bundle, with no database."""

from __future__ import annotations

from pathlib import Path

import click

from api.cli import emit, json_option, main
from publish.verify_site import SiteReport, verify_site


@main.command("verify-site")
@click.argument("site", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--log-key", "log_vkey", default=None,
              help="the log's verifier key as published elsewhere (default: the site's bundle/log-key.txt)")
@click.option("--witness-key", "witness_keys", multiple=True,
              help="a witness's verifier key whose cosignature the checkpoint must carry (repeatable)")
@json_option
def verify_site_cmd(site: Path, log_vkey: str | None, witness_keys: tuple[str, ...], as_json: bool) -> None:
    """Recompute every published figure of the site in DIR from its public bundle and check it.

    Checks the checkpoint's signature, every leaf and the root, the tiles, every event's
    signature against the key registry as it stood, the ledger's rules, every figure of
    data/figures.json and every data-figure on every page. Needs no database. Names every
    mismatch and exits 1 if there is any.
    """
    report = verify_site(site, log_key=log_vkey, witness_keys=witness_keys)
    if as_json:
        emit(report.to_json())
    else:
        _print(report)
    if not report.ok:
        raise SystemExit(1)


def _print(report: SiteReport) -> None:
    cp = report.checkpoint
    click.echo(f"site {report.site}")
    click.echo(f"trusted log key: {report.log_key or '(none)'}")
    click.echo(f"  from {report.key_source or '(nowhere)'}")
    if cp:
        click.echo(f"checkpoint {cp['origin']} size {cp['size']} root {cp['root']}")
    cosigners = ", ".join(report.cosigners) or "none"
    verified = ", ".join(report.witnesses_verified) or "none (give --witness-key to check them)"
    click.echo(f"cosigned by: {cosigners}; cosignatures verified: {verified}")
    if report.earlier_checkpoints:
        click.echo(f"earlier checkpoints: {', '.join(map(str, report.earlier_checkpoints))}")
    click.echo(f"{report.leaves} leaves, {report.commands} commands ({report.commands_decided} decided "
               f"again by the ledger's rules), {report.tile_files} tile files")  # fmt: skip
    click.echo(f"{report.figures} figures in data/figures.json; {report.page_figures} figures on "
               f"{report.pages} pages; {report.checksums} checksums")  # fmt: skip
    for problem in report.problems:
        click.echo(f"✘ {problem.describe()}", err=True)
    if report.ok:
        click.echo("OK: every figure recomputes from the signed log ✔")
    else:
        click.echo(f"FAILED: {len(report.problems)} problem(s)", err=True)
