"""Fixtures of the end-to-end suite shared by its modules."""

from __future__ import annotations

import pytest

from tests.published_demo import Published, publish_demo


@pytest.fixture(scope="session")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The demo year with its disclosure items, published once per session (``tests.published_demo``)."""
    return publish_demo(tmp_path_factory.mktemp("publish"))
