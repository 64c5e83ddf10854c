"""The alert rules file: load, validate against pipeline/schemas/alert-rules.schema.json, parse.

A file with errors is refused as a whole, with a message naming the rule and the field,
so a typo never silently turns an alert off.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from pipeline import schemas
from pipeline.config import AlertSettings
from pipeline.text.terms import TermError, parse_term

DEFAULT_RULES_FILE = Path(__file__).resolve().parents[1] / "data" / "alert_rules.json"
SCHEMA = "alert-rules.schema.json"  # in pipeline/schemas/

DeliveryMode = Literal["instant", "daily", "weekly"]
ChannelType = Literal["log", "webhook", "email", "atom"]


class RuleFileError(ValueError):
    """The rules file (or the alerts.channels setting) is invalid; the message says where."""


@dataclass(frozen=True)
class Filters:
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    threads: tuple[str, ...] = ()
    relations: tuple[str, ...] = ()


@dataclass(frozen=True)
class Rule:
    name: str
    title: str
    terms: tuple[str, ...]
    exclude: tuple[str, ...] = ()
    min_mentions: int = 1
    filters: Filters = Filters()
    delivery: DeliveryMode = "instant"
    channels: tuple[str, ...] = ("log",)
    enabled: bool = True


@dataclass(frozen=True)
class Channel:
    name: str
    type: ChannelType
    url: str | None = None  # webhook
    url_env: str | None = None  # webhook: the variable holding the URL
    format: Literal["json", "slack"] = "json"  # webhook
    to: tuple[str, ...] = ()  # email


@dataclass(frozen=True)
class RuleBook:
    rules: tuple[Rule, ...]
    channels: Mapping[str, Channel]

    def rule(self, name: str) -> Rule | None:
        return next((r for r in self.rules if r.name == name), None)

    @property
    def active(self) -> tuple[Rule, ...]:
        return tuple(r for r in self.rules if r.enabled)


# Always available, so the shipped rules need no channel section.
BUILTIN_CHANNELS = {"log": Channel("log", "log"), "atom": Channel("atom", "atom")}


def load_rules(settings: AlertSettings) -> RuleBook:
    """The rules in force: settings.rules_file, else the shipped defaults."""
    path = settings.rules_file or DEFAULT_RULES_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RuleFileError(f"alert rules file {path} does not exist") from exc
    except json.JSONDecodeError as exc:
        raise RuleFileError(
            f"alert rules file {path}: not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from exc
    return parse_rules(data, source=str(path), extra_channels=settings.channels)


def parse_rules(
    data: Any, *, source: str = "<rules>", extra_channels: Mapping[str, Any] | None = None
) -> RuleBook:
    """Validate and parse a rules document; `extra_channels` (from settings) win on names."""
    errors = sorted(_validator().iter_errors(data), key=_error_order)
    if errors:
        raise RuleFileError(f"alert rules file {source}: {_describe(errors[0], data)}")
    channels = {name: _channel(name, raw, source) for name, raw in data.get("channels", {}).items()}
    for name, raw in (extra_channels or {}).items():
        channel_errors = sorted(
            _validator().iter_errors({"rules": [], "channels": {name: raw}}), key=_error_order
        )
        if channel_errors:
            raise RuleFileError(f"setting alerts.channels: {_describe(channel_errors[0], None)}")
        channels[name] = _channel(name, raw, "setting alerts.channels")
    channels = {**BUILTIN_CHANNELS, **channels}
    rules = tuple(_rule(raw) for raw in data["rules"])
    seen: set[str] = set()
    for rule in rules:
        if rule.name in seen:
            raise RuleFileError(f"alert rules file {source}: rule {rule.name!r}: name repeated")
        seen.add(rule.name)
        for term in (*rule.terms, *rule.exclude):
            try:
                parse_term(term)
            except TermError as exc:
                where = f"alert rules file {source}: rule {rule.name!r}"
                raise RuleFileError(f"{where}: {exc}") from None
        for channel in rule.channels:
            if channel not in channels:
                raise RuleFileError(
                    f"alert rules file {source}: rule {rule.name!r}, field 'channels': "
                    f"no channel named {channel!r} (defined: {', '.join(sorted(channels))})"
                )
    return RuleBook(rules, channels)


@cache
def _validator() -> Draft202012Validator:
    schema = schemas.load(SCHEMA)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _error_order(error: ValidationError) -> tuple[bool, list[tuple[int, int, str]]]:
    """Document order; 'unevaluated properties' last, as it echoes a failed branch's fields."""
    path = [(0, p, "") if isinstance(p, int) else (1, 0, str(p)) for p in error.absolute_path]
    return error.validator == "unevaluatedProperties", path


def _describe(error: ValidationError, data: Any) -> str:
    """'rule 'huawei', field 'delivery': …' from a schema error's path."""
    path = list(error.absolute_path)
    where = ""
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        raw = data["rules"][path[1]] if isinstance(data, dict) else None
        name = raw.get("name") if isinstance(raw, dict) else None
        label = repr(name) if isinstance(name, str) else f"#{path[1] + 1}"
        where = f"rule {label}"
        path = path[2:]
    elif len(path) >= 2 and path[0] == "channels":
        where = f"channel {path[1]!r}"
        path = path[2:]
    field = ".".join(str(p) for p in path)
    message = error.message
    if error.validator == "required":
        missing = [
            key
            for key in error.validator_value
            if isinstance(error.instance, dict) and key not in error.instance
        ]
        field = ".".join([*(str(p) for p in path), *missing[:1]])
        message = "is required"
    parts = [p for p in (where, f"field {field!r}" if field else "") if p]
    return f"{', '.join(parts) or 'top level'}: {message}"


def _rule(raw: dict[str, Any]) -> Rule:
    filters = raw.get("filters", {})
    return Rule(
        name=raw["name"],
        title=raw.get("title", raw["name"]),
        terms=tuple(raw["terms"]),
        exclude=tuple(raw.get("exclude", ())),
        min_mentions=raw.get("min_mentions", 1),
        filters=Filters(
            sources=tuple(filters.get("sources", ())),
            languages=tuple(filters.get("languages", ())),
            threads=tuple(filters.get("threads", ())),
            relations=tuple(filters.get("relations", ())),
        ),
        delivery=raw.get("delivery", "instant"),
        channels=tuple(raw["channels"]),
        enabled=raw.get("enabled", True),
    )


def _channel(name: str, raw: dict[str, Any], source: str) -> Channel:
    if raw["type"] == "webhook" and ("url" in raw) == ("url_env" in raw):
        raise RuleFileError(f"{source}: channel {name!r}: give exactly one of 'url' and 'url_env'")
    return Channel(
        name=name,
        type=raw["type"],
        url=raw.get("url"),
        url_env=raw.get("url_env"),
        format=raw.get("format", "json"),
        to=tuple(raw.get("to", ())),
    )
