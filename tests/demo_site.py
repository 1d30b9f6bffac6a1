"""Small published sites built without the site generator, for the verifiers' tests.

``publish_site`` takes a ledger with events and does what publishing does for the verifiers:
the read models catch up (an earlier checkpoint is signed part way), the log signs a
checkpoint with a test key, a witness cosigns it, and the site gets the public bundle,
``data/figures.json`` from the read models, one HTML page with a few ``data-figure`` elements,
and the in-browser verifier. ``demo_site()`` is the demo year (built once per test session);
``town_site`` a small town with what the demo lacks (a transfer, a corrected amount, a
revoked key). ``serve`` runs a static HTTP server on 127.0.0.1 in a thread.
"""

from __future__ import annotations

import atexit
import functools
import http.server
import json
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner

from api.cli import main
from api.demo import build_demo
from ledger import ids
from ledger.application import Ledger
from ledger.checkpoint import COSIGNATURE_V1, cosign, verifier_key
from ledger.keys import PrivateKey, write_keypair
from ledger.money import format_yuan
from projections.balances import BalancesProjection
from projections.checkpoints import make_checkpoint, origin_of, store_cosigned
from projections.flows import FlowsProjection
from projections.merkle_log import MerkleProjection
from projections.runner import Runner
from projections.sql import Database
from projections.store import database_env
from publish.bundle import checkpoint_json, write_bundle
from publish.log_replay import figures_of
from publish.site_figures import Figure
from publish.verifier import write_verifier
from tests import builders as b

LOG_KEY = PrivateKey.from_seed(b"gongkai test log key")
PASSPHRASE = b"gongkai test log key passphrase"
WITNESS_KEY = PrivateKey.from_seed(b"gongkai test witness key")
WITNESS = "息烽县政务公开办"
WITNESS_TIME = 1_790_000_000
# Figures shown on the page: totals, and one of each kind found in the table.
PAGE_FIGURES = ("sources/total", "totals/incoming", "totals/outgoing", "totals/idle")
PAGE_KINDS = (("donation/", "/amount"), ("fund/", "/received"), ("goods/", "/in_store"))


@dataclass(frozen=True)
class Site:
    root: Path
    log_key: str  # the log's verifier key string
    witness_key: str  # the witness's cosignature verifier key string
    size: int
    earlier: int  # the size of the earlier checkpoint
    figures: dict[str, int]  # every figure of data/figures.json
    page_figures: tuple[str, ...]  # the ids shown on index.html

    def copy(self, to: Path) -> Path:
        shutil.copytree(self.root, to)
        return to


def page_html(shown: dict[str, Figure]) -> str:
    rows = "\n".join(
        f'<tr><td>{fid}</td><td data-figure="{fid}" data-value="{f.value}">'
        f'{format_yuan(f.value) if f.unit == "fen" else f"{f.value:,} {f.unit}"}</td></tr>'
        for fid, f in shown.items()
    )
    return (
        '<!doctype html>\n<html lang="zh-CN"><head><meta charset="utf-8"><title>流长镇 资金公开</title>'
        f'</head>\n<body><h1>资金来源与去向</h1><table>\n{rows}\n</table>'
        '<p><a href="verify.html">核验</a></p></body></html>\n'
    )


def publish_site(app: Ledger, url: str, site: Path, *, earlier: int) -> Site:
    """Publish what ``app`` holds into ``site``; an earlier checkpoint is made at ``earlier`` leaves."""
    db = Database(url)
    try:
        runner = Runner(app, db, [BalancesProjection(), MerkleProjection(), FlowsProjection()])
        origin = origin_of(app.registry().jurisdiction)
        runner.catch_up(stop=earlier)
        make_checkpoint(db, origin, LOG_KEY)
        runner.catch_up()
        note = cosign(make_checkpoint(db, origin, LOG_KEY), WITNESS, WITNESS_KEY, WITNESS_TIME)
        store_cosigned(db, note, origin, LOG_KEY.public)
        write_bundle(app, db, note, site, log_key=LOG_KEY.public)
        published = figures_of(db)
        (site / "data").mkdir(parents=True)
        (site / "data" / "figures.json").write_text(json.dumps(
            {"checkpoint": checkpoint_json(note),
             "figures": {k: f.to_json() for k, f in published.items()}},
            ensure_ascii=False, indent=1, sort_keys=True,
        ), encoding="utf-8")  # fmt: skip
        shown = [*PAGE_FIGURES]
        for start, end in PAGE_KINDS:
            shown += [k for k in published if k.startswith(start) and k.endswith(end)][:1]
        (site / "index.html").write_text(page_html({k: published[k] for k in shown}), encoding="utf-8")
        write_verifier(site)
        return Site(site, verifier_key(origin, LOG_KEY.public),
                    verifier_key(WITNESS, WITNESS_KEY.public, COSIGNATURE_V1), note.checkpoint.size,
                    earlier, {k: f.value for k, f in published.items()}, tuple(shown))  # fmt: skip
    finally:
        db.close()


