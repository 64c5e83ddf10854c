"""A seed's follow-ups grouped into developments, found from the data.

A development is a run of follow-up stories about one thing that happened after the
seed: stories (story clusters, so copies and same-event reports are one story already)
whose lead embeddings are close join the earliest development they resemble. Each is
named by its distinctive terms — words and phrases frequent in its own headlines and
leads but rare in the other follow-ups' — so a seed needs no hand-written storyline
list: ``threads.json`` only adds labels where it has them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.classify.embed import DIMENSIONS, MODEL_ID, Vector, lead_text, vector_from_bytes
from pipeline.classify.key_terms import term_counts
from pipeline.classify.models import ArticleEmbedding
from pipeline.search.perspectives import Report, Side, cluster_reports, languages, sides
from pipeline.search.reports import StoryRef
from pipeline.store.models import Article

# Two stories whose leads are at least this close belong to one development; looser
# than one event (``dedup.event_cluster_threshold``): a development spans weeks.
DEVELOPMENT_SIMILARITY = 0.5
NAME_TERMS = 3


@dataclass
class Development:
    name: str  # its most distinctive terms, e.g. "sizewell · cgn stake · buy-out"
    terms: list[str]
    first: StoryRef  # the first report
    stories: list[StoryRef]  # in date order, the first included
    outlets: list[str] = field(default_factory=list)  # every outlet that reported it
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    # its reports side by side: UK outlets, Chinese official media, others
    sides: list[Side] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)  # of its reports


def group_developments(session: Session, stories: list[StoryRef]) -> list[Development]:
    """The stories (in date order) grouped into developments, in order of first report."""
    ids = [s.article_id for s in stories]
    vectors = _vectors(session, ids)
    leads = _leads(session, ids)
    groups: list[tuple[Vector, list[StoryRef]]] = []
    for story in stories:
        vector = vectors.get(story.article_id)
        best = -1
        if vector is not None:
            scores = [float(np.dot(centre, vector)) for centre, _ in groups]
            if scores and max(scores) >= DEVELOPMENT_SIMILARITY:
                best = int(np.argmax(scores))
        if vector is None or best < 0:
            start = vector if vector is not None else np.zeros(DIMENSIONS, dtype=np.float32)
            groups.append((start, [story]))
            continue
        centre, members = groups[best]
        members.append(story)
        mean = centre * (len(members) - 1) + vector
        groups[best] = (mean / (np.linalg.norm(mean) or 1.0), members)
    counts = [
        sum((term_counts(leads.get(s.article_id, s.title)) for s in members), Counter())
        for _, members in groups
    ]
    reports = cluster_reports(session, [s.cluster_id for s in stories])
    return [
        _development(members, _distinctive(i, counts), reports)
        for i, (_, members) in enumerate(groups)
    ]


def _development(
    members: list[StoryRef], terms: list[str], reports: dict[str, list[Report]]
) -> Development:
    outlets = list(dict.fromkeys(o for s in members for o in s.outlets))
    mine = [r for s in members for r in reports.get(s.cluster_id, [])]
    seen = [s.first_seen_at for s in members if s.first_seen_at is not None]
    return Development(
        name=" · ".join(terms) or members[0].title,
        terms=terms,
        first=members[0],
        stories=members,
        outlets=outlets,
        first_seen_at=min(seen) if seen else None,
        last_seen_at=max(seen) if seen else None,
        sides=sides(mine),
        languages=languages(mine),
    )


def _distinctive(index: int, counts: list[Counter[str]]) -> list[str]:
    """Terms frequent in this group and rare in the others (phrases first on ties)."""
    others: Counter[str] = Counter()
    for i, other in enumerate(counts):
        if i != index:
            others.update(set(other))
    spread = max(1, len(counts) - 1)
    mine = counts[index]
    scored = sorted(
        ((tf * (1 - others[t] / spread) * (1.5 if " " in t else 1.0), t) for t, tf in mine.items()),
        key=lambda x: (-x[0], x[1]),
    )
    chosen: list[str] = []
    for _, term in scored:
        if any(term in c or c in term for c in chosen):
            continue  # "sizewell" adds nothing next to "sizewell stake"
        chosen.append(term)
        if len(chosen) == NAME_TERMS:
            break
    return chosen


def _vectors(session: Session, article_ids: list[str]) -> dict[str, Vector]:
    if not article_ids:
        return {}
    rows = session.execute(
        select(ArticleEmbedding.article_id, ArticleEmbedding.vector).where(
            ArticleEmbedding.article_id.in_(article_ids), ArticleEmbedding.model == MODEL_ID
        )
    )
    return {aid: vector_from_bytes(raw) for aid, raw in rows}


def _leads(session: Session, article_ids: list[str]) -> dict[str, str]:
    if not article_ids:
        return {}
    rows = session.execute(
        select(Article.id, Article.title, Article.text).where(Article.id.in_(article_ids))
    )
    return {aid: lead_text(title, text or "") for aid, title, text in rows}
