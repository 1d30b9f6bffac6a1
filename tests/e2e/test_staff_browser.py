"""The staff web app in a real headless Chromium (Debian's, via Playwright), against the demo year.

The app runs under uvicorn on 127.0.0.1 (a free port) over a SQLite ledger holding the demo year;
officials sign in with the demo key files. The story of issue 7: the recorder signs in and
records a donation through the form, drafts its disclosure and submits it; the department head
reviews it from the inbox, the leader in charge approves it, the recorder publishes it; it is
then public in the API and on the portal. Every request the browser made is inspected: none
carries the key file, the passphrase or the private key in any encoding.
"""

from __future__ import annotations

import base64
import csv
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
import uvicorn
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from api.cli import main
from api.config import Settings
from api.demo import DEMO_PASSPHRASE, build_demo, write_demo_keys
from api.web import create_app
from ledger.application import Ledger
from ledger.keys import PrivateKey, write_keypair
from projections.store import database_env
from tests.browser import chromium

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page, Request

TIMEOUT_MS = 15_000
ITEM_NO = "GK-WEB-0001"
RECEIPT = "LC2026-WEB-0001"


@dataclass
class Staff:
    url: str
    db_url: str
    keys: Path
    log_key: Path
    work: Path


@dataclass
class Traffic:
    """Every request the browser sent: (method, url, body)."""

    requests: list[tuple[str, str, bytes]] = field(default_factory=list)

    def record(self, request: Request) -> None:
        self.requests.append((request.method, request.url, request.post_data_buffer or b""))

    def posted(self, path: str) -> list[bytes]:
        return [body for method, url, body in self.requests if method == "POST" and url.endswith(path)]


def publish(db_url: str, log_key: Path, site: Path) -> None:
    """``gongkai publish --out SITE``: the portal the app serves at /portal/."""
    result = CliRunner().invoke(main, ["--db", db_url, "publish", "--out", str(site)],
                                env={"GONGKAI_LOG_KEY_FILE": str(log_key)})  # fmt: skip
    assert result.exit_code == 0, result.output


def _free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def staff(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Staff]:
    work = tmp_path_factory.mktemp("staff")
    db_url = f"sqlite:///{work / 'town.db'}"
    ledger = Ledger(env=database_env(db_url))
    try:
        build_demo(ledger)
    finally:
        ledger.close()
    write_demo_keys(work / "keys", 2026)
    settings = Settings(database_url=db_url, log_key_file=work / "log.key", intake_key_file=work / "intake.key",
                        site_dir=work / "site")  # fmt: skip
    write_keypair(PrivateKey.generate(), work / "log", settings.log_passphrase())
    publish(db_url, work / "log.key", work / "site")  # as `make run` does before serving
    app = create_app(settings)
    services = app.state.services
    services.read_models()  # catch the read models up before the first page is timed
    sock = _free_socket()
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield Staff(f"http://127.0.0.1:{sock.getsockname()[1]}", db_url, work / "keys", work / "log.key", work)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        services.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(locale="zh-CN")
    ctx.set_default_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def traffic(context: BrowserContext) -> Traffic:
    seen = Traffic()
    context.on("request", seen.record)
    return seen


def page_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.request.method} {r.url}")
            if r.status >= 500 else None)  # fmt: skip
    return errors


def sign_in(page: Page, staff: Staff, who: str, passphrase: str = DEMO_PASSPHRASE) -> None:
    page.goto(f"{staff.url}/staff/")
    page.set_input_files("#keyfile", str(staff.keys / f"{who}.key"))
    page.fill("#passphrase", passphrase)
    page.click("#signin-button")
    page.wait_for_selector("#waiting")  # the signed-in home page
    page.wait_for_selector("html[data-ready]")


def sign_out(page: Page) -> None:
    page.click("#sign-out")
    page.wait_for_selector("#signin")


def open_page(page: Page, staff: Staff, path: str) -> None:
    page.goto(f"{staff.url}{path}")
    page.wait_for_selector("html[data-ready]")
    assert page.is_hidden("#key-missing"), "the signing key should be loaded for this official"


def sign_form(page: Page, form: str = "form.signed") -> str:
    """Submit a signing form; return its status text once signed (fail on a refusal)."""
    page.click(f"{form} button[type=submit]")
    status = page.wait_for_selector(f"{form} [data-status].ok, {form} [data-status].error")
    assert status is not None
    text = status.inner_text()
    assert "ok" in (status.get_attribute("class") or ""), text
    return text


