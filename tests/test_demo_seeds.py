"""`newswatch demo` follows both built-in seeds: the second, with no keyword lists, gets its
same-event report, follow-ups and background from the sample newsroom by meaning alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.classify.seeds import load_seeds
from pipeline.classify.threads import load_thread_book
from pipeline.cli.run import print_demo_report
from pipeline.demo.command import demo_settings
from pipeline.demo.server import NewsroomServer
from pipeline.index.factory import open_index
from pipeline.runs.runner import run_pipeline
from pipeline.search.reports import SeedFollowups, StoryRef, seed_followups
from pipeline.store import Store
from pipeline.urls import article_id, canonical_url
from tests.conftest import make_test_settings


@pytest.fixture(scope="module")
def newsroom() -> Iterator[NewsroomServer]:
    with NewsroomServer(slow_seconds=1.0) as server:
        yield server


def _ids(stories: list[StoryRef]) -> set[str]:
    return {s.article_id for s in stories}


def test_demo_reports_the_second_seed_without_keyword_lists(
    tmp_path: Path, newsroom: NewsroomServer, store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = demo_settings(make_test_settings(tmp_path), newsroom)
    assert [s.id for s in load_seeds(settings)] == ["seed_article", "nsi_corvane"]
    backend = open_index(settings)
    backend.ensure_ready()
    summary = run_pipeline(store.sessions, settings, backend)
    assert summary.state == "succeeded"

    ids = {a.slug: article_id(canonical_url(a.url)) for a in newsroom.manifest()}
    corvane = load_seeds(settings)[1]
    book = load_thread_book(None)
    with store.sessions() as session:
        report: SeedFollowups = seed_followups(session, corvane, book)
    # The Westminster Wire report of the veto, in its own words: the seed's own story.
    assert ids["corvane-takeover-blocked-filton"] in _ids(report.copies)
    followups = {s.article_id for d in report.developments for s in d.stories}
    assert {
        ids["corvane-hailan-high-court-challenge"],
        ids["corvane-sold-to-british-defence-group"],
    } <= followups
    assert ids["corvane-deal-called-in-review"] in _ids(report.background)
    # Nothing about the Pompeo story is taken for a Corvane follow-up.
    pompeo = {ids[a.slug] for a in newsroom.manifest() if not a.slug.startswith("corvane-")}
    assert not followups & pompeo
    # Nor for its background: UK–China coverage of another story is not this one's. The
    # bill that created the investment-security powers is (as in benchmarks/dedup_eval).
    bill = ids["national-security-investment-bill"]
    assert _ids(report.background) == {ids["corvane-deal-called-in-review"], bill}
    assert not _ids(report.copies) & pompeo

    print_demo_report(store, settings)
    out = capsys.readouterr().out
    pompeo_part, corvane_part = out.split("Seed: Ministers block Chinese-owned buyer's")
    assert "Seed: Mike Pompeo" in pompeo_part
    assert "copies; published by Westminster Wire" in corvane_part
    assert "Follow-ups of the seed (2 articles)" in corvane_part
    assert "Hailan takes" in corvane_part and "2022-08-23" in corvane_part
    assert "2022-03-09 Ministers order security review" in corvane_part
