"""Loading seed stories: built-in, files with front matter, HTML files, URLs."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from pipeline.classify.seeds import SeedError, builtin_seed, load_seed, load_seeds
from pipeline.config import Settings

SHARED_SEED = Path(__file__).parents[2] / "pipeline" / "data" / "seeds" / "seed_article.txt"
BODY = (Path(__file__).parents[1] / "fixtures" / "dedup" / "library_reopening.txt").read_text(
    encoding="utf-8"
)


def test_the_builtin_seed_has_its_metadata_and_no_repeated_headline() -> None:
    seed = builtin_seed("seed_article")
    assert seed.id == "seed_article"
    assert seed.title == "Mike Pompeo Tells Tory MPs UK Needs Tougher ‘Grand Strategy’ On China"
    assert seed.outlet == "HuffPost UK"
    assert seed.published == date(2020, 7, 21)
    assert seed.url is None  # not confirmed, so not invented
    assert seed.text.startswith("US secretary of state Mike Pompeo arrives")
    assert seed.full_text.startswith(seed.title)


def test_the_default_settings_load_the_builtin_seed(settings: Settings) -> None:
    [seed] = load_seeds(settings)
    assert seed.id == "seed_article"


def test_unknown_builtin_seed_lists_the_known_ones() -> None:
    with pytest.raises(SeedError, match="seed_article"):
        builtin_seed("nope")


def test_a_text_file_with_front_matter(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "library.txt"
    path.write_text(
        "---\nid: library\ntitle: Library reopens\noutlet: Dunmere Post\n"
        "published: 2021-05-01T10:00:00+01:00\n---\n" + BODY,
        encoding="utf-8",
    )
    seed = load_seed(str(path), settings)
    assert (seed.id, seed.title, seed.outlet) == ("library", "Library reopens", "Dunmere Post")
    assert seed.published == date(2021, 5, 1)
    assert seed.text == BODY.strip()


def test_a_plain_text_file_is_named_after_the_file(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "library-story.txt"
    path.write_text(BODY, encoding="utf-8")
    seed = load_seed(str(path), settings)
    assert seed.id == "library-story"
    assert seed.title is None


def test_seeds_must_have_unique_ids(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    other = tmp_path_factory.mktemp("other") / "library.txt"
    first = tmp_path / "library.txt"
    for path in (first, other):
        path.write_text(BODY, encoding="utf-8")
    settings = Settings(data_dir=tmp_path, dedup={"seeds": [str(first), str(other)]})
    with pytest.raises(SeedError, match="unique"):
        load_seeds(settings)


def test_missing_and_empty_files_are_errors(tmp_path: Path, settings: Settings) -> None:
    with pytest.raises(SeedError, match="cannot read"):
        load_seed(str(tmp_path / "missing.txt"), settings)
    empty = tmp_path / "empty.txt"
    empty.write_text("---\ntitle: Nothing\n---\n", encoding="utf-8")
    with pytest.raises(SeedError, match="no text"):
        load_seed(str(empty), settings)


def article_html(title: str, body: str) -> str:
    paragraphs = "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
    return (
        f"<html><head><title>{title}</title>"
        '<meta property="og:site_name" content="Dunmere Post">'
        '<meta property="article:published_time" content="2021-05-01T09:00:00Z">'
        f"</head><body><article><h1>{title}</h1>{paragraphs}</article></body></html>"
    )


def test_an_html_file_is_extracted(tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "library.html"
    path.write_text(article_html("Library reopens after refurbishment", BODY), encoding="utf-8")
    seed = load_seed(str(path), settings)
    assert seed.id == "library"
    assert "reading garden" in seed.text
    assert seed.url is None


def test_a_url_seed_is_downloaded_and_extracted(httpserver: HTTPServer, settings: Settings) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/news/library").respond_with_data(
        article_html("Library reopens after refurbishment", BODY), content_type="text/html"
    )
    url = httpserver.url_for("/news/library")
    seed = load_seed(url, settings)
    assert "reading garden" in seed.text
    assert seed.url is not None and seed.url.endswith("/news/library")
    assert len(seed.id) == 32  # the article id the page would have in the store