def inbox_step(page: Page, staff: Staff, group: str) -> None:
    open_page(page, staff, "/staff/inbox")
    item = f'[data-group="{group}"] article[data-item="{ITEM_NO}"]'
    page.wait_for_selector(item)
    if group in ("disclosure.review", "disclosure.approve"):
        page.fill(f"{item} textarea[name=opinion]", "同意公开。")
    assert "已签名并记录" in sign_form(page, f"{item} form")
    page.wait_for_selector(item, state="detached")  # the inbox reloads without it


def secrets_of(staff: Staff, who: str) -> list[bytes]:
    """Every form the key of ``who`` could leak in: the file, its parts, the passphrase, the key."""
    pem = (staff.keys / f"{who}.key").read_bytes()
    key = serialization.load_pem_private_key(pem, password=DEMO_PASSPHRASE.encode())
    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())  # fmt: skip
    pkcs8 = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption())  # fmt: skip
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    found = [pem, body, DEMO_PASSPHRASE.encode(), raw, raw.hex().encode(), pkcs8, pkcs8.hex().encode()]
    for blob in (raw, pkcs8):
        found += [base64.b64encode(blob), base64.urlsafe_b64encode(blob).rstrip(b"=")]
    return found + [line for line in pem.splitlines() if len(line) >= 40 and not line.startswith(b"-----")]


def test_a_donation_is_recorded_reviewed_approved_and_published_in_the_browser(
    staff: Staff, context: BrowserContext, traffic: Traffic
) -> None:
    page = context.new_page()
    errors = page_errors(page)

    # 经办人 records a donation through the form, signed in the browser.
    sign_in(page, staff, "recorder")
    open_page(page, staff, "/staff/record/donation")
    page.fill("#f-receipt_no", RECEIPT)
    page.select_option("#f-donor_class", "enterprise")
    page.fill("#f-donor_name", "贵州黔丰建材有限公司")
    page.check("input[name=consent]")
    page.select_option("#f-fund", "F-DONATION")
    page.fill("#f-amount", "1.5万")
    assert "donation.receive" in sign_form(page)
    donation = httpx.get(f"{staff.url}/api/v1/trace/{RECEIPT}").json()["donation"]
    assert (donation["amount_fen"], donation["donor_name"]) == (1_500_000, "贵州黔丰建材有限公司")

    # … drafts its disclosure (a donation-trace report bound to the log) and submits it.
    open_page(page, staff, "/staff/disclosures/new")
    page.fill("#f-item_no", ITEM_NO)
    page.fill("#f-title", "贵州黔丰建材有限公司捐赠1.5万元的接收与使用情况")
    page.select_option("#f-area", "disaster")
    page.select_option("#f-report", "trace")
    page.fill("#f-receipt", RECEIPT)
    assert "disclosure.submit" in sign_form(page)
    sign_out(page)

    # 部门负责人 reviews it from the inbox; 分管领导 approves it; the recorder publishes it.
    sign_in(page, staff, "department-head")
    inbox_step(page, staff, "disclosure.review")
    sign_out(page)
    sign_in(page, staff, "leader")
    inbox_step(page, staff, "disclosure.approve")
    sign_out(page)
    sign_in(page, staff, "recorder")
    inbox_step(page, staff, "disclosure.publish")
    sign_out(page)

    # It is public in the API, with its signed trail …
    published = {r["item_no"]: r for r in httpx.get(f"{staff.url}/api/v1/disclosures").json()}
    assert published[ITEM_NO]["status"] == "published"
    assert set(published[ITEM_NO]["channels"]) == {"notice_board", "county_portal"}
    trail = httpx.get(f"{staff.url}/api/v1/disclosures/{ITEM_NO}").json()["trail"]
    assert [t["official"] for t in trail] == ["陈晓燕", "陈晓燕", "张国华", "胡建军", "陈晓燕"]

    # … and, once `gongkai publish` renders the portal again, on the portal the app serves.
    publish(staff.db_url, staff.log_key, staff.work / "site")
    page.goto(f"{staff.url}/portal/items/index.html")
    page.click(f'a[href$="{ITEM_NO}.html"]')
    page.wait_for_selector('h1:has-text("贵州黔丰建材有限公司捐赠1.5万元的接收与使用情况")')
    assert "胡建军" in page.inner_text("body")  # the signed trail: who approved it

    # The keys never left the browser: no request carried any form of them.
    assert traffic.posted("/api/v1/session") and traffic.posted("/api/v1/commands")
    for who in ("recorder", "department-head", "leader"):
        for secret in secrets_of(staff, who):
            for method, url, body in traffic.requests:
                assert secret not in body, f"{who}'s key material in the body of {method} {url}"
                assert secret.decode("latin-1") not in url, f"{who}'s key material in {url}"
    assert errors == []


