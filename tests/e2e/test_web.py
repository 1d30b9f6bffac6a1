"""The first web page and its JSON, through the FastAPI app on both backends."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.config import Settings
from api.web import create_app
from ledger.application import Ledger
from projections.store import database_env
from tests.builders import allocation, found_town, money_donation


@pytest.fixture
def client(database_url: str, tmp_path: Path) -> Iterator[TestClient]:
    app = Ledger(env=database_env(database_url))
    town = found_town(app)
    town.submit(town.recorder, "donation.receive", money_donation(1_234_56))
    town.submit(town.recorder, "allocation.make", allocation(1_000_00))
    app.close()
    settings = Settings(database_url=database_url, log_key_file=tmp_path / "log.key")
    web = create_app(settings)
    with TestClient(web) as test_client:
        yield test_client
    web.state.services.close()


def test_the_home_page_lists_funds_and_balances_in_chinese(client: TestClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "流长镇" in page.text
    assert "资金余额" in page.text
    assert "¥234.56" in page.text  # F-DISASTER after the allocation


def test_every_page_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/", "/healthz", "/api/v1/balances", "/static/gongkai.css"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"


def test_the_page_has_no_inline_style_or_script(client: TestClient) -> None:
    page = client.get("/").text
    assert "<style" not in page
    assert "<script>" not in page


def test_balances_json_gives_fen(client: TestClient) -> None:
    rows = {row["code"]: row for row in client.get("/api/v1/balances").json()}
    assert rows["F-DISASTER"]["balance_fen"] == 23_456
    assert rows["P-FLOOD"]["balance_fen"] == 100_000


def test_a_published_portal_is_served_from_the_same_process(database_url: str, tmp_path: Path) -> None:
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<!doctype html><title>公开</title><p>流长镇公开网站</p>", encoding="utf-8")
    web = create_app(Settings(database_url=database_url, log_key_file=tmp_path / "log.key", site_dir=site))
    with TestClient(web) as client:
        page = client.get("/portal/")
        assert page.status_code == 200
        assert "流长镇公开网站" in page.text
        assert page.headers["x-frame-options"] == "DENY"
    web.state.services.close()


def test_what_the_server_built_to_start_is_left_out_of_garbage_collection(database_url: str, tmp_path: Path) -> None:
    web = create_app(Settings(database_url=database_url, log_key_file=tmp_path / "log.key"))
    built: list[object] = [web]  # made before serving, as the app's own objects are
    gc.unfreeze()
    try:
        with TestClient(web) as client:  # serving starts: the collector no longer walks them
            assert gc.get_freeze_count() > 0
            assert not any(o is built for generation in (0, 1, 2) for o in gc.get_objects(generation))
            assert client.get("/healthz").status_code == 200
        assert gc.get_freeze_count() == 0  # stopped: collectable again (an app started in each test)
    finally:
        web.state.services.close()
