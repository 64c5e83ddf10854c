"""CPU of one uncached search on the embedded backend, per query shape, at 100k articles.

    .venv/bin/python benchmarks/bench_search_shapes.py [--articles 100000] [--repeat 3]

The corpus is bench_api's (benchmarks/api_corpus.py, from its cache). For each shape
(text alone, with a thread, with a date range, with both, in date order) every query
text of bench_api's mix is searched `--repeat` times through SqliteFtsIndex.search, with
no cache in front; the best CPU time of each is kept and the mean per shape printed.
CPU time, not wall time: the figures do not depend on how busy the machine is.

With --dump FILE it also writes, for 144 combinations (every query text of the mix and
the empty one; with and without a thread, a date range, date order, collapsing), the
first page, the second page and the weekly timeline as text: two versions of the code
answer alike when their files are byte-identical (`cmp`).
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.api_clients import QUERIES  # noqa: E402
from benchmarks.api_corpus import CORPUS_CACHE, cached_build  # noqa: E402
from benchmarks.machine import describe  # noqa: E402
from pipeline.index.base import SearchQuery  # noqa: E402
from pipeline.index.sqlite_fts import SqliteFtsIndex  # noqa: E402

SINCE, UNTIL = datetime(2021, 1, 10, tzinfo=UTC), datetime(2021, 3, 11, tzinfo=UTC)
SHAPES: dict[str, dict[str, Any]] = {
    "text": {},
    "text + thread": {"threads": ("hong-kong",)},
    "text + dates": {"since": SINCE, "until": UNTIL},
    "text + thread + dates": {"threads": ("hong-kong",), "since": SINCE, "until": UNTIL},
    "text, date order": {"sort": "date"},
    "text + dates, date order": {"sort": "date", "since": SINCE, "until": UNTIL},
}


def best_cpu_ms(backend: SqliteFtsIndex, query: SearchQuery, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.process_time()
        backend.search(query)
        times.append(time.process_time() - started)
    return 1000 * min(times)


def dump(backend: SqliteFtsIndex, path: Path) -> int:
    """Every combination's pages and timeline, one line each; returns how many."""
    lines = []
    combinations = itertools.product(
        QUERIES, [(), ("hong-kong",)], [False, True], ["relevance", "date"], [True, False]
    )
    for text, threads, dated, sort, collapse in combinations:
        query = SearchQuery(
            text,
            threads=threads,
            since=SINCE if dated else None,
            until=UNTIL if dated else None,
            sort=sort,  # type: ignore[arg-type]
            collapse=collapse,
        )
        page = backend.search(query)
        second = (
            backend.search(replace(query, cursor=page.next_cursor)) if page.next_cursor else None
        )
        lines.append(f"{query!r} {page!r} {second!r} {backend.timeline(query, 'week')!r}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return len(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus-cache", type=Path, default=CORPUS_CACHE)
    parser.add_argument("--dump", type=Path, help="write every combination's answers here")
    args = parser.parse_args()
    texts = [text for text in QUERIES if text]
    with tempfile.TemporaryDirectory(prefix="newswatch-bench-shapes-") as tmp:
        cached_build(Path(tmp), args.articles, args.corpus_cache)
        backend = SqliteFtsIndex(Path(tmp) / "search.db")
        backend.count()  # opens the reader: its cost is not a search's
        print(describe())
        print(f"{len(texts)} query texts, best of {args.repeat}, mean ms CPU per search")
        for shape, options in SHAPES.items():
            costs = [
                best_cpu_ms(backend, SearchQuery(text, **options), args.repeat) for text in texts
            ]
            print(f"| {shape} | {statistics.mean(costs):.1f} |")
        if args.dump:
            print(f"{dump(backend, args.dump)} combinations written to {args.dump}")


if __name__ == "__main__":
    main()
