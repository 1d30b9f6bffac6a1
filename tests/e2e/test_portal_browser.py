"""The published portal and ``verify.html`` in a real headless Chromium (Debian's, via
Playwright), served over HTTP from 127.0.0.1.

The demo year's portal (``gongkai publish``) renders its Chinese pages, finds a donation by its
receipt number, and its ``verify.html`` checks it to all ✔ — and to ✘ on a copy with one
published amount altered. On sites made without the generator, the page names an altered
figure, a page showing another amount and a flipped signature (by its leaf); and the vendored
noble-ed25519/noble-hashes fallback (``?engine=js``, what a browser without WebCrypto Ed25519
or a plain-http page uses) gives the same verdicts.
"""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ledger.checkpoint import verifier_key
from ledger.keys import PrivateKey
from tests.browser import chromium
from tests.demo_site import Site, demo_site, portal_site, serve, town_site

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def demo() -> Site:
    return demo_site()


@pytest.fixture
def town(tmp_path: Path) -> Site:
    return town_site(tmp_path)


@pytest.fixture(scope="module")
def portal() -> Path:
    return portal_site()


@dataclass
class Verified:
    verdict: str
    steps: dict[str, tuple[str, str]]  # step -> (result, text)
    rows: dict[str, str]  # figure id -> ok/fail
    engine: str
    errors: list[str] = field(default_factory=list)  # failed requests and page errors


def run_verify_html(browser: Browser, site: Path, query: str = "") -> Verified:
    errors: list[str] = []
    with serve(site) as url:
        page: Page = browser.new_page()
        try:
            page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
            page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}")
                    if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
            page.on("console", lambda m: errors.append(f"console: {m.text}")
                    if m.type == "error" and "404" not in m.text else None)  # fmt: skip
            page.goto(url + "verify.html" + query)
            page.wait_for_selector("#verdict:not([data-verdict=pending])", state="attached", timeout=TIMEOUT_MS)
            steps = {li.get_attribute("data-step") or "": (li.get_attribute("data-result") or "", li.inner_text())
                     for li in page.query_selector_all("#steps li")}  # fmt: skip
            rows = {tr.get_attribute("data-figure-row") or "": tr.get_attribute("data-result") or ""
                    for tr in page.query_selector_all("#figures tbody tr")}  # fmt: skip
            return Verified(page.get_attribute("#verdict", "data-verdict") or "", steps, rows,
                            page.get_attribute("body", "data-engine") or "", errors)  # fmt: skip
        finally:
            page.close()


def test_verify_html_recomputes_transfers_and_corrections(browser: Browser, town: Site) -> None:
    seen = run_verify_html(browser, town.root)

    assert seen.verdict == "ok", seen.steps
    assert set(seen.rows) == set(town.figures) and set(seen.rows.values()) == {"ok"}
    assert "fund/F-DISASTER/transfers_out" in seen.rows and "donation/R2026-0002/amount" in seen.rows
    assert "见证 cosigned by 息烽县政务公开办" in seen.steps["checkpoint"][1]


def test_verify_html_names_a_page_showing_another_amount(browser: Browser, town: Site) -> None:
    page = town.root / "index.html"
    value = town.figures["totals/idle"]
    page.write_text(page.read_text(encoding="utf-8").replace(
        f'data-figure="totals/idle" data-value="{value}"', f'data-figure="totals/idle" data-value="{value - 1}"'),
        encoding="utf-8")  # fmt: skip

    seen = run_verify_html(browser, town.root)

    assert seen.verdict == "fail"
    assert seen.steps["pages"] == ("fail", f"✘ 网页上的数字与 figures.json 一致 The pages show the published "
                                           f"figures：index.html totals/idle: {value - 1} ≠ {value}")  # fmt: skip
    assert set(seen.rows.values()) == {"ok"}


