"""Read-side queries over the store: articles with their story, clusters, threads, follow-ups.

Plain functions over a session, shared by the HTTP API, the web page and the CLI. They only
read, and they only see classified articles (status ``classified`` or ``indexed``), except
``article_detail``, which shows any stored article.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import ColumnElement, Text, cast, distinct, func, select
from sqlalchemy.orm import Session

from pipeline.classify.models import ArticleRevision, SeedRelation, StoryCluster
from pipeline.classify.seeds import Seed
from pipeline.classify.threads import ThreadBook
from pipeline.records import ArticleStatus, Relation
from pipeline.store.models import Article

CLASSIFIED = (ArticleStatus.CLASSIFIED, ArticleStatus.INDEXED)
UNTHREADED = "other"  # the group of follow-ups that carry no thread
_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass
class ArticleSummary:
    id: str
    title: str
    url: str
    outlet: str
    published_at: datetime | None
    relation: str | None
    threads: list[str]
    cluster_id: str | None


@dataclass
class ClusterDetail:
    id: str
    size: int
    outlets: list[str]  # in order of first appearance
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    representative_article_id: str | None
    members: list[ArticleSummary]  # earliest first


@dataclass
class SeedRelationInfo:
    seed_id: str
    relation: str
    score: float
    evidence: dict[str, Any]
    computed_at: datetime


@dataclass
class RevisionInfo:
    content_hash: str
    seen_at: datetime
    title: str | None
    word_count: int | None


@dataclass
class ArticleDetail:
    id: str
    url: str
    canonical_url: str
    title: str | None
    author: str | None
    outlet: str
    domain: str | None
    language: str | None
    perspective: str | None  # uk | china | international, from the feed that found it
    published_at: datetime | None
    date_source: str | None
    word_count: int | None
    text: str | None
    status: str
    discovered_at: datetime
    threads: list[str]
    relation: str | None  # to the default seed
    seed_similarity: float | None
    exact_duplicate_of: str | None
    cluster: ClusterDetail | None
    seed_relations: list[SeedRelationInfo]  # one per seed
    revisions: list[RevisionInfo]  # oldest first


@dataclass
class StoryRef:
    """One story cluster, as a line in a list."""

    cluster_id: str
    article_id: str  # its representative: the earliest published copy
    title: str
    url: str
    outlets: list[str]
    first_seen_at: datetime | None
    size: int
    threads: list[str] = field(default_factory=list)


@dataclass
class ThreadSummary:
    name: str
    label: str
    description: str
    articles: int
    stories: int
    latest: StoryRef | None  # the story of the most recently published article


@dataclass
class ThreadGroup:
    name: str
    label: str
    stories: list[StoryRef]  # in date order


@dataclass
class SeedInfo:
    id: str
    title: str | None
    outlet: str | None
    url: str | None
    published: date | None


@dataclass
class SeedFollowups:
    seed: SeedInfo
    copies: list[StoryRef]  # the clusters holding copies of the seed
    copy_outlets: list[str]  # every outlet that ran a copy
    followup_articles: int
    threads: list[ThreadGroup]  # in thread-definition order; UNTHREADED last
    background: list[StoryRef]  # related stories published before the seed, in date order
    developments: list[Any]  # the follow-ups grouped (pipeline.search.developments.Development)


@dataclass
class FilterChoices:
    outlets: list[str]
    languages: list[str]


def article_detail(session: Session, article_id: str) -> ArticleDetail | None:
    """Everything known about one article: record, story cluster, seed relations, revisions."""
    article = session.get(Article, article_id)
    if article is None:
        return None
    relations = session.scalars(
        select(SeedRelation)
        .where(SeedRelation.article_id == article_id)
        .order_by(SeedRelation.seed_id)
    )
    revisions = session.scalars(
        select(ArticleRevision)
        .where(ArticleRevision.article_id == article_id)
        .order_by(ArticleRevision.seen_at, ArticleRevision.id)
    )
    return ArticleDetail(
        id=article.id,
        url=article.url,
        canonical_url=article.canonical_url,
        title=article.title or article.feed_title,
        author=article.author,
        outlet=article.outlet,
        domain=article.domain,
        language=article.language,
        perspective=article.perspective,
        published_at=article.published_at,
        date_source=article.date_source,
        word_count=article.word_count,
        text=article.text,
        status=article.status,
        discovered_at=article.discovered_at,
        threads=list(article.threads or []),
        relation=article.relation,
        seed_similarity=article.seed_similarity,
        exact_duplicate_of=article.exact_duplicate_of,
        cluster=cluster_detail(session, article.cluster_id) if article.cluster_id else None,
        seed_relations=[
            SeedRelationInfo(r.seed_id, r.relation, r.score, r.evidence, r.computed_at)
            for r in relations
        ],
        revisions=[
            RevisionInfo(r.content_hash, r.seen_at, r.title, r.word_count) for r in revisions
        ],
    )


def cluster_detail(session: Session, cluster_id: str) -> ClusterDetail | None:
    """A story cluster and its members, earliest first."""
    cluster = session.get(StoryCluster, cluster_id)
    if cluster is None:
        return None
    members = session.scalars(
        select(Article)
        .where(Article.cluster_id == cluster_id, Article.status.in_(CLASSIFIED))
        .order_by(Article.published_at.is_(None), Article.published_at, Article.id)
    )
    return ClusterDetail(
        id=cluster.id,
        size=cluster.size,
        outlets=list(cluster.outlets or []),
        first_seen_at=cluster.first_seen_at,
        last_seen_at=cluster.last_seen_at,
        representative_article_id=cluster.representative_article_id,
        members=[summarise(a) for a in members],
    )


def thread_summaries(session: Session, book: ThreadBook) -> list[ThreadSummary]:
    """Every defined thread with its article and story counts and its latest story.

    The counts of all threads come from one pass over the articles; the latest story of
    a thread is its most recently published article's, found through the date index.
    """
    if not book.threads:
        return []
    counts: list[Any] = []
    for thread in book.threads:
        tagged = _has_thread(thread.name)
        counts += [
            func.count().filter(tagged),
            func.count(distinct(Article.cluster_id)).filter(tagged),
        ]
    totals = session.execute(select(*counts).where(Article.status.in_(CLASSIFIED))).one()
    summaries = []
    for i, thread in enumerate(book.threads):
        # Tagged and clustered means classified; no status test, so the date index serves.
        latest_cluster = session.scalar(
            select(Article.cluster_id)
            .where(
                _has_thread(thread.name),
                Article.cluster_id.is_not(None),
                Article.published_at.is_not(None),
            )
            .order_by(Article.published_at.desc(), Article.id)
            .limit(1)
        )
        latest = _story_refs(session, [latest_cluster]) if latest_cluster else []
        summaries.append(
            ThreadSummary(
                name=thread.name,
                label=thread.label,
                description=thread.description,
                articles=totals[2 * i],
                stories=totals[2 * i + 1],
                latest=latest[0] if latest else None,
            )
        )
    return summaries


def seed_followups(session: Session, seed: Seed, book: ThreadBook) -> SeedFollowups:
    """The seed's copies (clusters and outlets), its follow-up stories by thread and
    grouped into developments, and the background: related stories published before it.

    A follow-up story carrying two threads is listed under both; one carrying none is
    listed under ``UNTHREADED``. Within a thread, stories are in date order.
    """
    related = session.execute(
        select(SeedRelation.relation, Article.cluster_id, Article.threads)
        .join(Article, Article.id == SeedRelation.article_id)
        .where(
            SeedRelation.seed_id == seed.id,
            SeedRelation.relation.in_(
                [Relation.DUPLICATE.value, Relation.FOLLOW_UP.value, Relation.BACKGROUND.value]
            ),
            Article.status.in_(CLASSIFIED),
            Article.cluster_id.is_not(None),
        )
    ).all()
    copy_clusters: list[str] = []
    followup_threads: dict[str, list[str]] = {}  # cluster -> threads of its follow-ups
    background_clusters: list[str] = []
    followup_articles = 0
    for relation, cluster_id, threads in related:
        if relation == Relation.DUPLICATE.value:
            copy_clusters.append(cluster_id)
            continue
        if relation == Relation.BACKGROUND.value:
            background_clusters.append(cluster_id)
            continue
        followup_articles += 1
        known = followup_threads.setdefault(cluster_id, [])
        known.extend(t for t in threads or [] if t not in known)
    # Imported here: developments builds on this module's StoryRef.
    from pipeline.search.developments import group_developments

    copies = _story_refs(session, copy_clusters)
    stories = _story_refs(session, followup_threads)
    for story in stories:
        story.threads = followup_threads[story.cluster_id]
    labels = {t.name: t.label for t in book.threads}
    groups = [
        ThreadGroup(name, labels.get(name, name), [s for s in stories if name in s.threads])
        for name in [*labels, *sorted({t for s in stories for t in s.threads} - labels.keys())]
    ]
    unthreaded = [s for s in stories if not s.threads]
    groups.append(ThreadGroup(UNTHREADED, "Other follow-ups", unthreaded))
    return SeedFollowups(
        seed=SeedInfo(seed.id, seed.title, seed.outlet, seed.url, seed.published),
        copies=copies,
        copy_outlets=list(dict.fromkeys(o for story in copies for o in story.outlets)),
        followup_articles=followup_articles,
        threads=[g for g in groups if g.stories],
        background=_story_refs(session, dict.fromkeys(background_clusters)),
        developments=group_developments(session, stories),
    )


def filter_choices(session: Session) -> FilterChoices:
    """The outlets and languages that occur among classified articles, for search forms."""
    outlet = func.coalesce(Article.site_name, Article.domain)
    classified = Article.status.in_(CLASSIFIED)
    outlets = session.scalars(
        select(outlet).distinct().where(classified, outlet.is_not(None)).order_by(outlet)
    )
    languages = session.scalars(
        select(Article.language)
        .distinct()
        .where(classified, Article.language.is_not(None))
        .order_by(Article.language)
    )
    return FilterChoices([o for o in outlets if o], [lang for lang in languages if lang])


def _has_thread(name: str) -> ColumnElement[bool]:
    """Whether Article.threads (a JSON array) holds `name`.

    Matches the quoted name in the stored JSON text: the same SQL on SQLite and PostgreSQL.
    """
    quoted = json.dumps(name).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return cast(Article.threads, Text).like(f"%{quoted}%", escape="\\")


def _story_refs(session: Session, cluster_ids: Iterable[str]) -> list[StoryRef]:
    """StoryRefs of the given clusters, earliest first (undated last)."""
    ids = sorted(set(cluster_ids))
    if not ids:
        return []
    rows = session.execute(
        select(StoryCluster, Article)
        .join(Article, Article.id == StoryCluster.representative_article_id)
        .where(StoryCluster.id.in_(ids))
    ).all()
    refs = [
        StoryRef(
            cluster_id=cluster.id,
            article_id=article.id,
            title=article.display_title,
            url=article.canonical_url,
            outlets=list(cluster.outlets or []),
            first_seen_at=cluster.first_seen_at,
            size=cluster.size,
            threads=list(article.threads or []),
        )
        for cluster, article in rows
    ]
    return sorted(refs, key=_date_order)


def _date_order(story: StoryRef) -> tuple[bool, datetime, str]:
    seen = story.first_seen_at
    return (seen is None, seen or _NEVER, story.cluster_id)


def summarise(article: Article) -> ArticleSummary:
    return ArticleSummary(
        id=article.id,
        title=article.display_title,
        url=article.canonical_url,
        outlet=article.outlet,
        published_at=article.published_at,
        relation=article.relation,
        threads=list(article.threads or []),
        cluster_id=article.cluster_id,
    )
