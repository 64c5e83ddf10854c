"""Feed polls ask the site's robots.txt first (RFC 9309); here the test server allows all.

Tests of robots rules on feeds are in tests/fetch/test_robots.py, with their own rules.
"""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer


@pytest.fixture(autouse=True)
def permissive_robots(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nAllow: /\n", content_type="text/plain"
    )
