"""Webhook receivers that misbehave on purpose, on real sockets on 127.0.0.1: one that drips
its answer, one that answers with a huge body, and a slow channel beside a fast one."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pytest_httpserver import HTTPServer

from pipeline.alerts.notifiers.webhook import MAX_RESPONSE_BYTES, redact
from pipeline.alerts.stage import deliver_pending, raise_alerts
from pipeline.store import Store
from tests.alerts.support import RULE_SEEN, T0, add_article, book, deliveries, rule
from tests.alerts.test_alert_webhook import STORY, alerts_settings, hook, raise_one

Answer = Callable[[socket.socket], None]


@contextmanager
def raw_receiver(answer: Answer) -> Iterator[str]:
    """A one-request-at-a-time HTTP receiver whose answer is written by `answer`."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(5)
                try:
                    conn.recv(65536)  # the request (small JSON body)
                    answer(conn)
                except OSError:
                    pass  # the client hung up: what these tests expect

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/hooks/desk"
    finally:
        stop.set()
        thread.join(5)
        listener.close()


def dripping(seconds: float) -> Answer:
    """A status line, then one header byte every 0.2 s: every single read is quick."""

    def answer(conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            conn.sendall(b"a")
            time.sleep(0.2)
        conn.sendall(b"\r\nContent-Length: 0\r\n\r\n")

    return answer


class Huge:
    """200 with a 400 MB body; counts what it managed to send before the client hung up."""

    size = 400 * 1024 * 1024

    def __init__(self) -> None:
        self.sent = 0

    def __call__(self, conn: socket.socket) -> None:
        conn.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode())
        chunk = b"x" * 65536
        while self.sent < self.size:
            conn.sendall(chunk)
            self.sent += len(chunk)


def test_a_dripping_receiver_is_cut_off_at_the_delivery_deadline(
    store: Store, tmp_path: Path
) -> None:
    settings = alerts_settings(tmp_path, webhook_timeout_seconds=1.0)
    with raw_receiver(dripping(30)) as url:
        rules = book(
            rule("huawei", ["Huawei"], channels=["desk"]),
            channels={"desk": {"type": "webhook", "url": url}},
        )
        raise_one(store, settings, rules)
        started = time.monotonic()
        counts = deliver_pending(store.sessions, settings, now=T0, book=rules)
        elapsed = time.monotonic() - started
    assert counts["deliveries_retry_later"] == 1
    assert elapsed < 5, elapsed  # the deadline is 1 s for the whole exchange
    (delivery,) = deliveries(store)
    assert delivery.last_error is not None
    assert "no complete answer within 1 s" in delivery.last_error


def test_a_huge_answer_is_not_read_beyond_the_cap(store: Store, tmp_path: Path) -> None:
    settings = alerts_settings(tmp_path, webhook_timeout_seconds=20.0)
    huge = Huge()
    with raw_receiver(huge) as url:
        rules = book(
            rule("huawei", ["Huawei"], channels=["desk"]),
            channels={"desk": {"type": "webhook", "url": url}},
        )
        raise_one(store, settings, rules)
        counts = deliver_pending(store.sessions, settings, now=T0, book=rules)
    assert counts["deliveries_sent"] == 1  # the status was 200
    # The client stopped reading at the cap; only socket buffers' worth was ever sent.
    assert MAX_RESPONSE_BYTES <= huge.sent < 32 * 1024 * 1024, huge.sent


def test_a_slow_channel_does_not_hold_up_the_others(
    store: Store, tmp_path: Path, httpserver: HTTPServer
) -> None:
    settings = alerts_settings(tmp_path, webhook_timeout_seconds=3.0)
    fast = hook(httpserver, [200], path="/hooks/fast")
    arrived: list[float] = []
    original = fast.__call__

    with raw_receiver(dripping(30)) as slow_url:
        rules = book(
            rule("huawei", ["Huawei"], channels=["slow", "fast"]),
            channels={
                "slow": {"type": "webhook", "url": slow_url},
                "fast": {"type": "webhook", "url": httpserver.url_for("/hooks/fast")},
            },
        )
        raise_alerts(store.sessions, settings, now=RULE_SEEN, book=rules)
        for n in range(2):
            add_article(store, f"https://ledger.example/{n}", f"Story {n}. {STORY}")
        raise_alerts(store.sessions, settings, now=T0, book=rules)
        started = time.monotonic()
        httpserver.clear_all_handlers()

        def timed(request):  # type: ignore[no-untyped-def]
            arrived.append(time.monotonic() - started)
            return original(request)

        httpserver.expect_request("/hooks/fast", method="POST").respond_with_handler(timed)
        counts = deliver_pending(store.sessions, settings, now=T0, book=rules)

    assert counts["deliveries_sent"] == 2 and counts["deliveries_retry_later"] == 1
    assert len(arrived) == 2
    # Both fast deliveries went out while the slow channel was still waiting for its answer.
    assert max(arrived) < 2.5, arrived


def test_redacted_ipv6_urls_keep_their_brackets() -> None:
    assert redact("http://[::1]:8080/hooks/desk?token=s3cret") == "http://[::1]:8080/…"
    assert redact("https://[2001:db8::7]/hooks/x") == "https://[2001:db8::7]/…"
    assert redact("https://hooks.example:8443/T0/B1/xyz") == "https://hooks.example:8443/…"
