"""What `extract()` adds to trafilatura, page by page in one process (CPU s).

    .venv/bin/python benchmarks/bench_extract_overhead.py [--pages 600]
        [--against OTHER/pipeline/extract/extractor.py]

Over the pages of benchmarks/corpus.py, each page in turn goes through: bare
`bare_extraction(html, url=..., with_metadata=True)` (the issue's speed limit);
`bare_extraction` as `extract()` calls it (parsed tree, the pipeline's settings); and
`extract()` itself. Interleaving them page by page keeps a shared machine's load
changes out of the ratios. With `--against`, another version of extractor.py (e.g. an
export of an earlier commit) runs beside this one, and the outcomes are compared.
Printed, not written: benchmarks/results/overhead.md quotes a run.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from collections import defaultdict
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from trafilatura import bare_extraction  # noqa: E402

from benchmarks.corpus import OUTLETS, build_corpus, render_page  # noqa: E402
from pipeline.config import ExtractSettings  # noqa: E402
from pipeline.extract import extractor  # noqa: E402


def load_other(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("other_extractor", path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=600)
    parser.add_argument("--against", type=Path, help="another extractor.py to time beside")
    args = parser.parse_args()
    bases = {n: f"http://127.0.0.{n + 10}:8000" for n in range(len(OUTLETS))}
    pages = [
        (f"{bases[p.outlet]}/news/{p.slug}.html", render_page(p, bases[p.outlet], bases))
        for p in build_corpus(args.pages)
    ]
    settings = ExtractSettings()
    versions = {"extract()": extractor}
    if args.against:
        versions["extract() of --against"] = load_other(args.against)
    for module in versions.values():
        module.warm_up()  # the model load is start-up, not per page
    cpu: defaultdict[str, float] = defaultdict(float)
    same = 0
    for url, html in pages:
        started = time.process_time()
        bare_extraction(html, url=url, with_metadata=True)
        cpu["bare"] += time.process_time() - started
        started = time.process_time()
        bare_extraction(
            extractor._parse(html),
            url=url,
            with_metadata=True,
            favor_precision=settings.favor_precision,
            include_comments=False,
            deduplicate=False,
            date_extraction_params=extractor._date_params(),
        )
        cpu["trafilatura as extract() calls it"] += time.process_time() - started
        outcomes = []
        for name, module in versions.items():
            started = time.process_time()
            outcomes.append(module.extract(html, url, settings=settings))
            cpu[name] += time.process_time() - started
        same += all(o == outcomes[0] for o in outcomes)
    print(f"{len(pages)} pages; identical outcomes: {same}")
    print("| | CPU s | / bare | / trafilatura as extract() calls it |\n|---|---:|---:|---:|")
    for name, seconds in cpu.items():
        own = seconds / cpu["trafilatura as extract() calls it"]
        print(f"| {name} | {seconds:.2f} | {seconds / cpu['bare']:.3f} | {own:.3f} |")


if __name__ == "__main__":
    main()
