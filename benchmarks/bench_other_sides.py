"""What the article page's "other languages and perspectives" costs beside the article record.

    .venv/bin/newswatch demo          # fills data/demo
    .venv/bin/python benchmarks/bench_other_sides.py [--repeat 30]

On the demo store, for the UK report of the Huawei installation deadline (a follow-up of
the default seed, in a development reported from both sides), times
`reports.article_detail` and `perspectives.other_sides` side by side, alternating, each
in a fresh session: median and 90th percentile of wall time, median CPU time. The
other-sides lookup groups the seed's follow-ups into developments on every call, so its
cost grows with the number of follow-ups; the demo has a few dozen articles.

Results go to benchmarks/results/other_sides.md and are printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.machine import describe, write_report  # noqa: E402
from pipeline.classify.seeds import load_seeds  # noqa: E402
from pipeline.classify.threads import load_thread_book  # noqa: E402
from pipeline.config import Settings  # noqa: E402
from pipeline.demo.command import DEMO_SEEDS  # noqa: E402
from pipeline.search.perspectives import other_sides  # noqa: E402
from pipeline.search.reports import article_detail  # noqa: E402
from pipeline.store import open_store  # noqa: E402
from pipeline.store.models import Article  # noqa: E402

TITLE = "Ban on installing new Huawei 5G kit brought forward to next September"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data" / "demo")
    args = parser.parse_args()
    settings = Settings(data_dir=args.data_dir, dedup={"seeds": list(DEMO_SEEDS)})
    store = open_store(settings.resolved_database_url, migrate=False)
    seeds, book = load_seeds(settings), load_thread_book(None)
    with store.sessions() as session:
        article_id = session.scalar(select(Article.id).where(Article.title == TITLE))
        articles = session.scalar(select(func.count()).select_from(Article))
    if article_id is None:
        raise SystemExit(f"no demo article {TITLE!r} in {args.data_dir}: run newswatch demo")

    calls: dict[str, Callable[[Session], object]] = {
        "article_detail": lambda s: article_detail(s, article_id),
        "other_sides": lambda s: other_sides(s, article_id, seeds, book),
    }
    walls: dict[str, list[float]] = {name: [] for name in calls}
    cpus: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(args.repeat):
        for name, call in calls.items():  # alternating, so both see the same load
            with store.sessions() as session:
                wall, cpu = time.perf_counter(), time.process_time()
                call(session)
                walls[name].append((time.perf_counter() - wall) * 1000)
                cpus[name].append((time.process_time() - cpu) * 1000)
    store.dispose()

    lines = [
        "# The article page's other-sides lookup",
        "",
        f"Demo store: {articles} articles; {args.repeat} calls each, alternating.",
        "",
        "| call | median wall (ms) | p90 wall (ms) | median CPU (ms) |",
        "|---|---|---|---|",
    ]
    for name in calls:
        p90 = sorted(walls[name])[int(0.9 * (len(walls[name]) - 1))]
        lines.append(
            f"| `{name}` | {statistics.median(walls[name]):.1f} | {p90:.1f} "
            f"| {statistics.median(cpus[name]):.1f} |"
        )
    ratio = statistics.median(cpus["other_sides"]) / statistics.median(cpus["article_detail"])
    lines += ["", f"CPU ratio other_sides / article_detail: {ratio:.1f}", "", describe()]
    write_report(ROOT / "benchmarks" / "results" / "other_sides.md", lines)


if __name__ == "__main__":
    main()
