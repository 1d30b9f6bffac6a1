"""``gongkai publish --out DIR``: the static disclosure portal and its public bundle, as of one
signed checkpoint.

Without ``--as-of`` it signs (or takes) the checkpoint of the log as it stands; with it, a
checkpoint file (verified against the log key and this log's root) or the tree size of a stored
checkpoint. The output depends on nothing but the checkpoint: the site's read models are built
as of it (kept beside the log key, so a later publish applies only the new events:
``projections.replay.kept_as_of``), and a publish into the folder of the last one writes only
what changed — per-record pages whose record did not change are kept, the bundle is appended to
(``publish.site_state``) — leaving the folder byte for byte as a publish into an empty folder
would. ``--full`` empties the folder and writes everything. ``--village-boards DIR2``
also prints the village notice-board lists (masked names) into a separate folder, never inside
the public site. After the portal, the public bundle (``publish.bundle``) and the in-browser
verifier (``publish.verifier``) are written into the same folder.

``--base-url`` is the address the site will be served at: the notice-board sheets' QR codes
link there (without it they hold paths relative to the site's root). ``--org-id`` is the town's
organisation identifier in the IATI and 360Giving exports (``CN-USCC-`` + its unified social
credit code; the default is made up for the demo, ``publish.organisation``). ``--sheet-font``
names the Chinese font the sheets embed (default: the first free CJK font of Debian found,
``publish.sheet_font``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click

from api.bootstrap import Services
from api.cli import State, emit, json_option, main, pass_state
from ledger.checkpoint import SignedNote, verify_log_signature
from ledger.errors import InputError
from projections import checkpoints
from projections.log_clock import log_time
from projections.merkle_log import tree, tree_size
from projections.replay import kept_as_of
from projections.sql import Database
from publish.apart import Apart
from publish.books import Stamp
from publish.bundle import write_bundle_apart
from publish.organisation import DEMO_ORG_ID, OrganisationError, check_org_id
from publish.sheet_font import FontFile, SheetError, find_font
from publish.sheets import check_base_url
from publish.site import (
    MARKER,
    SiteError,
    SiteOptions,
    build_site,
    prepare,
    replaceable,
    site_projections,
)
from publish.site_state import Previous, SiteState, render_version
from publish.verifier import write_verifier
from publish.village_board import BOARD_MARKER, write_village_boards


def signed_checkpoint(services: Services, live: Database, as_of: str | None) -> SignedNote:
    """The checkpoint to publish: the latest (signed now if the log grew), a file, or a size."""
    if as_of is None:
        return checkpoints.make_checkpoint(live, services.origin, services.log_key())
    path = Path(as_of)
    if path.is_file():
        note = SignedNote.parse(path.read_text(encoding="utf-8"))
        checkpoint = verify_log_signature(note, services.origin, services.log_key().public)
        if (
            checkpoint.size > tree_size(live)
            or tree(live, checkpoint.size).root() != checkpoint.root
        ):
            raise InputError(
                f"{as_of}: this checkpoint's root is not this log's root at size {checkpoint.size}"
            )
        return note
    if not as_of.isdigit():
        raise InputError(f"--as-of {as_of!r} is neither a checkpoint file nor a tree size")
    found = [n for n in checkpoints.all_checkpoints(live) if n.checkpoint.size == int(as_of)]
    if not found:
        raise InputError(f"--as-of {as_of}: no signed checkpoint of that size is stored "
                         "(`gongkai log checkpoint` signs the current one; or give a checkpoint file)")  # fmt: skip
    return found[0]


def _inside(inner: Path, outer: Path) -> bool:
    inner, outer = inner.resolve(), outer.resolve()
    return inner == outer or outer in inner.parents


@main.command("publish")
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="the site's folder (emptied first if it holds an earlier site)",
)
@click.option(
    "--as-of",
    default=None,
    help="a checkpoint file, or the tree size of a stored checkpoint (default: the latest)",
)
@click.option(
    "--village-boards",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="also print the village notice-board lists (masked names) into this separate folder",
)
@click.option(
    "--base-url",
    default="",
    show_default="'' (paths relative to the site's root)",
    help="the address the site will be served at; the notice-board sheets' QR codes link there",
)
@click.option(
    "--org-id",
    default=DEMO_ORG_ID,
    show_default=True,
    help="the town's identifier in the IATI and 360Giving exports: CN-USCC- + its unified "
    "social credit code (the default is made up for the demo)",
)
@click.option(
    "--sheet-font",
    default=None,
    metavar="FILE[#INDEX]",
    help="the Chinese TrueType font the sheets embed (default: fonts-wqy-microhei or another "
    "free CJK font of Debian)",
)
@click.option(
    "--full",
    is_flag=True,
    help="ignore the last publish into this folder: empty it and write every file again",
)
@json_option
@pass_state
def publish(
    state: State,
    out: Path,
    as_of: str | None,
    village_boards: Path | None,
    base_url: str,
    org_id: str,
    sheet_font: str | None,
    full: bool,
    as_json: bool,
) -> None:
    """Render the public portal (Chinese, with English under en/) and its bundle as of one checkpoint."""  # fmt: skip
    if village_boards is not None and (
        _inside(village_boards, out) or _inside(out, village_boards)
    ):
        raise InputError("--village-boards must be a folder apart from the public site (--out)")
    try:
        options = SiteOptions(
            org_id=check_org_id(org_id),
            base_url=check_base_url(base_url),
            font=find_font(FontFile.parse(sheet_font) if sheet_font else None),
            font_cache=state.settings.log_key_file.parent / "sheet-fonts",  # beside the kept read models
        )
    except (OrganisationError, SheetError) as error:
        raise InputError(str(error)) from None
    started = time.monotonic()
    services = state.services
    live = services.read_models()
    note = signed_checkpoint(services, live, as_of)
    cp = note.checkpoint
    if cp.size == 0:
        raise InputError("the log is empty: there is nothing to publish")
    # The site's read models as of the checkpoint, and what the last publish wrote, are kept
    # beside the log key between publishes: a publish after new events applies only those to
    # the read models (``kept_as_of``) and writes only the files that change (``site_state``).
    kept = state.settings.log_key_file.parent
    site_state = SiteState(kept / "publish-site.db")
    try:
        try:
            replaceable(out)
            if village_boards is not None:
                replaceable(village_boards, BOARD_MARKER)
                prepare(village_boards, BOARD_MARKER)
            version = render_version()
            previous = (
                None if full or not (out / MARKER).is_file() else site_state.begin(out, version)
            )
            if previous is None:
                site_state.begin(out, "")  # cleared until this publish ends
                prepare(out)
        except SiteError as error:
            raise InputError(str(error)) from None
        data = _publish(
            services,
            live,
            note,
            out,
            village_boards,
            options,
            previous,
            kept / "publish-read-models.db",
        )
        site_state.save(out, version, data.pop("entries"), data.pop("mark"), previous)
    finally:
        site_state.close()
    data["seconds"] = round(time.monotonic() - started, 2)
    if as_json:
        emit(data)
        return
    boards = data["village_board_pages"]
    click.echo(f"published {data['pages']} pages, {data['figures']} figures, {data['items']} items "
               f"({data['files']} files, {data['bytes']:,} bytes; {data['reused']} pages kept from the last publish) "
               f"as of {cp.origin} size {cp.size} into {out} in {data['seconds']} s"
               + (f"; {boards} village-board pages into {village_boards}" if boards else ""))  # fmt: skip


APPEND_HERE = 10_000  # entries added to the bundle that this process writes itself, at the end


def _publish(services: Services, live: Database, note: SignedNote, out: Path, village_boards: Path | None,
             options: SiteOptions, previous: Previous | None, kept: Path) -> dict[str, Any]:  # fmt: skip
    """Render the site and its bundle (``previous``: what the last publish into ``out`` left)."""
    cp = note.checkpoint
    jurisdiction = services.ledger.registry().jurisdiction
    timings: dict[str, float] = {}
    # The bundle depends on the log alone: it is written by a process of its own while this one
    # builds the read models and the pages (spawned, not forked: it opens its own connections),
    # unless it is only appended to by a few entries, which costs less than a new interpreter.
    appended = previous is not None and previous.bundle is not None and cp.size - previous.bundle.size <= APPEND_HERE
    with Apart("here" if appended else "spawn", write_bundle_apart, services.settings.database_url, note.text(), out,
               services.log_key().public, previous.bundle if previous else None) as bundle_job:  # fmt: skip
        mark = time.monotonic()
        with kept_as_of(services.ledger, live, cp.size, site_projections(), kept) as db:
            timings["read_models"] = round(time.monotonic() - mark, 2)
            mark = time.monotonic()
            stamp = Stamp(jurisdiction, cp.origin, cp.size, cp.root, log_time(db) or "")
            boards = 0
            if village_boards is not None:
                boards = write_village_boards(db, services.ledger, stamp, village_boards)
            # The event store is not read any more: closing it now stops its connection pool's
            # threads (PostgreSQL), so the site's helpers may fork (``publish.apart``).
            services.ledger.close()
            try:
                summary = build_site(db, stamp, out, options, previous=previous.files if previous else None,
                                     version=render_version())  # fmt: skip
            except SheetError as error:  # e.g. a character the font lacks
                raise InputError(str(error)) from None
        timings["pages"] = round(time.monotonic() - mark, 2)
        mark = time.monotonic()
        bundle, seconds = bundle_job.result()
        timings["bundle"] = round(seconds, 2)  # beside the two phases above
        timings["bundle_wait"] = round(time.monotonic() - mark, 2)
    write_verifier(out)
    return {"out": str(out), "checkpoint": stamp.to_json(), "log_time": stamp.log_time,
            "files": summary.files, "bytes": summary.bytes, "pages": summary.pages,
            "items": summary.items, "figures": summary.figures, "donations": summary.donations,
            "sheets": summary.sheets, "village_board_pages": boards,
            "incremental": previous is not None, "reused": summary.reused, "removed": summary.removed,
            "timings": timings, "entries": summary.entries, "mark": bundle}  # fmt: skip