def test_verify_html_names_an_amount_changed_only_where_people_read_it(browser: Browser, town: Site) -> None:
    page = town.root / "index.html"
    page.write_text(page.read_text(encoding="utf-8").replace(">¥100.00<", ">¥1,100.00<"), encoding="utf-8")

    seen = run_verify_html(browser, town.root)

    assert seen.verdict == "fail"
    assert seen.steps["pages"][0] == "fail"
    assert "index.html totals/outgoing: 页面显示 reads “¥1,100.00” ≠ ¥100.00" in seen.steps["pages"][1]


@pytest.mark.parametrize("engine", ["", "?engine=js"], ids=["webcrypto", "vendored"])
def test_verify_html_names_a_flipped_signature_by_its_leaf(browser: Browser, town: Site, engine: str) -> None:
    path = town.root / "bundle" / "events.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    entry = json.loads(lines[20])
    sig = bytearray(base64.b64decode(entry["sig"]))
    sig[3] ^= 0x01
    entry["sig"] = base64.b64encode(bytes(sig)).decode()
    lines[20] = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
    path.write_text("".join(lines), encoding="utf-8")

    seen = run_verify_html(browser, town.root, engine)

    assert seen.verdict == "fail"
    assert seen.steps["signatures"][0] == "fail" and "leaf 20" in seen.steps["signatures"][1]
    assert seen.steps["root"][0] == "fail" and seen.steps["checkpoint"][0] == "ok"


def test_the_vendored_fallback_verifies_the_town_to_all_ticks(browser: Browser, town: Site) -> None:
    seen = run_verify_html(browser, town.root, "?engine=js")

    assert seen.engine == "noble"
    assert seen.verdict == "ok", seen.steps
    assert set(seen.rows.values()) == {"ok"}
    assert seen.errors == []


def test_verify_html_refuses_a_checkpoint_not_signed_by_the_key_given(browser: Browser, town: Site) -> None:
    other = verifier_key("gongkai/流长镇", PrivateKey.from_seed(b"another log").public)

    seen = run_verify_html(browser, town.root, "?key=" + other.replace("+", "%2B"))

    assert seen.verdict == "fail"
    assert seen.steps["checkpoint"][0] == "fail" and "检查点签名无效" in seen.steps["checkpoint"][1]
    assert list(seen.steps) == ["checkpoint"]  # nothing is checked against an untrusted checkpoint


# --- the published demo portal ----------------------------------------------------------------


