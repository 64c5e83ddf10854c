"""`newswatch serve` with two worker processes on one SQLite store and index, under load.

Both workers read the same store and index files while a pipeline run writes to them;
every request must still be answered. This guards the conditions suspected of the 503s
once seen with two workers (store errors under load; not reproduced since, see
benchmarks/RESULTS.md): WAL readers never wait for the writer, and the index is read
through read-only connections that never take a write lock.
"""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select, update

from benchmarks.api_clients import free_port, load, service_cpu_seconds, start_server
from benchmarks.api_corpus import build
from pipeline.config import Settings
from pipeline.index.factory import open_index
from pipeline.index.stage import index_pending
from pipeline.records import IndexState
from pipeline.store import open_store
from pipeline.store.models import Article

pytestmark = pytest.mark.slow

ARTICLES = 400
CLIENTS = 16
SECONDS = 8.0


def write_while(data_dir: Path, stop: threading.Event) -> int:
    """A pipeline run's writes, again and again: articles re-queued and re-indexed."""
    settings = Settings(data_dir=data_dir, feeds=[])
    store = open_store(settings.resolved_database_url, migrate=False)
    backend = open_index(settings)
    rounds = 0
    try:
        while not stop.is_set():
            with store.sessions() as session, session.begin():
                ids = session.scalars(select(Article.id).limit(50).offset(rounds * 50 % ARTICLES))
                session.execute(
                    update(Article)
                    .where(Article.id.in_(list(ids)))
                    .values(index_state=IndexState.PENDING)
                )
            index_pending(store.sessions, backend, settings.index)
            rounds += 1
    finally:
        store.dispose()
    return rounds


def test_two_workers_answer_every_request_while_a_run_writes(tmp_path: Path) -> None:
    build(tmp_path, ARTICLES)
    server = start_server(tmp_path, port := free_port(), workers=2, cache_seconds=0)
    stop = threading.Event()
    rounds: list[int] = []
    writer = threading.Thread(target=lambda: rounds.append(write_while(tmp_path, stop)))
    writer.start()
    try:
        time.sleep(0.5)  # the writer is inside its first transactions
        cpu_before = service_cpu_seconds(server.pid)
        tally = asyncio.run(load(f"http://127.0.0.1:{port}", CLIENTS, SECONDS, ARTICLES))
        busy = service_cpu_seconds(server.pid) - cpu_before
    finally:
        stop.set()
        writer.join(timeout=60)
        server.terminate()
        server.wait(timeout=30)
    assert tally.errors == []
    answered = {kind: len(values) for kind, values in tally.latencies.items()}
    # every kind of request was made, the store's and the index's alike
    assert set(answered) == {"search", "timeline", "threads", "article"}, answered
    assert rounds and rounds[0] >= 1  # the run really wrote while the workers read
    assert busy > 0  # the workers, not the supervisor, did the work
