"""Storyline tagging from the shipped and from user-edited definition files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.classify.threads import (
    TextTerms,
    ThreadsFileError,
    load_thread_book,
    match_angles,
    parse_term,
    parse_thread_book,
    tag_threads,
)

FIXTURES = Path(__file__).parents[1] / "fixtures" / "dedup"
SEED = Path(__file__).parents[2] / "pipeline" / "data" / "seeds" / "seed_article.txt"


def fixture(name: str) -> str:
    return (FIXTURES / f"{name}.txt").read_text(encoding="utf-8")


def names(text: str) -> set[str]:
    return {m.name for m in tag_threads(text)}


def test_the_seed_carries_every_storyline_it_covers() -> None:
    assert names(SEED.read_text(encoding="utf-8")) == {
        "huawei-5g",
        "hong-kong",
        "xinjiang",
        "nuclear",
        "sanctions-trade",
        "five-eyes-security",
    }


def test_matches_explain_themselves() -> None:
    [nuclear] = [m for m in tag_threads(fixture("follow_up_nuclear")) if m.name == "nuclear"]
    assert nuclear.terms["cgn"] == 3
    assert nuclear.terms["sizewell"] == 1
    assert 0 < nuclear.strength <= 1
    assert nuclear.label == "China and UK nuclear power"


@pytest.mark.parametrize("name", ["phone_review", "hkex_listing", "council_potholes"])
def test_passing_mentions_and_look_alikes_carry_no_storyline(name: str) -> None:
    assert names(fixture(name)) == set()


def test_one_mention_of_huawei_is_not_the_huawei_storyline() -> None:
    passing = (
        "The minister said the telecoms network review, which followed the decision to "
        "ban Huawei from 5G, would report in the spring on rural coverage and costs."
    )
    assert "huawei-5g" not in names(passing)
    assert "huawei-5g" in names(passing + " Huawei said it would appeal against the ban.")


def test_terms_match_phrases_prefixes_possessives_and_pound_signs() -> None:
    text = TextTerms("Britain's BN(O) holders face sanctions; the UK pays £3bn.")
    assert text.count(parse_term("bn o")) == 1
    assert text.count(parse_term("sanction*")) == 1
    assert text.count(parse_term("britain")) == 1
    assert text.count(parse_term("gbp")) == 1
    assert text.count(parse_term("hong kong")) == 0


def test_angles_measure_each_side() -> None:
    book = load_thread_book()
    both = match_angles(TextTerms(fixture("follow_up_nuclear")), book)
    assert both["uk"].strength == both["china"].strength == 1.0
    china_only = match_angles(TextTerms(fixture("hkex_listing")), book)
    assert china_only["china"].strength > 0.5
    assert china_only["uk"].strength == 0.0
    assert china_only["china"].terms["hong kong"] == 2


def test_a_user_file_replaces_the_shipped_definitions(tmp_path: Path) -> None:
    path = tmp_path / "threads.json"
    path.write_text(
        json.dumps(
            {
                "threads": [
                    {
                        "name": "roads",
                        "label": "Roads",
                        "terms": {"pothole*": 2, "resurfac*": 2, "highways": 1},
                        "require": [["pothole*"]],
                        "min_terms": 2,
                        "min_score": 4,
                    }
                ]
            }
        ),
        encoding="utf-8",
    )
    book = load_thread_book(path)
    assert [m.name for m in tag_threads(fixture("council_potholes"), book)] == ["roads"]
    assert tag_threads(fixture("library_reopening"), book) == []
    assert book.seeds is None and book.describes("any_seed")  # no 'seeds': every seed


def test_seeds_names_the_seeds_whose_keyword_lists_the_file_holds() -> None:
    shipped = load_thread_book()
    assert shipped.describes("seed_article") and not shipped.describes("nsi_corvane")
    book = parse_thread_book({"seeds": ["mine"], "threads": []}, "inline")
    assert book.describes("mine") and not book.describes("seed_article")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not valid JSON"),
        ('{"threads": [{"name": "x"}]}', "terms"),
        (
            '{"threads": [{"name": "x", "terms": {"a": 1}}, {"name": "x", "terms": {"b": 1}}]}',
            "unique",
        ),
        ('{"threads": [{"name": "x", "terms": {"...": 1}}]}', "no words"),
        ('{"seeds": "seed_article", "threads": []}', "seeds"),
    ],
)
def test_bad_definition_files_are_reported(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "threads.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ThreadsFileError, match=message):
        load_thread_book(path)
