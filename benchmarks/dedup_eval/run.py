"""Run the real classify stage over items of the corpus, on a fresh SQLite store.

Every seed the corpus is labelled against is configured (the default seed first, no
thread file beyond the shipped one) and also stored as an article under its own id, so
copies of a seed can cluster with it. Undated items get no publication date and their
`discovered` time as discovery time, as a crawler would record them.
"""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from datetime import time as clock
from pathlib import Path

from sqlalchemy import select

from benchmarks.dedup_eval.load import SEED_EVENTS, EvalItem
from benchmarks.dedup_eval.score import Prediction
from pipeline.classify.models import SeedRelation
from pipeline.classify.seeds import Seed, builtin_seed
from pipeline.classify.stage import classify_pending
from pipeline.config import load_settings
from pipeline.records import ArticleStatus
from pipeline.store import open_store
from pipeline.store.models import Article

SEED_HOUR = clock(12, 0, tzinfo=UTC)  # a seed's day is known, its hour is not


@dataclass(frozen=True)
class Run:
    predictions: dict[str, Prediction]  # by item id, and by seed id for the seeds
    seconds: float  # time spent in the classify stage
    relations: dict[tuple[str, str], str]  # (item id, seed id) -> relation, every seed

    def against(self, seed: str) -> dict[str, Prediction]:
        """Predictions whose relation is the one to `seed`, whatever the item's own seed."""
        return {
            key: replace(p, relation=self.relations[(key, seed)])
            for key, p in self.predictions.items()
            if (key, seed) in self.relations
        }


def seed_time(seed: Seed) -> datetime:
    if seed.published is None:
        raise ValueError(f"seed {seed.id} has no publication date")
    return datetime.combine(seed.published, SEED_HOUR)


def classify_items(items: Iterable[EvalItem], seeds: Iterable[str] = tuple(SEED_EVENTS)) -> Run:
    """Classify the items (with default settings) and read back what the stage decided."""
    items = list(items)
    loaded = [builtin_seed(name) for name in seeds]
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(
            data_dir=Path(tmp), dedup={"seeds": [f"builtin:{s.id}" for s in loaded]}
        )
        store = open_store(f"sqlite:///{Path(tmp) / 'eval.db'}")
        with store.sessions() as session, session.begin():
            for seed in loaded:
                when = seed_time(seed)
                session.add(
                    _article(seed.id, seed.title, seed.text, seed.outlet or "seed", when, when)
                )
            for item in items:
                published = item.published.astimezone(UTC) if item.published else None
                session.add(
                    _article(
                        item.id,
                        item.title,
                        item.text,
                        item.outlet,
                        published,
                        item.seen_at.astimezone(UTC),
                    )
                )
        started = time.perf_counter()
        classify_pending(store.sessions, settings)
        seconds = time.perf_counter() - started
        with store.sessions() as session:
            articles = {a.id: a for a in session.scalars(select(Article))}
            relations = {
                (r.article_id, r.seed_id): r.relation for r in session.scalars(select(SeedRelation))
            }
            predictions = {}
            for seed in loaded:
                cluster = articles[seed.id].cluster_id or seed.id
                predictions[seed.id] = Prediction("duplicate", cluster, cluster)
            for item in items:
                article = articles[item.id]
                cluster = article.cluster_id or article.id
                predictions[item.id] = Prediction(
                    relation=relations[(item.id, item.seed)],
                    cluster=cluster,
                    # Today's classifier has one kind of cluster (copies, plus rewrites of a
                    # seed joined to it); same-event clusters are scored against it too.
                    event=cluster,
                    threads=frozenset(article.threads or ()),
                )
        store.dispose()
    return Run(predictions, seconds, {k: str(v) for k, v in relations.items()})


def _article(
    aid: str,
    title: str | None,
    text: str,
    outlet: str,
    published: datetime | None,
    discovered: datetime,
) -> Article:
    slug = re.sub(r"[^a-z0-9]+", "-", outlet.lower()).strip("-") or "outlet"
    url = f"https://{slug}.example/{aid}"
    return Article(
        id=aid,
        canonical_url=url,
        url=url,
        status=ArticleStatus.EXTRACTED,
        title=title,
        text=text,
        word_count=len(text.split()),
        published_at=published,
        discovered_at=discovered,
        site_name=outlet,
        domain=url.split("/")[2],
    )
