"""The rules file: the shipped defaults, and errors that name the rule and the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.alerts.rules import RuleFileError, load_rules, parse_rules
from pipeline.config import AlertSettings


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_shipped_rules_watch_huawei_and_hong_kong_with_their_aliases() -> None:
    book = load_rules(AlertSettings())
    huawei, hong_kong = book.rule("huawei"), book.rule("hong-kong")
    assert huawei is not None and hong_kong is not None
    assert {"Huawei", "Huawei Technologies"} <= set(huawei.terms)
    assert {"Hong Kong", "Hongkong", "HK", "HKSAR"} <= set(hong_kong.terms)
    assert huawei.delivery == hong_kong.delivery == "instant"
    assert set(book.channels) >= {"log", "atom"}


def test_a_full_rule_is_parsed_with_every_field(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        {
            "channels": {
                "desk": {"type": "webhook", "url_env": "NEWSWATCH_WEBHOOK_DESK", "format": "slack"},
                "editors": {"type": "email", "to": ["desk@example.org"]},
            },
            "rules": [
                {
                    "name": "hk-markets",
                    "title": "Hong Kong markets",
                    "terms": ["HK*", "Hang Seng"],
                    "exclude": ["horoscope"],
                    "min_mentions": 3,
                    "filters": {
                        "sources": ["Harbour Post Asia"],
                        "languages": ["en"],
                        "threads": ["hong-kong"],
                        "relations": ["follow_up"],
                    },
                    "delivery": "weekly",
                    "channels": ["desk", "editors", "atom"],
                }
            ],
        },
    )
    book = load_rules(AlertSettings(rules_file=path))
    rule = book.rule("hk-markets")
    assert rule is not None
    assert rule.terms == ("HK*", "Hang Seng") and rule.exclude == ("horoscope",)
    assert rule.min_mentions == 3 and rule.delivery == "weekly"
    assert rule.filters.sources == ("Harbour Post Asia",)
    assert rule.filters.relations == ("follow_up",)
    assert book.channels["desk"].url_env == "NEWSWATCH_WEBHOOK_DESK"
    assert book.channels["desk"].format == "slack"
    assert book.channels["editors"].to == ("desk@example.org",)


@pytest.mark.parametrize(
    ("rule_fields", "expected"),
    [
        ({"delivery": "hourly"}, "rule 'huawei', field 'delivery': 'hourly' is not one of"),
        ({"min_mentions": 0}, "rule 'huawei', field 'min_mentions': 0 is less than the minimum"),
        ({"terms": []}, "rule 'huawei', field 'terms': [] should be non-empty"),
        ({"terms": ["Huawei", "  "]}, "rule 'huawei', field 'terms.1': '  ' does not match"),
        ({"filters": {"relations": ["sibling"]}}, "field 'filters.relations.0': 'sibling'"),
        ({"filters": {"outlets": ["x"]}}, "rule 'huawei', field 'filters': Additional properties"),
        ({"channels": ["pager"]}, "rule 'huawei', field 'channels': no channel named 'pager'"),
        ({"exclude": "HKEX"}, "rule 'huawei', field 'exclude': 'HKEX' is not of type 'array'"),
    ],
)
def test_an_invalid_rule_is_refused_naming_the_rule_and_the_field(
    tmp_path: Path, rule_fields: dict[str, Any], expected: str
) -> None:
    raw = {"name": "huawei", "terms": ["Huawei"], "channels": ["log"], **rule_fields}
    path = write(tmp_path, {"rules": [raw]})
    with pytest.raises(RuleFileError) as error:
        load_rules(AlertSettings(rules_file=path))
    assert str(path) in str(error.value)
    assert expected in str(error.value)


def test_a_rule_without_a_name_is_named_by_its_position() -> None:
    with pytest.raises(RuleFileError, match=r"rule #2, field 'name': is required"):
        parse_rules(
            {
                "rules": [
                    {"name": "ok", "terms": ["x"], "channels": ["log"]},
                    {"terms": ["y"], "channels": ["log"]},
                ]
            }
        )


def test_a_missing_field_is_named() -> None:
    with pytest.raises(RuleFileError, match=r"rule 'huawei', field 'terms': is required"):
        parse_rules({"rules": [{"name": "huawei", "channels": ["log"]}]})


def test_repeated_rule_names_are_refused() -> None:
    raw = {"name": "huawei", "terms": ["Huawei"], "channels": ["log"]}
    with pytest.raises(RuleFileError, match="rule 'huawei': name repeated"):
        parse_rules({"rules": [raw, raw]})


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ({"type": "webhook"}, "channel 'desk': give exactly one of 'url' and 'url_env'"),
        (
            {"type": "webhook", "url": "https://hooks.example/x", "url_env": "HOOK"},
            "exactly one of",
        ),
        ({"type": "webhook", "url": "ftp://hooks.example/x"}, "channel 'desk', field 'url'"),
        ({"type": "email"}, "channel 'desk', field 'to': is required"),
        ({"type": "email", "to": ["not-an-address"]}, "channel 'desk', field 'to.0'"),
        ({"type": "pager"}, "channel 'desk', field 'type': 'pager' is not one of"),
        ({"type": "log", "url": "https://x.example/"}, "channel 'desk': Unevaluated properties"),
    ],
)
def test_an_invalid_channel_is_refused_naming_it(channel: dict[str, Any], expected: str) -> None:
    with pytest.raises(RuleFileError) as error:
        parse_rules(
            {
                "channels": {"desk": channel},
                "rules": [{"name": "huawei", "terms": ["Huawei"], "channels": ["desk"]}],
            }
        )
    assert expected in str(error.value)


def test_a_file_that_is_not_json_is_refused_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.json"
    path.write_text('{"rules": [\n  {"name": "huawei",}\n]}', encoding="utf-8")
    with pytest.raises(RuleFileError, match=r"not JSON: .*line 2"):
        load_rules(AlertSettings(rules_file=path))


def test_channels_from_settings_override_the_file() -> None:
    book = parse_rules(
        {
            "channels": {"desk": {"type": "log"}},
            "rules": [{"name": "huawei", "terms": ["Huawei"], "channels": ["desk"]}],
        },
        extra_channels={"desk": {"type": "webhook", "url": "https://hooks.example/desk"}},
    )
    assert book.channels["desk"].type == "webhook"
    with pytest.raises(RuleFileError, match=r"setting alerts.channels: channel 'bad', field"):
        parse_rules({"rules": []}, extra_channels={"bad": {"type": "email", "to": "x"}})