def test_the_key_kept_for_the_session_cannot_be_read_back_by_script(staff: Staff, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, staff, "auditor")
    outcome = page.evaluate("""async () => {
        const { loadKey } = await import('/static/staff/keystore.js');
        const record = await loadKey();
        try { await crypto.subtle.exportKey('pkcs8', record.key); return 'exported'; }
        catch (error) { return `${record.key.extractable}:${error.name}`; }
    }""")
    assert outcome == "false:InvalidAccessError"
    sign_out(page)
    assert page.evaluate("""async () => {
        const { loadKey } = await import('/static/staff/keystore.js');
        return await loadKey();
    }""") is None


def test_a_wrong_passphrase_is_refused_with_a_clear_error(staff: Staff, context: BrowserContext, traffic: Traffic) -> None:
    page = context.new_page()
    page.goto(f"{staff.url}/staff/")
    page.set_input_files("#keyfile", str(staff.keys / "recorder.key"))
    page.fill("#passphrase", "not-the-passphrase")
    page.click("#signin-button")
    status = page.wait_for_selector("#signin-status.error")
    assert status is not None
    assert "口令错误" in status.inner_text()
    assert "Wrong passphrase" in status.inner_text()
    assert traffic.posted("/api/v1/session") == []  # nothing was signed or sent
    assert not any(c["name"] == "gk_session" for c in context.cookies())
    # A file that is not a key says so.
    page.set_input_files("#keyfile", str(staff.keys / "recorder.pub"))
    page.fill("#passphrase", DEMO_PASSPHRASE)
    page.click("#signin-button")
    page.wait_for_selector('#signin-status.error:has-text("不是 gongkai 密钥文件")')


def test_a_page_needs_a_session_and_says_so_by_sending_you_to_sign_in(staff: Staff, context: BrowserContext) -> None:
    page = context.new_page()
    page.goto(f"{staff.url}/staff/inbox")
    page.wait_for_selector("#signin")
    assert page.get_attribute("#signin", "data-next") == "/staff/inbox"