def build_demo_site(work: Path) -> Site:
    url = f"sqlite:///{work / 'demo.db'}"
    app = Ledger(env=database_env(url))
    try:
        build_demo(app, scale=1)
        return publish_site(app, url, work / "site", earlier=1000)
    finally:
        app.close()


@functools.cache
def demo_site() -> Site:
    """The demo year's site, built once per test session (about 7 s); never change it in place."""
    work = Path(tempfile.mkdtemp(prefix="gongkai-demo-site-"))
    atexit.register(shutil.rmtree, work, True)
    return build_demo_site(work)


@functools.cache
def portal_site() -> Path:
    """The same demo year published by ``gongkai publish`` (the portal, its bundle, verify.html)
    into a folder beside ``demo_site()``'s, once per session; never change it in place."""
    work = demo_site().root.parent
    write_keypair(LOG_KEY, work / "log", PASSPHRASE)
    env = {"GONGKAI_LOG_KEY_FILE": str(work / "log.key"), "GONGKAI_LOG_KEY_PASSPHRASE": PASSPHRASE.decode(),
           "GONGKAI_ENV": "development"}  # fmt: skip
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{work / 'demo.db'}", "publish", "--out",
                                       str(work / "portal")], env=env, catch_exceptions=False)  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    return work / "portal"


def town_ledger(url: str) -> Ledger:
    """A small town: donations (one corrected), an appropriation, a transfer, allocations,
    payments (one reversed), goods in and out, a pledge, and a revoked official (34 leaves)."""
    app = Ledger(env=database_env(url))
    town = b.found_town(app)
    rec = town.recorder
    town.submit(rec, "donation.receive", b.money_donation(100_000))
    town.submit(rec, "donation.receive", b.money_donation(50_000, receipt_no="R2026-0002"))
    donation = ids.donation_id(b.JURISDICTION, "R2026-0002")
    town.submit(rec, "correction.record", b.correction(
        app, donation, 1, replacement=b.money_donation(40_000, receipt_no="R2026-0002")))  # fmt: skip
    town.submit(rec, "appropriation.receive", {"document_no": "息财社〔2026〕12号", "level": "county",
                                               "fund": "F-DIBAO", "amount": 300_000, "date": b.DATE})  # fmt: skip
    town.submit(rec, "transfer.make", b.transfer(20_000, from_fund="F-DISASTER", to_fund="F-DIBAO"))
    town.submit(rec, "allocation.make", b.allocation(60_000))
    town.submit(rec, "allocation.make", b.allocation(200_000, fund="F-DIBAO", program="P-DIBAO"))
    town.submit(rec, "disbursement.make", b.disbursement(10_000))
    paid = town.submit(rec, "disbursement.make", b.disbursement(5_000, recipient="R-3M8XPA"))
    program = ids.program_id(b.JURISDICTION, "P-FLOOD")
    town.submit(rec, "correction.record", b.correction(app, program, paid.versions[0]))
    town.submit(rec, "donation.receive", b.goods_donation(b.goods_line(100)))
    town.submit(rec, "goods.issue", b.goods_issue(b.goods_line(30), approved_by=town.head.key.key_id))
    town.submit(rec, "pledge.record", {"pledge_no": "P2026-001", "fund": "F-DISASTER",
                                       "donor_class": "individual", "consent": False,
                                       "amount": 9_900, "date": b.DATE})  # fmt: skip
    town.submit(town.admin, "official.revoke", {"key_id": town.other_recorder.key.key_id,
                                                "reason": "调离岗位，停用密钥"})  # fmt: skip
    return app


def town_site(work: Path) -> Site:
    """The small town's site (``town_ledger``), with an earlier checkpoint at 12 leaves."""
    url = f"sqlite:///{work / 'town.db'}"
    app = town_ledger(url)
    try:
        return publish_site(app, url, work / "site", earlier=12)
    finally:
        app.close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yield its base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
