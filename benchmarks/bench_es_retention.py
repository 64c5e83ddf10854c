"""Retention on Elasticsearch: dropping whole monthly indices against deleting the same
expired articles one by one, side by side in one run.

    .venv/bin/python benchmarks/bench_es_retention.py [--docs 3000] [--repeat 3] [--es-url URL]

N synthetic articles (benchmarks/bench_index.py's, fixed seed) spread evenly over the 12
months of 2024 are indexed into a fresh index; the cut-off is 1 October 2024, so nine
months (three quarters of the articles) are expired. Then either

- ``by article``: ``ElasticIndex.delete`` of every expired id, in batches of 500 (what
  retention did before, and still does in the boundary month), or
- ``by month``: ``ElasticIndex.drop_expired`` (what retention does now).

Each figure is the median of ``--repeat`` runs, each on a fresh index, alternating the
two. osmem-server is in memory and merges nothing, so a real cluster gains more (no
deleted documents to merge away); the request counts and the client CPU are the adapter's
own. Results go to benchmarks/results/es_retention.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from osmem_server import OsmemServer  # noqa: E402

from benchmarks.bench_index import elastic_indices, synthetic_docs, timed  # noqa: E402
from benchmarks.machine import describe, write_report  # noqa: E402
from pipeline.config import ElasticsearchSettings  # noqa: E402
from pipeline.index.elastic import ElasticIndex  # noqa: E402
from pipeline.records import IndexDocument  # noqa: E402
from tests.index.conftest import PlainJsonNode  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "es_retention.md"
YEAR = datetime(2024, 1, 1, tzinfo=UTC)
CUTOFF = datetime(2024, 10, 1, tzinfo=UTC)
DELETE_BATCH = 500  # retention's default batch size


def over_a_year(docs: list[IndexDocument]) -> list[IndexDocument]:
    step = timedelta(days=366) / len(docs)
    return [replace(d, published_at=YEAR + step * n) for n, d in enumerate(docs)]


def by_article(index: ElasticIndex, expired: list[str]) -> None:
    for start in range(0, len(expired), DELETE_BATCH):
        index.delete(expired[start : start + DELETE_BATCH])


def by_month(index: ElasticIndex, expired: list[str]) -> None:
    assert len(index.drop_expired(CUTOFF)) == 9


def run(settings: ElasticsearchSettings, docs: list[IndexDocument], repeat: int) -> list[str]:
    expired = [d.article_id for d in docs if d.published_at and d.published_at < CUTOFF]
    times: dict[str, list[tuple[float, float]]] = {"by article": [], "by month": []}
    for _ in range(repeat):
        for name, strategy in (("by article", by_article), ("by month", by_month)):
            settings = settings.model_copy(update={"index_prefix": f"bench-{os.getpid()}"})
            for index in elastic_indices(settings, PlainJsonNode):
                assert isinstance(index, ElasticIndex)
                for start in range(0, len(docs), 500):
                    assert all(o.ok for o in index.index(docs[start : start + 500]))
                times[name].append(timed(lambda: strategy(index, expired)))  # noqa: B023
                index.refresh()
                assert index.count() == len(docs) - len(expired)
    rows = []
    for name, runs in times.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        rows.append((name, wall, cpu))
    base = rows[0][1]
    return [
        f"| {name} | {len(expired)} | {wall:.3f} | {cpu:.3f} | {base / wall:.1f}x |"
        for name, wall, cpu in rows
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--es-url", default=None)
    args = parser.parse_args()
    docs = over_a_year(synthetic_docs(args.docs))
    server = OsmemServer.start(japanese=False, addr="127.0.0.1:0")
    try:
        url = args.es_url or server.url
        rows = run(ElasticsearchSettings(url=url, request_timeout_seconds=60), docs, args.repeat)
    finally:
        server.close()
    write_report(
        RESULTS,
        [
            "# Elasticsearch retention: whole months against article by article",
            "",
            f"Command: `.venv/bin/python benchmarks/bench_es_retention.py --docs {args.docs} "
            f"--repeat {args.repeat}`",
            "",
            f"{args.docs} synthetic articles over the 12 months of 2024, cut-off 1 October "
            f"2024 (nine months expired); median of {args.repeat} runs each, alternating, "
            "each on a fresh index"
            + (f" at {args.es_url}." if args.es_url else " on osmem-server."),
            "",
            describe(),
            "",
            "| strategy | expired articles | seconds (wall) | client CPU s | speed-up (wall) |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            "osmem-server keeps everything in memory and never merges segments, so on a real "
            "cluster deleting by article also costs the merges that purge the deleted "
            "documents, which dropping an index never does.",
        ],
    )


if __name__ == "__main__":
    main()