def test_an_import_lists_bad_rows_first_then_records_every_row_at_once(
    staff: Staff, context: BrowserContext, tmp_path: Path
) -> None:
    header = ["收据编号", "日期", "捐赠方类别", "捐赠方名称", "同意公开", "资金代码", "金额(元)"]
    rows = [["LC2026-IMP-001", "2026-11-20", "个人", "", "否", "F-DONATION", "200"],
            ["LC2026-IMP-002", "2026-11-21", "企业", "息烽县某商贸有限公司", "是", "F-DONATION", "3,000.50"]]  # fmt: skip
    bad = tmp_path / "bad.csv"
    with bad.open("w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerows([header, rows[0], [*rows[1][:6], "三千元"]])
    good = tmp_path / "good.csv"
    with good.open("w", newline="", encoding="utf-8-sig") as out:
        csv.writer(out).writerows([header, *rows])
    page = context.new_page()
    sign_in(page, staff, "recorder")
    open_page(page, staff, "/staff/imports")
    page.set_input_files("#sheet", str(bad))
    page.click("#import-check button[type=submit]")
    page.wait_for_selector("#import-errors:not([hidden])")
    cells = page.locator("#error-rows tr").first.locator("td").all_inner_texts()
    assert cells[:2] == ["3", "金额(元)"]
    page.set_input_files("#sheet", str(good))
    page.click("#import-check button[type=submit]")
    page.wait_for_selector("#import-preview:not([hidden])")
    assert "¥3,200.50" in page.inner_text("#preview-summary")
    page.click("#import-sign")
    page.wait_for_selector("#sign-status.ok")
    assert "2" in page.inner_text("#sign-status")
    imported = httpx.get(f"{staff.url}/api/v1/trace/LC2026-IMP-002").json()["donation"]
    assert (imported["amount_fen"], imported["donor_name"]) == (300_050, "息烽县某商贸有限公司")


def test_a_correction_is_signed_against_the_event_it_corrects(staff: Staff, context: BrowserContext) -> None:
    page = context.new_page()
    sign_in(page, staff, "recorder")
    open_page(page, staff, "/staff/record/donation")
    page.fill("#f-receipt_no", "LC2026-WEB-FIX")
    page.select_option("#f-fund", "F-DONATION")
    page.fill("#f-amount", "500")
    sign_form(page)
    open_page(page, staff, "/staff/correction")
    page.fill("#ref-code", "LC2026-WEB-FIX")
    page.click("#find button[type=submit]")
    page.check('#history-rows input[type=radio][value="1"]')
    page.check('#correct input[name=_mode][value=adjust]')
    page.fill("#r-amount", "400")
    page.fill("#f-note", "金额录入错误，应为400元")
    assert "correction.record" in sign_form(page, "#correct")
    page.wait_for_selector('#history-rows tr:has-text("correction.record")')
    assert "已由 v2 更正" in page.inner_text("#history-rows")
    trace = httpx.get(f"{staff.url}/api/v1/trace/LC2026-WEB-FIX").json()["donation"]
    assert (trace["amount_fen"], len(trace["corrections"])) == (40_000, 1), trace


def test_every_record_form_signs_what_it_says(staff: Staff, context: BrowserContext, traffic: Traffic) -> None:
    page = context.new_page()
    errors = page_errors(page)
    sign_in(page, staff, "recorder")
    before = {r["code"]: r for r in httpx.get(f"{staff.url}/api/v1/balances").json()}

    open_page(page, staff, "/staff/record/appropriation")
    page.fill("#f-document_no", "息财社〔2026〕99号")
    page.select_option("#f-level", "county")
    page.select_option("#f-fund", "F-DONATION")
    page.fill("#f-amount", "10,000")
    assert "appropriation.receive" in sign_form(page)

    open_page(page, staff, "/staff/record/allocation")
    page.select_option("#f-fund", "F-DONATION")
    page.select_option("#f-program", "P-FLOOD")
    page.fill("#f-amount", "8000")
    assert "allocation.make" in sign_form(page)

    open_page(page, staff, "/staff/record/disbursement")
    page.select_option("#f-program", "P-FLOOD")
    page.fill("#f-amount", "1200.50")
    page.fill("#f-recipient", "R-WEB7K2")
    page.fill("#f-village", "流长村")
    assert "disbursement.make" in sign_form(page)

    # Goods from a donor who did not consent to be named: the name goes sealed, never public.
    open_page(page, staff, "/staff/record/donation")
    page.fill("#f-receipt_no", "LC2026-WEB-GOODS")
    page.fill("#f-donor_name", "王某某")
    page.check("input[name=_what][value=goods]")
    page.select_option("#f-store", "S-RELIEF")
    page.click("[data-add-line=goods]")
    lines = page.locator("[data-list=goods] [data-line]")
    for i, (item, grade, unit, quantity) in enumerate([("测试帐篷", "12㎡", "顶", "5"), ("测试棉被", "200×230cm", "床", "20")]):
        for name, value in (("item", item), ("grade", grade), ("unit", unit), ("quantity", quantity)):
            lines.nth(i).locator(f"[name={name}]").fill(value)
    assert "donation.receive" in sign_form(page)
    sealed = [b for b in traffic.posted("/api/v1/commands") if "测试帐篷".encode() in b]
    assert len(sealed) == 1 and "王某某".encode() in sealed[0]  # sent sealed, for the ledger to encrypt
    gift = httpx.get(f"{staff.url}/api/v1/trace/LC2026-WEB-GOODS").json()["donation"]
    assert gift["donor_name"] is None

    open_page(page, staff, "/staff/record/goods-issue")
    page.select_option("#f-store", "S-RELIEF")
    lines = page.locator("[data-list=goods] [data-line]")
    for name, value in (("item", "测试帐篷"), ("grade", "12㎡"), ("unit", "顶"), ("quantity", "2")):
        lines.first.locator(f"[name={name}]").fill(value)
    page.select_option("#f-category", "disaster_relief")
    page.fill("#f-institution", "流长镇中心小学")
    page.select_option("#f-approved_by", label="张国华 · 部门负责人 · 镇社会事务办")
    assert "goods.issue" in sign_form(page)

    after = {r["code"]: r for r in httpx.get(f"{staff.url}/api/v1/balances").json()}
    assert after["F-DONATION"]["balance_fen"] - before["F-DONATION"]["balance_fen"] == 1_000_000 - 800_000
    assert after["P-FLOOD"]["balance_fen"] - before["P-FLOOD"]["balance_fen"] == 800_000 - 120_050
    stock = {(s["item"], s["grade"]): s["quantity"] for s in after["S-RELIEF"]["stock"]}
    assert (stock[("测试帐篷", "12㎡")], stock[("测试棉被", "200×230cm")]) == (3, 20)
    assert errors == []
