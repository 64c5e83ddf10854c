"""Search-index write throughput: SQLite FTS5 against Elasticsearch (osmem-server).

    .venv/bin/python benchmarks/bench_index.py [--docs 10000] [--batch 500] [--repeat 3]
                                                [--es-url URL]

N synthetic articles (fixed random seed; ~250-word texts drawn from a Zipf-like
vocabulary of invented words, 5% of them copies in story clusters, dates over 90 days)
are written to a fresh index of each backend:

- ``index``: through ``SearchIndex.index`` in batches of ``--batch`` documents, as the
  index stage sends them (for Elasticsearch: streaming_bulk, chunk = batch);
- ``rebuild``: all N through ``SearchIndex.rebuild`` into a new generation/index.

Elasticsearch runs against an osmem-server started here (in memory, single process; its
numbers say little about a real cluster) and, with ``--es-url`` or
``NEWSWATCH_TEST_ELASTICSEARCH_URL``, also against that cluster. Each figure is the
median of ``--repeat`` runs; results are printed and written to
benchmarks/results/index.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from osmem_server import OsmemServer  # noqa: E402

from benchmarks.machine import describe  # noqa: E402
from pipeline.config import ElasticsearchSettings  # noqa: E402
from pipeline.index.base import SearchIndex  # noqa: E402
from pipeline.index.elastic import ElasticIndex  # noqa: E402
from pipeline.index.sqlite_fts import SqliteFtsIndex  # noqa: E402
from pipeline.records import IndexDocument  # noqa: E402

# osmem rejects the client's compatibility media types; the tests' node class fixes that
from tests.index.conftest import PlainJsonNode  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "index.md"
OUTLETS = ["Harbour Times", "Wire Daily", "Coastal Gazette", "Midlands Post", "Eastern Ledger"]
START = datetime(2024, 1, 1, tzinfo=UTC)


def synthetic_docs(count: int, seed: int = 7) -> list[IndexDocument]:
    rng = random.Random(seed)
    syllables = ["ka", "lo", "mi", "ter", "on", "vas", "el", "run", "dap", "ist", "or", "ben"]
    vocabulary = sorted(
        {"".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(20_000)}
    )
    weights = [1 / (rank + 1) for rank in range(len(vocabulary))]  # Zipf-like
    docs: list[IndexDocument] = []
    for number in range(count):
        outlet = OUTLETS[number % len(OUTLETS)]
        if docs and rng.random() < 0.05:  # a copy of an earlier article, in its cluster
            original = docs[rng.randrange(len(docs))]
            title, text = original.title, original.text
            cluster = original.cluster_id or original.article_id
        else:
            title = " ".join(rng.choices(vocabulary, weights, k=8)).capitalize()
            text = " ".join(rng.choices(vocabulary, weights, k=rng.randint(150, 350)))
            cluster = None
        docs.append(
            IndexDocument(
                article_id=f"{number:032x}",
                canonical_url=f"https://bench.example/{number}",
                title=title,
                text=text,
                published_at=START + timedelta(minutes=rng.randint(0, 90 * 24 * 60)),
                date_source="page",
                indexed_at=START,
                outlet=outlet,
                domain=outlet.lower().replace(" ", "") + ".example",
                language="en",
                threads=(rng.choice(["ports", "nuclear", "huawei-5g"]),),
                relation="unrelated",
                cluster_id=cluster,
            )
        )
    return docs


@dataclass
class Result:
    backend: str
    operation: str
    docs_per_second: float
    seconds: float
    cpu_seconds: float  # of this Python process: the adapter's own share, for a server


def timed(run: Callable[[], None]) -> tuple[float, float]:
    """Wall-clock and this process's CPU seconds."""
    wall, cpu = time.perf_counter(), time.process_time()
    run()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(
    name: str,
    fresh: Callable[[], Iterator[SearchIndex]],
    docs: list[IndexDocument],
    batch: int,
    repeat: int,
) -> list[Result]:
    """Median seconds of indexing in batches, then of one rebuild, on fresh indices."""
    index_times: list[tuple[float, float]] = []
    rebuild_times: list[tuple[float, float]] = []
    for _ in range(repeat):
        for index in fresh():
            index_times.append(timed(partial(write_in_batches, index, docs, batch)))
            rebuild_times.append(timed(partial(rebuild, index, docs)))
            if isinstance(index, ElasticIndex):
                index.refresh()
            assert index.count() == len(docs)
    results = []
    for operation, times in (("index", index_times), ("rebuild", rebuild_times)):
        seconds = statistics.median(wall for wall, _ in times)
        cpu = statistics.median(cpu for _, cpu in times)
        results.append(Result(name, operation, len(docs) / seconds, seconds, cpu))
    return results


