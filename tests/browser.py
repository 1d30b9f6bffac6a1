"""A real headless Chromium for the web-page tests: Debian's ``chromium`` driven by Playwright.

Playwright's own browser downloads are never used (``playwright install`` is never run):
``make test`` installs Debian's package when it is missing. Without it the browser tests skip,
except in CI or when ``GONGKAI_REQUIRE_CHROMIUM`` is set, where a missing browser fails them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def chromium_path() -> str:
    """Debian's chromium; skip (or, where it is required, fail) without it."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
    if found is None:
        if os.environ.get("CI") or os.environ.get("GONGKAI_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is not installed but the browser tests are required")
        pytest.skip("chromium is not installed; make test installs Debian's chromium")
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    executable = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield browser
        finally:
            browser.close()
