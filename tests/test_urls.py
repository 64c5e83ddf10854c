import pytest

from pipeline.urls import InvalidUrl, article_id, canonical_url, domain_of


@pytest.mark.parametrize(
    ("variant", "canonical"),
    [
        ("https://News.Example.org/a/story.html", "https://news.example.org/a/story.html"),
        ("https://news.example.org:443/a/story.html", "https://news.example.org/a/story.html"),
        ("http://news.example.org:80/a/story.html", "http://news.example.org/a/story.html"),
        ("https://news.example.org/a/story.html#comments", "https://news.example.org/a/story.html"),
        (
            "https://news.example.org/a/story.html?utm_source=rss&utm_medium=feed",
            "https://news.example.org/a/story.html",
        ),
        (
            "https://news.example.org/a/story.html?fbclid=IwAR0abc",
            "https://news.example.org/a/story.html",
        ),
        (
            "https://news.example.org/a/story.html?gclid=xyz",
            "https://news.example.org/a/story.html",
        ),
        ("  https://news.example.org/a/story.html  ", "https://news.example.org/a/story.html"),
        ("https://news.example.org", "https://news.example.org/"),
    ],
)
def test_tracking_variants_share_one_canonical_url(variant: str, canonical: str) -> None:
    assert canonical_url(variant) == canonical


def test_meaningful_query_parameters_are_kept_in_a_stable_order() -> None:
    first = canonical_url("https://example.org/story?id=42&page=2&utm_campaign=x")
    second = canonical_url("https://example.org/story?page=2&id=42")
    assert first == second == "https://example.org/story?id=42&page=2"


def test_non_default_port_is_kept() -> None:
    assert canonical_url("http://127.0.0.3:8650/x") == "http://127.0.0.3:8650/x"


def test_article_id_is_stable_and_distinguishes_urls() -> None:
    a = article_id(canonical_url("https://example.org/a?utm_source=x"))
    assert a == article_id("https://example.org/a")
    assert a != article_id("https://example.org/b")
    assert len(a) == 32 and all(c in "0123456789abcdef" for c in a)


@pytest.mark.parametrize(
    "bad",
    ["", "ftp://example.org/file", "javascript:alert(1)", "mailto:desk@example.org", "http:///x"],
)
def test_unfetchable_links_are_refused_with_a_reason(bad: str) -> None:
    with pytest.raises(InvalidUrl, match="http"):
        canonical_url(bad)


def test_domain_drops_www_only() -> None:
    assert domain_of("https://www.example.co.uk/x") == "example.co.uk"
    assert domain_of("https://news.example.co.uk/x") == "news.example.co.uk"
