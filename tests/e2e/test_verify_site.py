"""``gongkai verify-site`` end to end: a published site checked from its public bundle alone.

It passes on the demo year's site and names what was changed on a tampered copy: a figure by
its id, a page by its path, an event line by its leaf. Most tampering is done on a small
town's site (fast); the demo's own site is built once per session (about 7 s) and each check
of it takes about 4 s.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from api.cli import main
from ledger.canonical import canonical
from ledger.checkpoint import verifier_key
from ledger.commands import Signer
from ledger.keys import PrivateKey
from projections.checkpoints import make_checkpoint, origin_of
from projections.flows import FlowsProjection
from projections.merkle_log import MerkleProjection
from projections.runner import Runner
from projections.sql import Database
from publish.bundle import write_bundle
from publish.verify_site import SiteReport, verify_site
from tests import builders as b
from tests.demo_site import LOG_KEY, Site, demo_site, town_ledger, town_site


@pytest.fixture(scope="module")
def demo() -> Site:
    return demo_site()


@pytest.fixture
def town(tmp_path: Path) -> Site:
    return town_site(tmp_path)


def gongkai(*args: str, db: Path | None = None) -> Result:
    env = {"GONGKAI_DATABASE_URL": f"sqlite:///{db}"} if db else {}
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def problems(report: SiteReport, check: str) -> list[str]:
    return [f"{p.where}: {p.message}" for p in report.problems if p.check == check]


# --- tampering ------------------------------------------------------------------------------


def edit_figure(site: Path, figure_id: str, change: Callable[[dict[str, Any]], None]) -> None:
    path = site / "data" / "figures.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    change(data["figures"].setdefault(figure_id, {"value": 1, "unit": "fen", "label": "?"}))
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def edit_page_value(site: Path, figure_id: str, delta: int) -> None:
    path = site / "index.html"
    text, count = re.subn(
        rf'data-figure="{re.escape(figure_id)}" data-value="(-?\d+)"',
        lambda m: f'data-figure="{figure_id}" data-value="{int(m.group(1)) + delta}"',
        path.read_text(encoding="utf-8"),
    )
    assert count == 1
    path.write_text(text, encoding="utf-8")


def event_lines(site: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (site / "bundle" / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def write_events(site: Path, lines: list[dict[str, Any]]) -> None:
    text = "".join(json.dumps(line, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
                   for line in lines)  # fmt: skip
    (site / "bundle" / "events.jsonl").write_text(text, encoding="utf-8")


def first_line(lines: list[dict[str, Any]], cmd: str, after: int = 0) -> int:
    return next(i for i, line in enumerate(lines) if i >= after and json.loads(line["signed"])["cmd"] == cmd)


def flip_signature(site: Path, index: int) -> None:
    lines = event_lines(site)
    sig = bytearray(base64.b64decode(lines[index]["sig"]))
    sig[7] ^= 0x01
    lines[index]["sig"] = base64.b64encode(bytes(sig)).decode()
    write_events(site, lines)


# --- the demo year's site -------------------------------------------------------------------


def test_verify_site_passes_on_the_demo_site(demo: Site) -> None:
    result = gongkai("verify-site", str(demo.root))

    assert result.exit_code == 0, result.output + result.stderr
    assert "OK: every figure recomputes from the signed log" in result.output
    assert f"{demo.size} leaves" in result.output
    assert f"{len(demo.figures)} figures in data/figures.json" in result.output
    assert "from bundle/log-key.txt" in result.output  # it says which key it trusted
    assert "cosigned by: 息烽县政务公开办" in result.output
    assert f"earlier checkpoints: {demo.earlier}" in result.output


def test_an_altered_published_amount_fails_naming_the_figure(demo: Site, tmp_path: Path) -> None:
    site = demo.copy(tmp_path / "site")
    figure = next(k for k in demo.figures if k.startswith("fund/") and k.endswith("/received")
                  and k not in demo.page_figures)  # fmt: skip
    edit_figure(site, figure, lambda f: f.update(value=f["value"] + 100))

    result = gongkai("verify-site", str(site))

    assert result.exit_code == 1
    wanted = demo.figures[figure]
    assert f"figure {figure}: the published figure is not what the log gives" in result.stderr
    assert f"published ¥{(wanted + 100) // 100:,}.00 ({wanted + 100} fen)" in result.stderr
    assert f"recomputed ¥{wanted // 100:,}.00 ({wanted} fen)" in result.stderr
    assert "FAILED: 1 problem(s)" in result.stderr


def test_an_altered_event_line_fails_naming_its_leaf(demo: Site, tmp_path: Path) -> None:
    site = demo.copy(tmp_path / "site")
    lines = event_lines(site)
    index = first_line(lines, "disbursement.make", after=3000)
    lines[index]["signed"] = lines[index]["signed"].replace('"amount":', '"amount":1', 1)
    write_events(site, lines)

    report = verify_site(site)

    assert f"leaf {index}: root mismatch: leaf {index} is not the one the published tiles hold: " \
           "that entry was changed" in problems(report, "log")
    assert any(p.startswith(f"leaf {index}: disbursement.make: the Ed25519 signature")
               for p in problems(report, "signature"))  # fmt: skip
    changed = {p.where for p in report.problems if p.check == "figure"}
    assert "totals/outgoing" in changed  # the altered amount reaches the figures too


def test_a_flipped_signature_byte_fails_naming_its_leaf(demo: Site, tmp_path: Path) -> None:
    site = demo.copy(tmp_path / "site")
    flip_signature(site, 500)

    result = gongkai("verify-site", str(site))

    assert result.exit_code == 1
    assert "signature leaf 500: " in result.stderr
    assert "does not verify over the signed text" in result.stderr
    assert "log leaf 500: root mismatch" in result.stderr


# --- a small town's site --------------------------------------------------------------------


def test_the_town_site_passes_with_its_keys_given(town: Site) -> None:
    report = verify_site(town.root, log_key=town.log_key, witness_keys=[town.witness_key])

    assert report.ok, [p.describe() for p in report.problems]
    assert report.key_source == "--log-key"
    assert report.witnesses_verified == ["息烽县政务公开办"]
    assert (report.leaves, report.commands, report.commands_decided) == (34, 26, 26)
    assert report.earlier_checkpoints == [12]
    assert report.figures == len(town.figures) and report.page_figures == len(town.page_figures)


def test_a_checkpoint_not_signed_by_the_trusted_key_fails(town: Site) -> None:
    other = verifier_key(origin_of(b.JURISDICTION), PrivateKey.from_seed(b"another log").public)

    report = verify_site(town.root, log_key=other)

    assert any("not signed by the trusted log key" in p for p in problems(report, "checkpoint"))
    assert "bundle/log-key.txt: the site publishes another log key than the one trusted" in problems(
        report, "checkpoint")  # fmt: skip


def test_a_witness_that_did_not_cosign_is_named(town: Site) -> None:
    stranger = verifier_key("某审计事务所", PrivateKey.from_seed(b"stranger").public, 0x04)

    report = verify_site(town.root, witness_keys=[stranger])

    assert problems(report, "checkpoint") == [
        "bundle/checkpoint: witness cosignature: the checkpoint carries no cosignature of witness 某审计事务所"
    ]


def test_an_altered_page_value_fails_naming_page_and_figure(town: Site) -> None:
    edit_page_value(town.root, "totals/outgoing", 1)

    report = verify_site(town.root)

    assert [p.describe() for p in report.problems] == [
        "page index.html:6 totals/outgoing: the page reads '¥100.00', not the figure it is marked with "
        "(published ¥100.01 (10001 fen))",
        "page index.html:6 totals/outgoing: the page's figure differs from figures.json (¥100.00 (10000 fen)) "
        "and is not what the log gives (published ¥100.01 (10001 fen), recomputed ¥100.00 (10000 fen))"
    ]


def test_an_amount_changed_only_where_people_read_it_is_named(town: Site) -> None:
    page = town.root / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(">¥100.00<", ">¥1,100.00<"), encoding="utf-8")

    report = verify_site(town.root)

    assert [p.describe() for p in report.problems] == [
        "page index.html:6 totals/outgoing: the page reads '¥1,100.00', not the figure it is marked with "
        "(published ¥100.00 (10000 fen))"
    ]


def test_a_published_figure_the_log_cannot_give_is_named(town: Site) -> None:
    edit_figure(town.root, "fund/F-NOWHERE/received", lambda f: None)

    report = verify_site(town.root)

    assert problems(report, "figure") == ["fund/F-NOWHERE/received: no such figure can be computed from the log"]


def test_a_command_signed_by_a_revoked_key_is_named(town: Site) -> None:
    lines = event_lines(town.root)
    forged = Signer(b.key("other_recorder"), b.JURISDICTION).sign(
        "donation.receive", b.money_donation(1_000, receipt_no="R2026-0999"))  # fmt: skip
    lines.append({"index": len(lines), "signed": forged.signed.decode(), "key_id": forged.key_id,
                  "sig": base64.b64encode(forged.signature).decode(), "sealed": None})  # fmt: skip
    write_events(town.root, lines)

    report = verify_site(town.root)

    revoked = problems(report, "signature")
    assert len(revoked) == 1 and revoked[0].startswith(f"leaf 34: donation.receive: key {forged.key_id} was revoked")
    assert "bundle/events.jsonl: the number of leaves is not the checkpoint's size" in problems(report, "log")


def test_history_rewritten_under_an_earlier_checkpoint_is_named(town: Site) -> None:
    # The administrator's own key re-signs an early entry: every signature is valid, the
    # history is not the one the checkpoints fixed.
    lines = event_lines(town.root)
    payload = json.loads(lines[3]["signed"])
    payload["body"]["name"] = "冒名顶替"
    signed = canonical(payload)
    lines[3].update(signed=signed.decode(), sig=base64.b64encode(b.key("admin").sign(signed)).decode())
    write_events(town.root, lines)

    report = verify_site(town.root)

    assert problems(report, "signature") == []
    assert any(p.startswith("bundle/checkpoints/12: the log's first leaves no longer give this earlier")
               for p in problems(report, "checkpoint"))  # fmt: skip
    assert any(p.startswith("leaf 3: root mismatch: leaf 3 is not the one the published tiles hold")
               for p in problems(report, "log"))  # fmt: skip


def test_a_changed_tile_is_named_while_the_events_still_give_the_root(town: Site) -> None:
    tile = town.root / "bundle" / "tile" / "0" / "000.p" / "34"
    data = bytearray(tile.read_bytes())
    data[32 * 5] ^= 0x01
    tile.write_bytes(bytes(data))

    report = verify_site(town.root)

    assert problems(report, "tiles") == [
        "tile/0/000.p/34: hash 5 (leaf 5) differs from the one recomputed from events.jsonl"
    ]
    assert problems(report, "log") == []


def test_figures_stated_for_another_checkpoint_are_refused(town: Site) -> None:
    path = town.root / "data" / "figures.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    data["checkpoint"]["size"] = town.earlier
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    report = verify_site(town.root)

    assert problems(report, "figures") == [
        "data/figures.json: the figures are stated for another checkpoint than the bundle's"
    ]


def test_a_removed_line_is_a_size_mismatch(town: Site) -> None:
    write_events(town.root, event_lines(town.root)[:-1])

    report = verify_site(town.root)

    assert problems(report, "log") == ["bundle/events.jsonl: the number of leaves is not the checkpoint's size"]


def test_checksums_of_the_site_are_checked(town: Site) -> None:
    listed = ["data/figures.json", "index.html"]
    (town.root / "SHA256SUMS").write_text("".join(
        f"{hashlib.sha256((town.root / name).read_bytes()).hexdigest()}  {name}\n" for name in listed))  # fmt: skip
    assert verify_site(town.root).ok
    with (town.root / "index.html").open("a", encoding="utf-8") as page:
        page.write("<!-- changed -->\n")

    report = verify_site(town.root)

    assert [p.where for p in report.problems] == ["SHA256SUMS:2"]
    assert report.problems[0].message == "index.html does not match its SHA-256"


def test_verify_site_json_report_needs_no_database(town: Site, tmp_path: Path) -> None:
    nowhere = tmp_path / "no" / "such.db"

    result = gongkai("verify-site", str(town.root), "--json", db=nowhere)

    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["ok"] is True and report["problems"] == []
    assert report["checkpoint"]["size"] == 34 and report["leaves"] == 34
    assert not nowhere.exists() and not nowhere.parent.exists()


# --- the bundle -----------------------------------------------------------------------------


def test_the_same_checkpoint_gives_the_same_bundle_bytes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'town.db'}"
    app = town_ledger(url)
    db = Database(url)
    try:
        Runner(app, db, [MerkleProjection(), FlowsProjection()]).catch_up()
        note = make_checkpoint(db, origin_of(b.JURISDICTION), LOG_KEY)
        write_bundle(app, db, note, tmp_path / "one", log_key=LOG_KEY.public)
        write_bundle(app, db, note, tmp_path / "two", log_key=LOG_KEY.public)
        first, second = tmp_path / "one" / "bundle", tmp_path / "two" / "bundle"
    finally:
        db.close()
        app.close()

    def tree(root: Path) -> dict[str, bytes]:
        return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}

    assert tree(first) == tree(second)
    assert {"checkpoint", "log-key.txt", "events.jsonl", "README.txt", "tile/0/000.p/34",
            "tile/entries/000.p/34"} <= set(tree(first))  # fmt: skip


def test_event_lines_hold_the_public_part_and_the_sealed_digest(demo: Site) -> None:
    lines = event_lines(demo.root)

    assert len(lines) == demo.size
    assert all(set(line) == {"index", "signed", "sig", "key_id", "sealed"} for line in lines)
    assert [line["index"] for line in lines] == list(range(demo.size))
    sealed = [line for line in lines if line["sealed"] is not None]
    assert sealed and all(json.loads(line["signed"])["sealed"] == line["sealed"] for line in sealed)


def test_the_readme_recipe_recomputes_the_root_by_hand(town: Site) -> None:
    readme = (town.root / "bundle" / "README.txt").read_text(encoding="utf-8")
    recipe = textwrap.dedent(readme.split("python3 - <<'PY'\n", 1)[1].split("   PY\n", 1)[0])
    checkpoint = (town.root / "bundle" / "checkpoint").read_text(encoding="utf-8").split("\n")

    done = subprocess.run([sys.executable, "-c", recipe], cwd=town.root / "bundle",
                          capture_output=True, text=True, check=True)  # fmt: skip

    assert done.stdout.split() == [checkpoint[1], checkpoint[2]]
