"""Both sides of a story: the reports of one story or development, by perspective and language.

A story cluster holds the reports of one event (copies and same-event reports, in any
language); a development groups the follow-up stories about one thing that happened.
Every report carries its feed's perspective (``uk``, ``china``, ``international``; none
for an article that came from no feed, such as a backfilled one) and its detected
language, so a journalist can read how London and Beijing reported one event side by side.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session, load_only

from pipeline.classify.models import SeedRelation
from pipeline.classify.seeds import Seed
from pipeline.classify.threads import ThreadBook
from pipeline.records import Relation, as_utc
from pipeline.search.reports import (
    CLASSIFIED,
    SeedFollowups,
    StoryRef,
    ThreadGroup,
    seed_followups,
)
from pipeline.store.models import Article

if TYPE_CHECKING:  # developments builds on this module
    from pipeline.search.developments import Development

# The columns of the side-by-side view; reports without a perspective go with the others.
SIDES = (
    ("uk", "UK outlets"),
    ("china", "Chinese official media"),
    ("international", "Others"),
)
_NEVER = datetime.min.replace(tzinfo=UTC)
# What a Report is made of (display_title and outlet read title, feed_title, canonical_url,
# site_name and domain).
_REPORT_COLUMNS = (
    Article.id,
    Article.title,
    Article.feed_title,
    Article.canonical_url,
    Article.site_name,
    Article.domain,
    Article.language,
    Article.perspective,
    Article.published_at,
    Article.cluster_id,
)


@dataclass
class Report:
    """One article of a story or development, labelled for the side-by-side view."""

    article_id: str
    title: str
    url: str
    outlet: str
    language: str | None
    perspective: str | None  # uk | china | international; None: from no feed
    published_at: datetime | None
    cluster_id: str


@dataclass
class Side:
    perspective: str  # uk | china | international (with the reports of no perspective)
    label: str
    reports: list[Report]  # earliest first


@dataclass
class OtherSides:
    """What an article page links to: the same story's or development's reports in another
    language or from another perspective."""

    article_id: str
    development: str | None  # the name of the article's development, if it is in one
    same_story: list[Report]  # earliest first
    same_development: list[Report]  # other stories of the development, earliest first


@dataclass(frozen=True)
class ReportFilter:
    """The language and perspective filters of the follow-ups view; None lets all through."""

    language: str | None = None
    perspective: str | None = None

    def admits(self, report: Report) -> bool:
        return (self.language is None or report.language == self.language) and (
            self.perspective is None or report.perspective == self.perspective
        )


def cluster_reports(session: Session, cluster_ids: Iterable[str]) -> dict[str, list[Report]]:
    """Every classified article of these story clusters, earliest first (undated last)."""
    ids = sorted(set(cluster_ids))
    if not ids:
        return {}
    rows = session.scalars(
        select(Article)
        .options(load_only(*_REPORT_COLUMNS))  # not the text: a development may be large
        .where(Article.cluster_id.in_(ids), Article.status.in_(CLASSIFIED))
        .order_by(Article.published_at.is_(None), Article.published_at, Article.id)
    )
    found: dict[str, list[Report]] = {}
    for article in rows:
        assert article.cluster_id is not None  # selected by it
        found.setdefault(article.cluster_id, []).append(
            Report(
                article_id=article.id,
                title=article.display_title,
                url=article.canonical_url,
                outlet=article.outlet,
                language=article.language,
                perspective=article.perspective,
                published_at=as_utc(article.published_at),
                cluster_id=article.cluster_id,
            )
        )
    return found


def sides(reports: Iterable[Report]) -> list[Side]:
    """The reports by perspective, every side listed (an empty one says nobody reported it)."""
    columns: dict[str, list[Report]] = {name: [] for name, _ in SIDES}
    for report in sorted(reports, key=_date_order):
        perspective = report.perspective if report.perspective in columns else "international"
        columns[perspective].append(report)
    return [Side(name, label, columns[name]) for name, label in SIDES]


def languages(reports: Iterable[Report]) -> list[str]:
    return sorted({r.language for r in reports if r.language})


def both_sides(developments: Iterable[Development]) -> Development | None:
    """The first development reported both by UK outlets and by Chinese official media, in
    more than one language; None if there is none."""
    for development in developments:
        reported = {side.perspective for side in development.sides if side.reports}
        if {"uk", "china"} <= reported and len(development.languages) > 1:
            return development
    return None


def narrow_followups(
    session: Session, followups: SeedFollowups, wanted: ReportFilter
) -> SeedFollowups:
    """The follow-ups view with only the stories that have a report `wanted` admits, and
    in each development only those reports."""
    if wanted == ReportFilter():
        return followups
    story_ids = [s.cluster_id for s in (*followups.copies, *followups.background)]
    story_ids += [s.cluster_id for group in followups.threads for s in group.stories]
    by_cluster = cluster_reports(session, story_ids)

    def kept(stories: list[StoryRef]) -> list[StoryRef]:
        return [s for s in stories if any(map(wanted.admits, by_cluster.get(s.cluster_id, [])))]

    developments: list[Development] = []
    for development in followups.developments:
        stories = kept(development.stories)
        if stories:
            reports = [r for side in development.sides for r in side.reports if wanted.admits(r)]
            developments.append(
                replace(
                    development,
                    stories=stories,
                    sides=sides(reports),
                    languages=languages(reports),
                )
            )
    copies = kept(followups.copies)
    threads = [ThreadGroup(g.name, g.label, kept(g.stories)) for g in followups.threads]
    followup_ids = {s.cluster_id for g in threads for s in g.stories}
    return replace(
        followups,
        copies=copies,
        copy_outlets=list(dict.fromkeys(o for story in copies for o in story.outlets)),
        followup_articles=sum(
            wanted.admits(r) for cid in followup_ids for r in by_cluster.get(cid, [])
        ),
        threads=[g for g in threads if g.stories],
        background=kept(followups.background),
        developments=developments,
    )


def other_sides(
    session: Session, article_id: str, seeds: list[Seed], book: ThreadBook
) -> OtherSides | None:
    """The reports of the article's story, and of the development it belongs to among the
    seeds' follow-ups, that are in another language or from another perspective."""
    article = session.get(Article, article_id)
    if article is None:
        return None
    if article.cluster_id is None:
        return OtherSides(article_id, None, [], [])

    def differs(report: Report) -> bool:
        return report.language != article.language or report.perspective != article.perspective

    story = cluster_reports(session, [article.cluster_id]).get(article.cluster_id, [])
    following = set(
        session.scalars(
            select(SeedRelation.seed_id).where(
                SeedRelation.article_id == article_id,
                SeedRelation.relation == Relation.FOLLOW_UP.value,
            )
        )
    )
    development = _development_of(
        session, article.cluster_id, [s for s in seeds if s.id in following], book
    )
    elsewhere = []
    if development is not None:
        elsewhere = [
            r
            for side in development.sides
            for r in side.reports
            if r.cluster_id != article.cluster_id and differs(r)
        ]
    return OtherSides(
        article_id=article_id,
        development=development.name if development else None,
        same_story=[r for r in story if r.article_id != article_id and differs(r)],
        same_development=sorted(elsewhere, key=_date_order),
    )


def _development_of(
    session: Session, cluster_id: str, seeds: list[Seed], book: ThreadBook
) -> Development | None:
    """The first development, over the seeds (those the article follows up) in order,
    that holds this story."""
    for seed in seeds:
        developments: list[Development] = seed_followups(session, seed, book).developments
        for development in developments:
            if any(s.cluster_id == cluster_id for s in development.stories):
                return development
    return None


def _date_order(report: Report) -> tuple[bool, datetime, str]:
    when = report.published_at
    return (when is None, when or _NEVER, report.article_id)