def watch(page: Page) -> list[str]:
    """Failed requests, script errors and console errors (a CSP violation is one) of a page."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)  # fmt: skip
    page.on("console", lambda m: errors.append(f"console: {m.text}")
            if m.type == "error" and "404" not in m.text else None)  # fmt: skip
    return errors


@pytest.mark.parametrize(("path", "heading"), [
    ("index.html", "流长镇社会公益事业信息公开"), ("flows.html", "资金流向"), ("goods.html", "物资台账"),
    ("donations.html", "捐赠去向查询"), ("deadlines.html", "公开时限记录"), ("items/index.html", "公开事项"),
])  # fmt: skip
def test_the_chinese_pages_of_the_portal_render(browser: Browser, portal: Path, path: str, heading: str) -> None:
    with serve(portal) as url:
        page = browser.new_page()
        errors = watch(page)
        page.goto(url + path)
        lang = page.get_attribute("html", "lang")
        h1 = page.inner_text("h1")
        shown = page.locator("[data-figure]").count()
        nav = page.inner_text("nav")
        page.close()

    assert lang == "zh-CN"
    assert h1.startswith(heading)
    assert "核验" in nav and "捐赠查询" in nav
    assert errors == []
    if path in ("index.html", "flows.html", "goods.html"):
        assert shown > 0  # the figures a reader sees carry their ids for the verifiers


def test_a_donation_is_looked_up_by_its_receipt_number(browser: Browser, portal: Path) -> None:
    figures = json.loads((portal / "data" / "figures.json").read_text(encoding="utf-8"))["figures"]
    receipt = next(k.split("/")[1] for k in sorted(figures) if k.startswith("donation/"))
    amount = figures[f"donation/{receipt}/amount"]["value"]
    with serve(portal) as url:
        page = browser.new_page()
        errors = watch(page)
        page.goto(url + "donations.html")
        page.fill("#receipt", receipt)
        page.click("#lookup button[type=submit]")
        page.wait_for_selector("#lookup-result h2")
        result = page.inner_text("#lookup-result")
        page.click("#lookup-result a")
        page.wait_for_url(f"**/donations/{receipt}.html")
        shown = page.get_attribute(f'[data-figure="donation/{receipt}/amount"]', "data-value")
        heading = page.inner_text("h1")
        page.close()

    assert f"捐赠 {receipt}" in result
    assert f"¥{amount // 100:,}.{amount % 100:02d}" in result
    assert shown == str(amount) and receipt in heading
    assert errors == []


def test_verify_html_checks_the_published_portal_to_all_ticks(browser: Browser, portal: Path) -> None:
    figures = json.loads((portal / "data" / "figures.json").read_text(encoding="utf-8"))["figures"]

    seen = run_verify_html(browser, portal)

    assert seen.verdict == "ok", seen.steps
    assert seen.engine == "webcrypto"  # Chromium's own Ed25519 and SHA-256
    assert set(seen.rows) == set(figures) and set(seen.rows.values()) == {"ok"}
    assert {name: result for name, (result, _) in seen.steps.items()} == {
        "checkpoint": "ok", "signatures": "ok", "root": "ok", "figures": "ok", "pages": "ok"}  # fmt: skip
    assert f"{demo_site().size} 个叶子" in seen.steps["root"][1]
    pages = sum(1 for p in portal.rglob("*.html") if not p.relative_to(portal).as_posix().startswith("bundle/"))
    assert f"{pages} 个页面 pages" in seen.steps["pages"][1]  # every page was reached from the home page
    assert seen.errors == []


def test_verify_html_fails_on_a_portal_copy_with_one_published_amount_altered(
    browser: Browser, portal: Path, tmp_path: Path
) -> None:
    site = tmp_path / "portal"
    shutil.copytree(portal, site)
    path = site / "data" / "figures.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    figure = next(k for k in sorted(data["figures"]) if k.startswith("fund/") and k.endswith("/received"))
    data["figures"][figure]["value"] += 100
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    seen = run_verify_html(browser, site)

    assert seen.verdict == "fail"
    assert {k for k, result in seen.rows.items() if result == "fail"} == {figure}
    assert seen.steps["figures"][0] == "fail" and "1 ✘" in seen.steps["figures"][1]
    assert seen.steps["signatures"][0] == seen.steps["root"][0] == "ok"
    assert seen.steps["pages"][0] == "fail" and f" {figure}: " in seen.steps["pages"][1]  # pages still show the truth


@pytest.mark.parametrize("engine", ["", "?engine=js"], ids=["webcrypto", "vendored"])
def test_verify_html_names_a_batch_signed_row_whose_proof_was_altered(
    browser: Browser, portal: Path, tmp_path: Path, engine: str
) -> None:
    # The demo's monthly payment sheets are batch-signed (one signature per sheet, a Merkle
    # proof per row): the portal above verified them all; here one proof byte is flipped.
    site = tmp_path / "portal"
    shutil.copytree(portal, site)
    path = site / "bundle" / "events.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    index = next(i for i, line in enumerate(lines)
                 if base64.b64decode(json.loads(line)["sig"]).startswith(b"GKB1"))  # fmt: skip
    entry = json.loads(lines[index])
    sig = bytearray(base64.b64decode(entry["sig"]))
    sig[-1] ^= 0x01
    entry["sig"] = base64.b64encode(bytes(sig)).decode()
    lines[index] = json.dumps(entry, ensure_ascii=False, separators=(",", ":"), sort_keys=True) + "\n"
    path.write_text("".join(lines), encoding="utf-8")

    seen = run_verify_html(browser, site, engine)

    assert seen.verdict == "fail"
    assert seen.steps["signatures"][0] == "fail" and f"leaf {index}" in seen.steps["signatures"][1]
    assert seen.steps["checkpoint"][0] == "ok"
