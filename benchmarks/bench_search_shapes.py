"""CPU of one uncached search on the embedded backend, per query shape, at 100k articles.

    .venv/bin/python benchmarks/bench_search_shapes.py [--articles 100000] [--repeat 3]

The corpus is bench_api's (benchmarks/api_corpus.py, from its cache). For each shape
(text alone, with a thread, with a date range, with both, in date order) every query
text of bench_api's mix is searched `--repeat` times through SqliteFtsIndex.search, with
no cache in front; the best CPU time of each is kept and the mean per shape printed.
CPU time, not wall time: the figures do not depend on how busy the machine is.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--corpus-cache", type=Path, default=CORPUS_CACHE)
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


if __name__ == "__main__":
    main()
