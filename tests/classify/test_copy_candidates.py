"""The stored texts a batch reads up front hold every candidate its texts are checked
against, on a real store (SQLite, and PostgreSQL when reachable)."""

from __future__ import annotations

from pathlib import Path

from pipeline.classify.copies import near_duplicate, prefetch, record
from pipeline.classify.dedup import fingerprint
from pipeline.classify.models import Passage
from pipeline.classify.repository import MAX_PASSAGE_CANDIDATES, StoredPrint
from pipeline.config import Settings
from pipeline.records import ArticleStatus
from pipeline.store import Store
from tests.articles import insert_article
from tests.classify.support import T0

FIXTURES = Path(__file__).parent.parent / "fixtures" / "dedup"
POTHOLES = (FIXTURES / "council_potholes.txt").read_text(encoding="utf-8")
LIBRARY = (FIXTURES / "library_reopening.txt").read_text(encoding="utf-8")


def stored(store: Store, name: str, text: str, passages: list[int], status: str) -> str:
    aid = insert_article(
        store,
        f"https://s.example/{name}",
        text,
        status=status,
        title=name,
        outlet="S",
        published=T0,
        discovered=T0,
        cluster_id=f"cluster-{name}",
    )
    with store.sessions() as session, session.begin():
        session.add_all(Passage(passage_hash=h, article_id=aid) for h in passages)
    return aid


def test_a_stored_copy_that_a_revision_of_the_batch_lets_into_the_best_passages_is_read(
    store: Store, settings: Settings
) -> None:
    text = fingerprint(POTHOLES, settings.dedup)
    first, second, third = sorted(text.passages)[:3]
    # Stored passage matches, best first: a page of the batch being re-classified (its old
    # text shared three passages), the best but one stored pages (two each), then a copy
    # of the text sharing one: ranked just outside the best ones.
    revised = stored(store, "revised", LIBRARY, [first, second, third], ArticleStatus.EXTRACTED)
    for n in range(MAX_PASSAGE_CANDIDATES - 1):
        stored(store, f"other-{n:02d}", LIBRARY, [first, second], ArticleStatus.CLASSIFIED)
    copy = stored(store, "zz-copy", POTHOLES, [first], ArticleStatus.CLASSIFIED)
    with store.sessions() as session:
        new_text = fingerprint(LIBRARY, settings.dedup)
        prints = [StoredPrint(revised, new_text, T0), StoredPrint("new", text, T0)]
        copies = prefetch(session, prints, settings.dedup)
    # The revision is classified first: its new text shares none of those passages, so
    # the stored copy moves into the best ones and must be verified.
    record(copies, revised, revised, new_text, original=True, new_print=prints[0])
    match = near_duplicate(copies, "new", text, T0)
    assert match is not None
    assert (match.article_id, match.containment) == (copy, 1.0)
