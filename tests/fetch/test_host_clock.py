"""Per-host politeness across processes: start times reserved in the store (SQLite and
PostgreSQL), and two fetchers with their own store connections against one real server."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from pipeline.config import Settings
from pipeline.fetch.host_clock import StoreHostClock
from pipeline.fetch.pages import PageRequest, fetch_pages_sync
from pipeline.store import Store, open_store

PAGE = "<!doctype html><html><head><title>Story</title></head><body><p>News.</p></body></html>"
GAP = 0.3


@pytest.fixture
def second_store(store_url: str) -> Iterator[Store]:
    """Another engine on the same database: what a second worker process would have."""
    other = open_store(store_url)
    yield other
    other.dispose()


def test_reservations_from_separate_connections_are_spaced_by_the_gap(
    store: Store, second_store: Store
) -> None:
    clocks = [StoreHostClock(store.sessions, GAP), StoreHostClock(second_store.sessions, GAP)]
    starts: list = []
    lock = threading.Lock()

    def reserve(clock: StoreHostClock) -> None:
        for _ in range(3):
            start = clock.reserve("News.Example")
            with lock:
                starts.append(start)

    threads = [threading.Thread(target=reserve, args=(c,)) for c in clocks * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    starts.sort()
    assert len(starts) == 12
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert all(gap >= timedelta(seconds=GAP) for gap in gaps), gaps
    # Another host is not held up by this one's queue.
    other = clocks[0].reserve("elsewhere.example")
    assert other < starts[-1]


def test_two_fetchers_sharing_the_store_never_hit_one_host_closer_than_the_gap(
    store: Store, second_store: Store, settings: Settings
) -> None:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    arrivals: list[float] = []

    def page(request: Request) -> Response:
        arrivals.append(time.monotonic())
        return Response(PAGE, content_type="text/html; charset=utf-8")

    server.expect_request("/").respond_with_handler(page)
    server.start()
    try:
        fetch = settings.fetch.model_copy(
            update={"respect_robots": False, "per_host_delay_seconds": GAP}
        )
        url = server.url_for("/")

        def worker(worker_store: Store, n: int) -> None:
            requests = [PageRequest(f"{n}-{i}", f"{url}?a={n}-{i}") for i in range(3)]
            clock = StoreHostClock(worker_store.sessions, GAP)
            results = fetch_pages_sync(requests, fetch, clock)
            assert all(result.ok for _request, result in results)

        threads = [
            threading.Thread(target=worker, args=(s, n))
            for n, s in enumerate((store, second_store))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.clear()
        server.stop()

    arrivals.sort()
    assert len(arrivals) == 6
    spacing = [b - a for a, b in itertools.pairwise(arrivals)]
    # Start times are GAP apart (see the test above); arrivals add connection and thread
    # jitter on a busy machine. Without the shared clock the two workers' requests would
    # arrive in pairs, nearly at once, and six requests would span 2 gaps, not 5.
    assert min(spacing) >= GAP / 2, spacing
    assert arrivals[-1] - arrivals[0] >= 5 * GAP - 0.1, spacing
