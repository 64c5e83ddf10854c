"""The search service benchmark's corpus: synthetic articles in a store and an FTS5 index.

N synthetic articles (fixed random seed): story clusters with copies across outlets,
threads, relations to the seed, stored as the index stage leaves them (indexed). The store
is filled with Core executemany and the index by one bulk load (SqliteFtsIndex.load) of
the documents the index stage would send, so 100,000 articles build in minutes. The built
files are kept in a corpus cache (by size and the code that builds them) and copied from
there by later runs.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import random
import shutil
import sqlite3
import statistics
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from pipeline.classify.models import SeedRelation, StoryCluster
from pipeline.config import Settings
from pipeline.index.factory import open_index
from pipeline.index.sqlite_fts import SqliteFtsIndex
from pipeline.index.stage import to_document
from pipeline.records import ArticleStatus, IndexState, Relation
from pipeline.store import open_store
from pipeline.store.migrate import head_revision
from pipeline.store.models import Article

CORPUS_CACHE = Path.home() / ".cache" / "newswatch" / "bench_api"
CORPUS_FILES = ("newswatch.db", "search.db")
SEED_ID = "seed_article"
START = datetime(2020, 7, 21, 9, 0, tzinfo=UTC)
INDEXED_AT = datetime(2021, 8, 1, tzinfo=UTC)
_CHUNK = 5000

OUTLETS = [
    "The Northgate Courier",
    "Westminster Wire",
    "Harbour Post Asia",
    "Pacific Ledger",
    "The Albion Herald",
    "Meridian Business Daily",
    "Fenwick Gazette",
    "Lowland Observer",
    "Channel Daily",
    "The Estuary Times",
    "Coastline Review",
    "Summit Report",
]
# Per thread: words a story on it uses. Sentences are built from these and filler.
TOPICS = {
    "huawei-5g": ["Huawei", "5G network", "telecoms operators", "high-risk vendors", "masts"],
    "hong-kong": ["Hong Kong", "national security law", "extradition treaty", "activists"],
    "xinjiang": ["Xinjiang", "Uighur", "forced labour", "cotton supply chains", "sanctions"],
    "nuclear": ["Sizewell C", "Hinkley Point", "Bradwell", "nuclear stake", "CGN"],
    "sanctions-trade": ["trade deal", "investment screening", "export controls", "tariffs"],
    "five-eyes-security": ["Five Eyes", "intelligence sharing", "security review", "allies"],
}
FILLER_TEXT = (
    "ministers officials said on Tuesday the plan would be reviewed again before the autumn "
    "while critics warned that the timetable was ambitious and costs remained unclear for "
    "councils businesses and households across the country according to people familiar "
    "with the discussions who asked not to be named because talks were private"
)
FILLER = FILLER_TEXT.split()


def sentence(rng: random.Random, terms: list[str]) -> str:
    words = rng.sample(FILLER, 12)
    for term in rng.sample(terms, 2):
        words.insert(rng.randrange(len(words)), term)
    return " ".join(words).capitalize() + "."


def generate(rng: random.Random, count: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Article rows and story-cluster rows: ~25% of articles are copies of an earlier story."""
    articles: list[dict[str, Any]] = []
    clusters: dict[str, dict[str, Any]] = {}
    names = list(TOPICS)
    for i in range(count):
        published = START + timedelta(minutes=rng.randrange(0, 365 * 24 * 60))
        outlet = rng.choice(OUTLETS)
        aid = f"{i:032x}"
        if articles and rng.random() < 0.25:
            original = rng.choice(articles[-200:])
            text = original["text"] + " " + sentence(rng, TOPICS[original["threads"][0]])
            title, threads = original["title"], original["threads"]
            relation, cluster_id = original["relation"], original["cluster_id"]
        else:
            threads = rng.sample(names, rng.choice([1, 1, 2]))
            terms = [t for name in threads for t in TOPICS[name]]
            paragraphs = [
                " ".join(sentence(rng, terms) for _ in range(4)) for _ in range(rng.randint(3, 6))
            ]
            text = "\n".join(paragraphs)
            title = f"{rng.choice(terms)}: {' '.join(rng.sample(FILLER, 6))}".capitalize()
            relation = rng.choices(
                [Relation.FOLLOW_UP.value, Relation.UNRELATED.value, Relation.DUPLICATE.value],
                weights=[30, 69, 1],
            )[0]
            cluster_id = aid
        domain = outlet.lower().replace("the ", "").replace(" ", "-") + ".example"
        url = f"https://{domain}/news/{aid}"
        articles.append(
            {
                "id": aid,
                "canonical_url": url,
                "url": url,
                "status": ArticleStatus.CLASSIFIED,
                "title": title,
                "text": text,
                "word_count": len(text.split()),
                "published_at": published,
                "date_source": "page",
                "site_name": outlet,
                "domain": domain,
                "language": "en",
                "cluster_id": cluster_id,
                "relation": relation,
                "seed_similarity": 0.5,
                "threads": threads,
                "classified_at": published,
                "index_state": IndexState.PENDING,
                "discovered_at": published,
                "updated_at": published,
            }
        )
        cluster = clusters.setdefault(
            cluster_id,
            {"id": cluster_id, "representative_article_id": aid, "outlets": [], "size": 0},
        )
        cluster["size"] += 1
        if outlet not in cluster["outlets"]:
            cluster["outlets"].append(outlet)
        seen = [published, cluster.get("first_seen_at", published)]
        cluster["first_seen_at"] = min(seen)
        cluster["last_seen_at"] = max([published, cluster.get("last_seen_at", published)])
    return articles, list(clusters.values())