def write_in_batches(index: SearchIndex, docs: list[IndexDocument], batch: int) -> None:
    for start in range(0, len(docs), batch):
        outcomes = index.index(docs[start : start + batch])
        assert all(o.ok for o in outcomes), "a document was rejected"


def rebuild(index: SearchIndex, docs: list[IndexDocument]) -> None:
    assert index.rebuild(iter(docs)) == len(docs)


def sqlite_indices() -> Iterator[SearchIndex]:
    with tempfile.TemporaryDirectory() as tmp:
        index = SqliteFtsIndex(Path(tmp) / "search.db")
        index.ensure_ready()
        yield index


def elastic_indices(
    settings: ElasticsearchSettings, node_class: type | None
) -> Iterator[SearchIndex]:
    index = ElasticIndex(settings, node_class=node_class)
    index.ensure_ready()
    try:
        yield index
    finally:  # drop what this run created
        client = index.client.options(ignore_status=404)
        names = list(client.indices.get_alias(index=f"{index.read_alias}-v*"))
        if names:
            client.indices.delete(index=",".join(names))
        client.indices.delete_index_template(name=index.read_alias)


def report(results: list[Result], args: argparse.Namespace, osmem_api: str) -> str:
    lines = [
        "# Search-index write throughput",
        "",
        f"Command: `.venv/bin/python benchmarks/bench_index.py --docs {args.docs} "
        f"--batch {args.batch} --repeat {args.repeat}`",
        "",
        f"{args.docs} synthetic articles (~250 words each, 5% cluster copies), batches of "
        f"{args.batch}; median of {args.repeat} runs, each on a fresh index.",
        "",
        describe(),
        "",
        "| backend | operation | docs/s (wall) | seconds | client CPU s | docs per client "
        "CPU s | client CPU ms/doc |",
        "|---|---|---:|---:|---:|---:|---:|",
        *(
            f"| {r.backend} | {r.operation} | {r.docs_per_second:,.0f} | {r.seconds:.2f} "
            f"| {r.cpu_seconds:.2f} | {args.docs / r.cpu_seconds:,.0f} | "
            f"{r.cpu_seconds * 1000 / args.docs:.3f} |"
            for r in results
        ),
        "",
        "Target: FTS5 indexes at least 2,000 articles/s. On a shared machine the wall-clock "
        "rate is bounded by the CPU share this process gets; docs per client CPU second is "
        "the rate one free core gives (FTS5 runs in-process, and writing is CPU-bound).",
        "",
        "Environment: "
        f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs; "
        f"SQLite {sqlite3.sqlite_version}; elasticsearch-py {version('elasticsearch')}; "
        f"osmem-server {version('osmem-server')} (speaking the OpenSearch {osmem_api} API).",
        "",
        "osmem-server is an in-memory test server (one process, Bleve underneath), so its "
        "docs/s say nothing about an Elasticsearch cluster; the client CPU column is the "
        "adapter's own cost (building documents, bulk encoding, per-item outcomes). For "
        "SQLite it includes the FTS5 work itself, in-process, writing a WAL-mode file.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=10_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--es-url", default=os.environ.get("NEWSWATCH_TEST_ELASTICSEARCH_URL"))
    args = parser.parse_args()

    docs = synthetic_docs(args.docs)
    results = measure("sqlite (FTS5)", sqlite_indices, docs, args.batch, args.repeat)
    with OsmemServer.start(japanese=False) as server:
        settings = ElasticsearchSettings(
            url=server.url, index_prefix="bench-articles", bulk_chunk_size=args.batch
        )
        results += measure(
            "elasticsearch (osmem)",
            lambda: elastic_indices(settings, PlainJsonNode),
            docs,
            args.batch,
            args.repeat,
        )
        osmem_api = server.version
    if args.es_url:
        settings = ElasticsearchSettings(
            url=args.es_url, index_prefix="bench-articles", bulk_chunk_size=args.batch
        )
        results += measure(
            "elasticsearch",
            lambda: elastic_indices(settings, None),
            docs,
            args.batch,
            args.repeat,
        )
    text = report(results, args, osmem_api)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
