"""The one term matcher of storyline tags and alert rules: one tokenisation, real offsets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.alerts.matching import match_rule
from pipeline.alerts.rules import RuleFileError, load_rules
from pipeline.config import AlertSettings
from pipeline.text.terms import TermError, TextTerms, parse_term
from pipeline.text.tokens import words
from tests.alerts.support import book, rule


def test_threads_and_alerts_find_the_same_occurrences() -> None:
    text = "China’s envoy met HKSAR officials; Hong\nKong’s BN(O) holders paid £3bn. HK-listed."
    terms = ("hong kong", "bn o", "gbp", "china", "hk*")
    counts = {t: TextTerms(text).count(parse_term(t)) for t in terms}
    assert counts == {"hong kong": 1, "bn o": 1, "gbp": 1, "china": 1, "hk*": 2}
    result = match_rule(book(rule("watch", list(terms))).rules[0], "", text)
    found = sorted((m.term, m.found) for m in result.mentions)
    assert found == sorted(
        [
            ("hong kong", "Hong Kong"),
            ("bn o", "BN(O"),
            ("gbp", "£"),
            ("china", "China"),  # the possessive is not part of the mention
            ("hk*", "HKSAR"),
            ("hk*", "HK"),
        ]
    )


def test_offsets_point_into_the_text_as_written_even_when_folding_changes_it() -> None:
    text = "Ｈｕａｗｅｉ said ﬁve masts; Huawei’s rivals."  # fullwidth letters, an fi ligature
    index = TextTerms(text)
    assert index.words[:4] == ["huawei", "said", "five", "masts"]
    spans = [index.span(m) for m in index.find((parse_term("huawei"), parse_term("five")))]
    assert [text[a:b] for a, b in spans] == ["Ｈｕａｗｅｉ", "ﬁve", "Huawei"]


def test_the_tokenisation_is_that_of_the_fingerprints_plus_possessives_and_pounds() -> None:
    text = "Britain’s ‘grand strategy’ costs £2bn, officials don't say."
    assert words(text) == [
        "britain's",
        "grand",
        "strategy",
        "costs",
        "2bn",
        "officials",
        "don't",
        "say",
    ]
    assert TextTerms(text).words == [
        *("britain", "grand", "strategy", "costs", "gbp", "2bn", "officials", "don't", "say")
    ]


def test_a_star_on_any_word_of_a_phrase_is_a_prefix() -> None:
    index = TextTerms("Operators stripped out the kit; others strip it out later.")
    assert index.count(parse_term("strip* out")) == 1
    assert index.count(parse_term("strip out")) == 0


def test_overlapping_terms_keep_the_longest_and_counting_keeps_every_occurrence() -> None:
    index = TextTerms("Huawei Technologies and Huawei.")
    long, short = parse_term("Huawei Technologies"), parse_term("Huawei")
    assert [(m.term, m.first, m.end) for m in index.find((short, long))] == [(1, 0, 2), (0, 3, 4)]
    assert index.count(short) == 2


def test_a_term_without_words_is_refused_when_the_rules_are_loaded(tmp_path: Path) -> None:
    with pytest.raises(TermError, match="has no words"):
        parse_term("_")
    rules = tmp_path / "rules.json"
    rules.write_text(
        json.dumps({"rules": [{"name": "odd", "terms": ["_"], "channels": ["log"]}]}),
        encoding="utf-8",
    )
    with pytest.raises(RuleFileError, match="rule 'odd': term '_' has no words"):
        load_rules(AlertSettings(rules_file=rules))