def build(data_dir: Path, count: int) -> dict[str, float]:
    """A fresh store and index with `count` articles; returns timings."""
    settings = Settings(data_dir=data_dir, feeds=[])
    store = open_store(settings.resolved_database_url)
    backend = open_index(settings)
    if not isinstance(backend, SqliteFtsIndex):
        raise SystemExit("the benchmark measures the embedded backend (index.backend=sqlite)")
    backend.ensure_ready()
    rng = random.Random(20200721)
    started = time.perf_counter()
    articles, clusters = generate(rng, count)
    for article in articles:  # as the index stage leaves them
        article.update(
            status=ArticleStatus.INDEXED, index_state=IndexState.INDEXED, indexed_at=INDEXED_AT
        )
    relations = [
        {
            "article_id": a["id"],
            "seed_id": SEED_ID,
            "relation": a["relation"],
            "score": 0.5,
            "evidence": {"reason": "synthetic benchmark article"},
            "computed_at": a["classified_at"],
        }
        for a in articles
    ]
    with store.engine.begin() as conn:
        for chunk in range(0, count, _CHUNK):
            conn.execute(insert(Article), articles[chunk : chunk + _CHUNK])
            conn.execute(insert(SeedRelation), relations[chunk : chunk + _CHUNK])
        conn.execute(insert(StoryCluster), clusters)
    stored = time.perf_counter()
    backend.load(to_document(Article(**a), INDEXED_AT) for a in articles)
    indexed = time.perf_counter()
    store.dispose()
    if backend.count() != count:
        raise SystemExit(f"indexing failed: {backend.count()} of {count} documents")
    return {
        "store_s": stored - started,
        "index_s": indexed - stored,
        "clusters": len(clusters),
        "words": statistics.mean(a["word_count"] for a in articles),
    }


def cached_build(data_dir: Path, count: int, cache: Path) -> dict[str, Any]:
    """`build`, or a copy of the corpus an earlier run built with the same code and size."""
    code = inspect.getsource(generate) + inspect.getsource(build) + repr((TOPICS, FILLER))
    key = hashlib.sha256(f"{count} {head_revision()} {code}".encode()).hexdigest()[:16]
    kept = cache / f"{count}-{key}"
    timings = kept / "build.json"
    if not timings.is_file():
        fresh = kept.with_name(kept.name + ".building")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        built = build(fresh, count)
        for name in CORPUS_FILES:  # everything into the main files, which alone are copied
            with closing(sqlite3.connect(fresh / name)) as conn:
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (fresh / "build.json").write_text(json.dumps(built), encoding="utf-8")
        shutil.rmtree(kept, ignore_errors=True)
        fresh.rename(kept)  # only a finished corpus is ever reused
    for name in CORPUS_FILES:
        shutil.copyfile(kept / name, data_dir / name)
    built = json.loads(timings.read_text(encoding="utf-8"))
    return {**built, "cache": str(kept)}
