"""Does an article match a rule, and where? Pure functions over the cleaned text.

Matching runs here in Python, not in the search backend, so a rule means the same with
SQLite FTS5 and with Elasticsearch. Terms are found by pipeline.text.terms, the matcher of
the storyline tags: whole words, case-insensitively ("HK" never matches inside "HKEX",
unless the term asks for a prefix, "HK*"); the words of a phrase may be separated by
spaces, line breaks or punctuation. Chinese terms (华为, 香港) are jieba words, found where
the segmenter cuts the text into that word, since Chinese has no spaces.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, Literal

from pipeline.alerts.rules import Rule
from pipeline.text.terms import Term, parse_term, text_terms

SNIPPET_CONTEXT = 70  # characters of context either side of a mention
MAX_EVIDENCE = 5  # mentions kept (with snippets) per article
MAX_WIDEN = 20  # characters a snippet may grow to reach a word boundary


@dataclass(frozen=True)
class Mention:
    term: str  # the rule's term (or alias) that matched
    found: str  # the words as written in the article
    field: Literal["title", "text"]
    start: int  # offset in that field
    end: int
    content: str = dataclasses.field(repr=False, compare=False)  # the field's whole text

    @cached_property
    def _snippet(self) -> tuple[str, tuple[int, int]]:
        # Built when asked for: a rule keeps at most MAX_EVIDENCE snippets per article, and
        # most mentions are only counted.
        return _snippet(self.content, self.start, self.end)

    @property
    def snippet(self) -> str:
        return self._snippet[0]

    @property
    def highlight(self) -> tuple[int, int]:
        """The mention's position inside the snippet."""
        return self._snippet[1]

    def as_json(self) -> dict[str, Any]:
        return {
            "term": self.term,
            "found": self.found,
            "field": self.field,
            "start": self.start,
            "snippet": self.snippet,
            "highlight": list(self.highlight),
        }


@dataclass(frozen=True)
class MatchResult:
    mentions: tuple[Mention, ...]
    excluded_by: Mention | None
    min_mentions: int

    @property
    def matched(self) -> bool:
        return self.excluded_by is None and len(self.mentions) >= self.min_mentions

    @property
    def reason(self) -> str:
        """Why it matched or not, in words (for `newswatch alerts test`)."""
        hit = self.excluded_by
        if hit is not None:
            return f"excluded: mentions {hit.found!r} (exclusion {hit.term!r})"
        count = len(self.mentions)
        if count < self.min_mentions:
            return f"{count} mention(s), below min_mentions={self.min_mentions}"
        return f"{count} mention(s) (min_mentions={self.min_mentions})"

    def evidence(self) -> list[dict[str, Any]]:
        return [m.as_json() for m in self.mentions[:MAX_EVIDENCE]]


@dataclass(frozen=True)
class ArticleFacts:
    """What the rule filters look at."""

    outlet: str
    domain: str
    language: str | None
    threads: tuple[str, ...]
    relation: str | None


def match_rule(rule: Rule, title: str, text: str) -> MatchResult:
    """Every mention of the rule's terms in title and text, and any exclusion hit."""
    mentions = _find(rule.terms, title, text)
    excluded = _find(rule.exclude, title, text) if rule.exclude else ()
    return MatchResult(mentions, excluded[0] if excluded else None, rule.min_mentions)


def filter_reason(rule: Rule, facts: ArticleFacts) -> str | None:
    """Why the article fails the rule's filters, or None when it passes them all."""
    f = rule.filters
    if f.sources and not any(_same_source(s, facts) for s in f.sources):
        return f"source {facts.outlet or facts.domain!r} not in {list(f.sources)}"
    if f.languages and not any(_same_language(lang, facts.language) for lang in f.languages):
        return f"language {facts.language!r} not in {list(f.languages)}"
    if f.threads and not set(f.threads) & set(facts.threads):
        return f"threads {list(facts.threads)} not in {list(f.threads)}"
    if f.relations and facts.relation not in f.relations:
        return f"relation {facts.relation!r} not in {list(f.relations)}"
    return None


def _same_source(wanted: str, facts: ArticleFacts) -> bool:
    wanted = wanted.strip().lower()
    domain = facts.domain.lower()
    if domain.startswith("www."):
        domain = domain[4:]
    return (
        wanted == facts.outlet.strip().lower() or domain == wanted or domain.endswith("." + wanted)
    )


def _same_language(wanted: str, language: str | None) -> bool:
    if not language:
        return False
    wanted, language = wanted.lower(), language.lower().replace("_", "-")
    return language == wanted or language.startswith(wanted + "-")


def _find(terms: tuple[str, ...], title: str, text: str) -> tuple[Mention, ...]:
    parsed = parsed_terms(terms)
    found: list[Mention] = []
    fields: tuple[tuple[Literal["title", "text"], str], ...] = (("title", title), ("text", text))
    for field, content in fields:
        index = text_terms(content)
        for match in index.find(parsed):
            start, end = index.span(match)
            words = " ".join(content[start:end].split())
            found.append(Mention(terms[match.term], words, field, start, end, content))
    return tuple(found)


@cache
def parsed_terms(terms: tuple[str, ...]) -> tuple[Term, ...]:
    return tuple(parse_term(term) for term in terms)


def _snippet(content: str, start: int, end: int) -> tuple[str, tuple[int, int]]:
    """The mention at content[start:end] with context either side, and its place in it."""
    left = max(0, start - SNIPPET_CONTEXT)
    right = min(len(content), end + SNIPPET_CONTEXT)
    # Widen to whole words (within reason: CJK text has no spaces), never cut mid-word.
    for _ in range(MAX_WIDEN):
        if left == 0 or content[left - 1].isspace():
            break
        left -= 1
    for _ in range(MAX_WIDEN):
        if right == len(content) or content[right].isspace():
            break
        right += 1
    prefix = "…" if left > 0 else ""
    suffix = "…" if right < len(content) else ""
    before = " ".join(content[left:start].split())
    found = " ".join(content[start:end].split())
    after = " ".join(content[end:right].split())
    gap_before = " " if before and content[start - 1].isspace() else ""
    gap_after = " " if after and content[end].isspace() else ""
    snippet = f"{prefix}{before}{gap_before}{found}{gap_after}{after}{suffix}"
    begin = len(prefix) + len(before) + len(gap_before)
    return snippet, (begin, begin + len(found))
