"""Relate a folder of real news pages (HTML) to the seeds; report what is not unrelated.

    .venv/bin/python benchmarks/bench_real_pages.py DIR [--seed NAME ...]

The pages are not part of the repository (fetch a public corpus, e.g. the evaluation
pages of the htmldate project, into DIR). Each page is extracted as the extract stage
does and related to each built-in seed (default: both) with default settings; a page
without a date is dated by the time of the run, as a crawler would date it. Prints the
counts of relations and, for every page not called unrelated, its title, date and
evidence, so each hit can be explained.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pipeline.classify.analysis import analyse, profile_seed  # noqa: E402
from pipeline.classify.dating import Dated  # noqa: E402
from pipeline.classify.embed import default_embedder  # noqa: E402
from pipeline.classify.relate import relate  # noqa: E402
from pipeline.classify.seeds import builtin_seed  # noqa: E402
from pipeline.classify.threads import load_thread_book  # noqa: E402
from pipeline.config import DedupSettings, ExtractSettings  # noqa: E402
from pipeline.extract.extractor import NoContent, extract  # noqa: E402
from pipeline.records import utcnow  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument(
        "--seed",
        action="append",
        help="built-in seed to relate to (repeatable; default: seed_article, nsi_corvane)",
    )
    args = parser.parse_args()
    embedder, book, settings = default_embedder(), load_thread_book(), DedupSettings()
    profiles = [
        profile_seed(builtin_seed(name), settings, book, embedder)
        for name in args.seed or ["seed_article", "nsi_corvane"]
    ]
    counts: Counter[str] = Counter()
    languages: Counter[str] = Counter()
    for path in sorted(args.folder.glob("*.htm*")):
        html = path.read_text("utf-8", errors="replace")
        page = extract(html, f"https://example.org/{path.name}", settings=ExtractSettings())
        if isinstance(page, NoContent):
            counts["no_content"] += 1
            continue
        languages[page.language or "?"] += 1
        analysis = analyse(page.text, page.title, settings, book, embedder)
        when = Dated.of(page.published_at, utcnow())
        for profile in profiles:
            result = relate(analysis, profile, settings, when)
            counts[f"{profile.seed.id}: {result.relation.value}"] += 1
            if result.relation.value == "unrelated":
                continue
            hit = {
                "seed": profile.seed.id,
                "page": path.name,
                "title": page.title,
                "relation": result.relation.value,
                "timing": result.evidence["timing"],
                "features": result.evidence["features"],
                "reason": result.evidence["reason"],
                "matched_passage": result.evidence["matched_passage"],
            }
            print(json.dumps(hit, ensure_ascii=False))
    print(json.dumps({"relations": dict(counts), "languages": dict(languages.most_common())}))


if __name__ == "__main__":
    main()
