"""Polite page fetching against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import FetchSettings, Settings
from pipeline.fetch.pages import PageRequest, decode_html, fetch_pages_sync
from pipeline.records import FetchError, FetchResult

PAGE = "<!doctype html><html><head><title>Story</title></head><body><p>News.</p></body></html>"
MISLABELLED = (
    Path(__file__).parents[2] / "pipeline/demo/newsroom/hostile/mislabelled-charset.html"
).read_text(encoding="utf-8")


@pytest.fixture
def fetch(settings: Settings) -> FetchSettings:
    return settings.fetch.model_copy(update={"respect_robots": False})


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A server that handles requests in parallel, so it can see how many are in flight."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def fetch_one(
    url: str, settings: FetchSettings, etag: str | None = None, last_modified: str | None = None
) -> FetchResult:
    request = PageRequest("a1", url, etag=etag, last_modified=last_modified)
    [(_, result)] = fetch_pages_sync([request], settings)
    return result


def hits(server: HTTPServer, path: str) -> int:
    return sum(1 for request, _ in server.log if request.path == path)


def test_html_page_is_fetched(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/story").respond_with_data(
        PAGE,
        content_type="text/html; charset=utf-8",
        headers={"ETag": '"v1"', "Last-Modified": "Wed, 01 May 2024 12:00:00 GMT"},
    )
    result = fetch_one(httpserver.url_for("/story"), fetch)
    assert result.ok
    assert result.html == PAGE
    assert result.encoding == "utf-8"
    assert result.http_status == 200
    assert result.final_url == httpserver.url_for("/story")
    assert result.etag == '"v1"'
    assert result.last_modified == "Wed, 01 May 2024 12:00:00 GMT"


def test_conditional_get_not_modified(httpserver: HTTPServer, fetch: FetchSettings):
    since = "Wed, 01 May 2024 12:00:00 GMT"
    httpserver.expect_request(
        "/story", headers={"If-None-Match": '"v1"', "If-Modified-Since": since}
    ).respond_with_data("", 304)
    result = fetch_one(httpserver.url_for("/story"), fetch, etag='"v1"', last_modified=since)
    assert result.not_modified
    assert result.ok
    assert result.html is None
    assert result.http_status == 304


def test_client_error_is_final(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/gone").respond_with_data("no", 404)
    result = fetch_one(httpserver.url_for("/gone"), fetch)
    assert result.error == FetchError.HTTP_CLIENT_ERROR
    assert not result.error.retryable
    assert result.http_status == 404
    assert hits(httpserver, "/gone") == 1  # never retried


def test_server_error_is_retried_in_run(httpserver: HTTPServer, fetch: FetchSettings):
    statuses = iter([500, 200])

    def flaky(request: Request) -> Response:
        return Response(PAGE, status=next(statuses), content_type="text/html")

    httpserver.expect_request("/flaky").respond_with_handler(flaky)
    result = fetch_one(httpserver.url_for("/flaky"), fetch)
    assert result.ok
    assert result.html == PAGE
    assert hits(httpserver, "/flaky") == 2


def test_persistent_server_error(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/down").respond_with_data("oops", 500)
    result = fetch_one(httpserver.url_for("/down"), fetch.model_copy(update={"in_run_retries": 2}))
    assert result.error == FetchError.HTTP_SERVER_ERROR
    assert result.error.retryable  # the caller schedules another run
    assert result.http_status == 500
    assert hits(httpserver, "/down") == 3


def test_timeout(threaded_server: HTTPServer, fetch: FetchSettings):
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(5)
        return Response(PAGE, content_type="text/html")

    threaded_server.expect_request("/slow").respond_with_handler(slow)
    settings = fetch.model_copy(update={"read_timeout_seconds": 0.2, "in_run_retries": 0})
    try:
        result = fetch_one(threaded_server.url_for("/slow"), settings)
    finally:
        release.set()
    assert result.error == FetchError.TIMEOUT
    assert result.error.retryable


def test_long_retry_after_goes_back_to_the_caller(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/busy").respond_with_data("", 429, headers={"Retry-After": "120"})
    result = fetch_one(httpserver.url_for("/busy"), fetch)
    assert result.error == FetchError.RATE_LIMITED
    assert result.retry_after_seconds == 120
    assert hits(httpserver, "/busy") == 1  # not waited out in the run


def test_short_retry_after_is_waited_out(httpserver: HTTPServer, fetch: FetchSettings):
    statuses = iter([429, 200])

    def limited(request: Request) -> Response:
        status = next(statuses)
        return Response(PAGE, status=status, content_type="text/html", headers={"Retry-After": "0"})

    httpserver.expect_request("/limited").respond_with_handler(limited)
    result = fetch_one(httpserver.url_for("/limited"), fetch)
    assert result.ok
    assert hits(httpserver, "/limited") == 2


@pytest.mark.parametrize(
    ("body", "content_type", "detail"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", None, "no Content-Type"),
        (b'{"story": 1}', "application/json", "application/json"),
    ],
)
def test_non_html_is_refused(
    body: bytes,
    content_type: str | None,
    detail: str,
    httpserver: HTTPServer,
    fetch: FetchSettings,
):
    response = Response(body)
    if content_type:
        response.headers["Content-Type"] = content_type
    else:
        del response.headers["Content-Type"]
    httpserver.expect_request("/file").respond_with_response(response)
    result = fetch_one(httpserver.url_for("/file"), fetch)
    assert result.error == FetchError.NOT_HTML
    assert result.error_detail is not None and detail in result.error_detail
    assert result.html is None


def test_html_without_content_type_is_sniffed(httpserver: HTTPServer, fetch: FetchSettings):
    response = Response(PAGE.encode())
    del response.headers["Content-Type"]
    httpserver.expect_request("/bare").respond_with_response(response)
    result = fetch_one(httpserver.url_for("/bare"), fetch)
    assert result.ok
    assert result.html == PAGE


def test_misdeclared_charset_is_decoded_correctly(httpserver: HTTPServer, fetch: FetchSettings):
    # Header and <meta> both say utf-8; the bytes are windows-1252 (curly quotes, dashes, é).
    body = MISLABELLED.encode("windows-1252")
    httpserver.expect_request("/cafe").respond_with_data(
        body, content_type="text/html; charset=utf-8"
    )
    result = fetch_one(httpserver.url_for("/cafe"), fetch)
    assert result.ok
    assert result.html == MISLABELLED
    assert "Café owners" in result.html and "Fenwick’s" in result.html
    assert result.encoding == "cp1252"


def test_utf8_body_declared_latin1_is_read_as_utf8():
    text = "<html><body>Zürich – “quoted” 北京</body></html>"
    assert decode_html(text.encode("utf-8"), "iso-8859-1") == (text, "utf-8")


def test_meta_charset_used_without_header_charset(httpserver: HTTPServer, fetch: FetchSettings):
    page = (
        '<html><head><meta http-equiv="Content-Type" content="text/html; charset=windows-1251">'
        "</head><body><p>Новости дня: правительство объявило новые меры.</p></body></html>"
    )
    httpserver.expect_request("/ru").respond_with_data(
        page.encode("windows-1251"), content_type="text/html"
    )
    result = fetch_one(httpserver.url_for("/ru"), fetch)
    assert result.html == page
    assert result.encoding == "cp1251"


def test_bad_urls_do_not_disturb_the_batch(httpserver: HTTPServer, fetch: FetchSettings):
    httpserver.expect_request("/story").respond_with_data(PAGE, content_type="text/html")
    requests = [
        PageRequest("bad", "not a url"),
        PageRequest("good", httpserver.url_for("/story")),
        PageRequest("ftp", "ftp://127.0.0.1/story.html"),
    ]
    results = fetch_pages_sync(requests, fetch)
    assert [request.article_id for request, _ in results] == ["bad", "good", "ftp"]
    assert [result.error for _, result in results] == [
        FetchError.INVALID_URL,
        None,
        FetchError.INVALID_URL,
    ]


class InFlight:
    """A handler that records the peak number of requests it serves at once.

    Each request waits (briefly) until `expected_peak` are in flight together, then lingers a
    moment so that any request beyond the bound would be counted too.
    """

    def __init__(self, expected_peak: int) -> None:
        self.expected_peak = expected_peak
        self.peak = 0
        self._now = 0
        self._changed = threading.Condition()

    def __call__(self, request: Request) -> Response:
        with self._changed:
            self._now += 1
            self.peak = max(self.peak, self._now)
            self._changed.notify_all()
            self._changed.wait_for(lambda: self.peak >= self.expected_peak, timeout=2)
            self._changed.wait(0.05)
            self._now -= 1
        return Response(PAGE, content_type="text/html")


def test_per_host_concurrency_bound(threaded_server: HTTPServer, fetch: FetchSettings):
    handler = InFlight(expected_peak=2)
    threaded_server.expect_request("/page").respond_with_handler(handler)
    url = threaded_server.url_for("/page")
    settings = fetch.model_copy(update={"concurrency": 8, "per_host_concurrency": 2})
    results = fetch_pages_sync([PageRequest(str(i), url) for i in range(6)], settings)
    assert all(result.ok for _, result in results)
    assert handler.peak == 2


def test_global_concurrency_bound(threaded_server: HTTPServer, fetch: FetchSettings):
    handler = InFlight(expected_peak=1)
    threaded_server.expect_request("/page").respond_with_handler(handler)
    by_ip = threaded_server.url_for("/page")
    by_name = by_ip.replace("127.0.0.1", "localhost")  # a second host on the same server
    settings = fetch.model_copy(update={"concurrency": 1, "per_host_concurrency": 2})
    requests = [PageRequest(str(i), by_ip if i % 2 else by_name) for i in range(6)]
    results = fetch_pages_sync(requests, settings)
    assert all(result.ok for _, result in results)
    assert handler.peak == 1


# --- unreachable hosts ----------------------------------------------------------------------


def test_pages_of_a_host_that_refuses_connections_fail_together(fetch: FetchSettings):
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = fetch.model_copy(update={"per_host_concurrency": 1, "in_run_retries": 0})
    requests = [PageRequest(f"a{i}", f"http://127.0.0.1:{port}/story-{i}") for i in range(6)]
    results = [result for _, result in fetch_pages_sync(requests, settings)]
    # one error each, all the connection error; only the first page was tried
    assert [r.error for r in results] == [FetchError.CONNECTION_ERROR] * 6
    tried = [r for r in results if "not tried" not in (r.error_detail or "")]
    assert len(tried) == 1
    assert all("unreachable earlier in this run" in (r.error_detail or "") for r in results[1:])


def test_an_unreachable_host_does_not_fail_pages_of_other_hosts(
    httpserver: HTTPServer, fetch: FetchSettings
):
    httpserver.expect_request("/fine").respond_with_data(
        "<html><body><p>A page that answers.</p></body></html>", content_type="text/html"
    )
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = fetch.model_copy(update={"per_host_concurrency": 1, "in_run_retries": 0})
    dead = [PageRequest(f"d{i}", f"http://127.0.0.1:{port}/d{i}") for i in range(3)]
    # the same machine under another name is another host
    live = PageRequest("live", httpserver.url_for("/fine").replace("127.0.0.1", "localhost"))
    results = dict((r.article_id, res) for r, res in fetch_pages_sync([*dead, live], settings))
    assert results["live"].error is None and results["live"].html is not None
    assert all(results[r.article_id].error == FetchError.CONNECTION_ERROR for r in dead)
