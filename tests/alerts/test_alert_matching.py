"""Matching terms in cleaned text: word boundaries, aliases, phrases, exclusions, filters."""

from __future__ import annotations

import pytest

from pipeline.alerts.matching import ArticleFacts, filter_reason, match_rule
from pipeline.alerts.rules import Rule
from tests.alerts.support import book, rule

HONG_KONG = book(rule("hong-kong", ["Hong Kong", "Hongkong", "HK", "HKSAR"])).rules[0]
HUAWEI = book(rule("huawei", ["Huawei", "Huawei Technologies"])).rules[0]


def found(watched: Rule, title: str, text: str) -> list[str]:
    return [m.found for m in match_rule(watched, title, text).mentions]


@pytest.mark.parametrize(
    "text",
    [
        "Lumora Biotech shares jumped on their HKEX debut.",
        "The HKD peg held; HKMA intervened.",
        "Analysts at SHK Partners and the hkust campus.",
        "HongKongers abroad",  # neither 'Hongkong' nor 'Hong Kong' as a word
    ],
)
def test_an_alias_never_matches_inside_a_longer_word(text: str) -> None:
    assert found(HONG_KONG, "", text) == []


def test_aliases_match_on_whole_words_whatever_the_case() -> None:
    text = (
        "HK officials met. The hk government and HONG KONG's legislature; Hongkong residents; "
        "the HKSAR flag; (HK) and HK-listed firms."
    )
    assert found(HONG_KONG, "", text) == ["HK", "hk", "HONG KONG", "Hongkong", "HKSAR", "HK", "HK"]


def test_a_phrase_matches_across_line_breaks_and_the_longest_alias_wins() -> None:
    text = "Shares in Huawei\nTechnologies fell, and Huawei said nothing."
    result = match_rule(HUAWEI, "", text)
    assert [(m.term, m.found) for m in result.mentions] == [
        ("Huawei Technologies", "Huawei Technologies"),
        ("Huawei", "Huawei"),
    ]


def test_a_prefix_term_matches_longer_words_only_when_asked() -> None:
    markets = book(rule("hk-markets", ["HK*"])).rules[0]
    assert found(markets, "", "Listings on HKEX and HKD deposits; HK itself.") == [
        "HKEX",
        "HKD",
        "HK",
    ]


def test_every_mention_records_where_it_matched_with_a_snippet() -> None:
    title = "Huawei ban: what it means"
    text = (
        "Filler words come first. " * 10
    ) + "Operators must strip Huawei kit from masts by 2027."
    result = match_rule(HUAWEI, title, text)
    first, second = result.mentions
    assert (first.field, first.start) == ("title", 0)
    assert second.field == "text" and text[second.start : second.start + 6] == "Huawei"
    start, end = second.highlight
    assert second.snippet[start:end] == "Huawei"
    assert second.snippet.startswith("…") and "strip Huawei kit" in second.snippet
    assert len(second.snippet) < 200
    assert result.evidence()[1]["snippet"] == second.snippet


def test_min_mentions_counts_title_and_text_together() -> None:
    strict = book(rule("huawei", ["Huawei"], min_mentions=2)).rules[0]
    passing = match_rule(strict, "", "A phone review that compares it with Huawei once.")
    assert not passing.matched and "below min_mentions=2" in passing.reason
    assert match_rule(strict, "Huawei ban", "Huawei kit must go.").matched


def test_an_exclusion_anywhere_vetoes_the_article() -> None:
    no_markets = book(rule("hong-kong", ["Hong Kong", "HK"], exclude=["HKEX", "stock exchange"]))
    hk = no_markets.rules[0]
    assert match_rule(hk, "Hong Kong protests", "Crowds in Hong Kong.").matched
    vetoed = match_rule(hk, "Hong Kong listing", "The Hong Kong Stock\nExchange welcomed it.")
    assert not vetoed.matched
    assert vetoed.excluded_by is not None and vetoed.excluded_by.found == "Stock Exchange"
    assert "excluded" in vetoed.reason


FACTS = ArticleFacts(
    outlet="Harbour Post Asia",
    domain="www.harbourpost.example",
    language="en-HK",
    threads=("hong-kong", "five-eyes-security"),
    relation="follow_up",
)


@pytest.mark.parametrize(
    ("filters", "passes"),
    [
        ({"sources": ["harbour post asia"]}, True),
        ({"sources": ["harbourpost.example"]}, True),  # the domain, www. or not
        ({"sources": ["post.example"]}, False),  # not a suffix on a label boundary
        ({"sources": ["Westminster Wire"]}, False),
        ({"languages": ["en"]}, True),
        ({"languages": ["en-GB"]}, False),
        ({"languages": ["zh"]}, False),
        ({"threads": ["xinjiang", "hong-kong"]}, True),
        ({"threads": ["nuclear"]}, False),
        ({"relations": ["follow_up", "duplicate"]}, True),
        ({"relations": ["duplicate"]}, False),
        ({"sources": ["Harbour Post Asia"], "relations": ["duplicate"]}, False),  # all must hold
    ],
)
def test_filters_on_source_language_thread_and_relation(
    filters: dict[str, list[str]], passes: bool
) -> None:
    filtered = book(rule("hong-kong", ["Hong Kong"], filters=filters)).rules[0]
    reason = filter_reason(filtered, FACTS)
    assert (reason is None) == passes, reason


# -- Chinese aliases: no spaces between words, so the segmenter decides -------------------

HUAWEI_ZH = book(rule("huawei", ["Huawei", "Huawei Technologies", "华为", "華為"])).rules[0]
HONG_KONG_ZH = book(rule("hong-kong", ["Hong Kong", "HK", "香港"])).rules[0]


def test_a_chinese_alias_matches_inside_a_sentence_without_spaces() -> None:
    text = "英国政府决定禁止采购华为设备，华为公司表示失望。"
    assert found(HUAWEI_ZH, "英国禁用华为5G设备", text) == ["华为", "华为", "华为"]


def test_a_chinese_alias_never_matches_across_a_word_boundary() -> None:
    # 中华 | 为 | 民族: the two characters occur, the word does not
    assert found(HUAWEI_ZH, "", "他们愿为中华为民族复兴贡献力量。") == []


def test_traditional_and_mixed_script_mentions() -> None:
    text = "港府回應華為事件。Huawei的回應與在Huawei手機上的更新無關。"
    assert found(HUAWEI_ZH, "", text) == ["華為", "Huawei", "Huawei"]


def test_english_and_chinese_mentions_count_together_towards_min_mentions() -> None:
    watched = book(rule("hong-kong", ["Hong Kong", "香港"], min_mentions=2)).rules[0]
    assert match_rule(watched, "香港特区政府回应", "Hong Kong officials said.").matched
    assert not match_rule(watched, "", "香港特区政府回应").matched


def test_latin_aliases_keep_their_word_boundaries_next_to_chinese() -> None:
    assert found(HONG_KONG_ZH, "", "港股HKEX上市，hk元汇率稳定，香港人") == ["hk", "香港"]
