"""The relevance pre-filter: candidates scored against the shipped seed before any fetch."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest

from pipeline.feeds.relevance import (
    Candidate,
    CombinedScorer,
    LexicalScorer,
    SemanticScorer,
    make_scorer,
    slug_text,
)
from tests.conftest import make_test_settings


@pytest.fixture(scope="module")
def scorer(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    return make_scorer(make_test_settings(Path(tmp_path_factory.mktemp("relevance"))))


def test_slug_words() -> None:
    assert slug_text("https://x.example/world/2020/jul/21/huawei-5g_ban.html") == (
        "world jul huawei 5g ban"
    )


def test_story_slugs_outscore_unrelated_ones(scorer) -> None:  # type: ignore[no-untyped-def]
    urls = [
        "https://x.example/news/2020/07/14/huawei-5g-removal-ordered.html",
        "https://x.example/politics/uk-suspends-hong-kong-extradition-treaty",
        "https://x.example/politics/uk-sanctions-xinjiang-officials-20210322.html",
        "https://x.example/local/village-fete-cancelled",
        "https://x.example/news/2020/12/18/christmas-market-returns.html",
    ]
    scores = scorer.score([Candidate(u) for u in urls])
    story, unrelated = scores[:3], scores[3:]
    assert min(story) > max(unrelated)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert max(unrelated) < 0.05  # below the default backfill.min_score


def test_lexical_and_semantic_by_default(scorer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert scorer.name == "lexical+semantic"
    lexical_only = make_scorer(make_test_settings(tmp_path, backfill={"semantic_weight": 0}))
    assert isinstance(lexical_only, LexicalScorer)
    semantic_only = make_scorer(make_test_settings(tmp_path, backfill={"semantic_weight": 1}))
    assert isinstance(semantic_only, SemanticScorer)


def test_a_slug_meaning_the_story_in_other_words_outranks_unrelated_ones(  # type: ignore[no-untyped-def]
    scorer,
) -> None:
    # Pompeo urging Tory MPs to stand up to China, with none of the seed's words.
    same_story = (
        "https://x.example/world/american-diplomat-urges-conservative-lawmakers-to-confront-peking"
    )
    unrelated = [
        "https://x.example/world/us-election-biden-wins",
        "https://x.example/sport/football/premier-league-results",
        "https://x.example/business/bank-of-england-holds-interest-rates",
        "https://x.example/local/village-fete-cancelled",
    ]
    batch = [Candidate(u) for u in [same_story, *unrelated]]
    lexical, semantic = (part.score(batch) for part, _ in scorer._parts)
    assert lexical[0] == 0.0  # no keyword shared: lexical alone would drop it
    assert semantic[0] > max(semantic[1:])
    combined = scorer.score(batch)
    assert combined[0] > max(combined[1:])
    assert combined[0] >= 0.05 > max(combined[1:])  # kept at the default backfill.min_score
    assert scorer.score([]) == []


def test_a_news_title_adds_evidence(scorer) -> None:  # type: ignore[no-untyped-def]
    url = "https://x.example/story/4821"
    bare, titled = scorer.score(
        [Candidate(url), Candidate(url, "Pompeo tells Tory MPs Britain needs a China strategy")]
    )
    assert bare == 0.0 and titled > 0.3


class _Fixed:
    def __init__(self, name: str, value: float) -> None:
        self.name, self.value = name, value

    def score(self, candidates: Sequence[Candidate]) -> list[float]:
        return [self.value] * len(candidates)


def test_combined_scorer_is_a_weighted_mean() -> None:
    combined = CombinedScorer([(_Fixed("a", 1.0), 3.0), (_Fixed("b", 0.0), 1.0)])
    assert combined.name == "a+b"
    assert combined.score([Candidate("https://x.example/")]) == [0.75]
    with pytest.raises(ValueError):
        CombinedScorer([])
