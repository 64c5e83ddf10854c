"""The newsroom's hostile routes: what a careless site or an attacker serves, so that the
real fetch path meets redirect loops, errors, slow and oversized bodies, wrong content
types and charsets, a paywall, a private address and a robots.txt refusal.

``HOSTILE_EXPECT`` says what the pipeline should make of each. For the ``slow`` route to
time out, the demo's ``fetch.read_timeout_seconds`` must be below ``slow_seconds``.
"""

from __future__ import annotations

import threading
from pathlib import Path

from pipeline.demo.wire import Response, error_page

# Never served: a link to it must be refused by the fetcher's SSRF guard before connecting.
PRIVATE_ADDRESS_URL = "http://10.23.45.67/news/story.html"
OVERSIZED_BYTES = 6 * 1024 * 1024  # above the default 5 MB fetch.max_body_bytes
ROBOTS_TXT = """# Sample newsroom robots.txt
User-agent: *
Disallow: /private/

User-agent: ExampleScraperBot
Disallow: /
"""

# Hostile route name -> the outcome the pipeline should record for a feed entry linking to it:
# a FetchError value, or the article status reached.
HOSTILE_EXPECT: dict[str, str] = {
    "redirect_loop": "redirect_loop",
    "not_found": "http_client_error",
    "server_error": "http_server_error",
    "slow": "timeout",
    "not_html": "not_html",
    "oversized": "too_large",  # declares its Content-Length
    "oversized_stream": "too_large",  # no Content-Length: only a streaming cap catches it
    "mislabelled_charset": "extracted",  # header says utf-8, body is windows-1252
    "paywall": "no_content",
    "private_address": "blocked_address",
    "robots_disallowed": "robots_disallowed",
}
# Served by the feed host; the other three live elsewhere (see HostileRoutes.urls).
HOSTILE_PATHS = {
    "redirect_loop": "/hostile/loop-a",
    "not_found": "/hostile/missing-story.html",
    "server_error": "/hostile/server-error.html",
    "slow": "/hostile/slow-story.html",
    "not_html": "/hostile/briefing-paper",
    "oversized": "/hostile/oversized.html",
    "oversized_stream": "/hostile/oversized-stream.html",
    "mislabelled_charset": "/hostile/mislabelled-charset.html",
}
_HOSTILE_BY_PATH = {path: name for name, path in HOSTILE_PATHS.items()}
_LOOP_TARGETS = {"/hostile/loop-a": "/hostile/loop-b", "/hostile/loop-b": "/hostile/loop-a"}
PAYWALL_SLUG = "huawei-broadband-rollout-analysis"
ROBOTS_OUTLET = "westminster-wire"
ROBOTS_PATH = "/private/embargoed-briefing.html"


class HostileRoutes:
    """Answers the hostile paths of the feed host, and the robots-disallowed page."""

    def __init__(self, directory: Path, slow_seconds: float, stopping: threading.Event) -> None:
        self._directory = directory
        self._slow_seconds = slow_seconds
        self._stopping = stopping  # set on close(): wakes the slow route
        self._oversized: bytes | None = None

    def urls(self, feed_base: str, paywall_url: str, robots_base: str) -> dict[str, str]:
        """Route name (the keys of ``HOSTILE_EXPECT``) -> absolute URL."""
        urls = {name: feed_base + path for name, path in HOSTILE_PATHS.items()}
        urls["paywall"] = paywall_url
        urls["private_address"] = PRIVATE_ADDRESS_URL
        urls["robots_disallowed"] = robots_base + ROBOTS_PATH
        return urls

    def embargoed(self) -> Response:
        """The page under /private/ that robots.txt forbids."""
        return Response(200, body=self._bytes("embargoed.html"))

    def respond(self, path: str, feed_base: str) -> Response | None:
        """The response of a hostile path of the feed host, or None for any other path."""
        if path in _LOOP_TARGETS:
            return Response(302, headers={"Location": feed_base + _LOOP_TARGETS[path]}, body=b"")
        hostile = _HOSTILE_BY_PATH.get(path)
        if hostile == "server_error":
            return Response(500, body=error_page(500))
        if hostile == "slow":
            self._stopping.wait(self._slow_seconds)
            return Response(200, body=self._bytes("slow.html"))
        if hostile == "not_html":
            return Response(200, "application/pdf", self._bytes("briefing-paper.pdf"))
        if hostile == "oversized":
            return Response(200, body=self._oversized_page())
        if hostile == "oversized_stream":
            page = self._oversized_page()
            return Response(200, body=(page[i : i + 65536] for i in range(0, len(page), 65536)))
        if hostile == "mislabelled_charset":
            text = self._bytes("mislabelled-charset.html").decode("utf-8")
            # The lie under test: the header claims UTF-8, the bytes are windows-1252.
            return Response(200, "text/html; charset=utf-8", text.encode("windows-1252"))
        return None  # not_found is simply a path nobody serves

    def _bytes(self, name: str) -> bytes:
        return (self._directory / "hostile" / name).read_bytes()

    def _oversized_page(self) -> bytes:
        # Built once on first use: 6 MB is fine to hold, wasteful to rebuild per request.
        if self._oversized is None:
            paragraph = (
                b"<p>The committee noted the minutes of the previous meeting, agreed the "
                b"schedule of works for the coming quarter and deferred item fourteen.</p>\n"
            )
            head = b"<!DOCTYPE html><html lang='en'><head><title>Annual report</title></head><body>"
            repeats = OVERSIZED_BYTES // len(paragraph) + 1
            self._oversized = head + paragraph * repeats + b"</body></html>"
        return self._oversized
