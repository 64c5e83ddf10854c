"""The journalists' query syntax, parsed once into a tree that each backend renders.

Syntax (operators are upper case, as in most newsroom search tools):

- words: ``huawei 5g`` (all must match: implicit AND)
- phrases: ``"grand strategy"``
- prefixes: ``extradit*``
- boolean: ``huawei AND (5g OR network)``, ``hong kong OR hongkong``, ``huawei NOT hkex``,
  ``-hkex`` (same as NOT)
- fields: ``title:huawei``, ``title:"hong kong"`` (fields: title, text)

Anything else raises SearchError with a message a person can act on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pipeline.index.base import SearchError

FIELDS = ("title", "text")
MAX_QUERY_CHARS = 1000
MAX_TERMS = 64
# Groups, NOTs and fields nest by recursion here and in every backend's renderer; real queries
# nest two or three deep, and Python's stack would give out in the hundreds.
MAX_DEPTH = 32

_WORD = re.compile(r"\w+", re.UNICODE)
_TOKEN = re.compile(
    r"""
    (?P<lparen>\() | (?P<rparen>\)) |
    (?P<field>[A-Za-z_]+):(?=\S) |
    (?P<phrase>"[^"]*") | (?P<quote>") |
    (?P<minus>-(?=[\w"(])) |
    (?P<word>[^\s()"]+)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Term:
    text: str  # one lower-case word
    prefix: bool = False
    field: str | None = None


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]
    field: str | None = None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Term | Phrase | And | Or | Not


def words_of(text: str) -> list[str]:
    """Lower-case words as both backends tokenise them."""
    return [w.lower() for w in _WORD.findall(text)]


def parse_query(text: str) -> Node | None:
    """Parse a query; None means 'match everything' (filters only)."""
    if len(text) > MAX_QUERY_CHARS:
        raise SearchError(f"query is too long ({len(text)} characters; at most {MAX_QUERY_CHARS})")
    tokens = _tokenise(text)
    if not tokens:
        return None
    parser = _Parser(tokens)
    node = parser.parse_or()
    if parser.pos < len(tokens):
        kind, value = tokens[parser.pos]
        raise SearchError(
            f"unexpected {value!r} in query" if kind != "rparen" else "unbalanced ')'"
        )
    _validate(node, top=True)
    if _count_terms(node) > MAX_TERMS:
        raise SearchError(f"query has too many terms (at most {MAX_TERMS})")
    return node


def positive_terms(node: Node | None) -> list[Term | Phrase]:
    """The terms that must or may match (not negated): used for highlighting."""
    if node is None:
        return []
    if isinstance(node, Term | Phrase):
        return [node]
    if isinstance(node, Not):
        return []
    return [t for item in node.items for t in positive_terms(item)]


def _tokenise(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    for match in _TOKEN.finditer(text):
        kind = match.lastgroup or ""
        if kind == "quote":
            raise SearchError('unbalanced quote: close every " you open')
        if kind == "field":
            name = match.group("field").lower()
            if name not in FIELDS:
                raise SearchError(f"unknown field {name!r}; known fields: {', '.join(FIELDS)}")
            tokens.append(("field", name))
        else:
            tokens.append((kind, match.group(kind)))
    return tokens


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.depth = 0

    def _descend(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise SearchError(
                f"query nests too deeply (at most {MAX_DEPTH} levels of groups, NOT and fields)"
            )

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _is_op(self, op: str) -> bool:
        token = self._peek()
        return token is not None and token == ("word", op)

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self._is_op("OR"):
            self.pos += 1
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else Or(tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while True:
            token = self._peek()
            if token is None or token[0] == "rparen" or self._is_op("OR"):
                break
            if self._is_op("AND"):
                self.pos += 1
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else And(tuple(items))

    def parse_unary(self) -> Node:
        token = self._peek()
        if token is not None and (token[0] == "minus" or token == ("word", "NOT")):
            self.pos += 1
            self._descend()
            node = Not(self.parse_unary())
            self.depth -= 1
            return node
        return self.parse_primary(field=None)

    def parse_primary(self, field: str | None) -> Node:
        token = self._peek()
        if token is None:
            raise SearchError("query ends where a term was expected")
        kind, value = token
        self.pos += 1
        if kind in ("lparen", "field"):
            self._descend()
            node = self._nested(kind, value, field)
            self.depth -= 1
            return node
        if kind == "rparen":
            raise SearchError("unbalanced ')'")
        if kind == "phrase":
            words = words_of(value[1:-1])
            if not words:
                raise SearchError("empty phrase")
            return Phrase(tuple(words), field) if len(words) > 1 else Term(words[0], field=field)
        if kind == "word" and value in ("AND", "OR", "NOT"):
            raise SearchError(f"{value} needs a term on each side")
        return _word_node(value, field)

    def _nested(self, kind: str, value: str, field: str | None) -> Node:
        if kind == "lparen":
            if field is not None:
                raise SearchError("a field applies to one word or phrase, not a group")
            node = self.parse_or()
            if self._peek() is None or self._peek()[0] != "rparen":  # type: ignore[index]
                raise SearchError("unbalanced '(': close every group you open")
            self.pos += 1
            return node
        return self.parse_primary(field=value)


def _word_node(raw: str, field: str | None) -> Node:
    prefix = raw.endswith("*")
    words = words_of(raw)
    if not words:
        raise SearchError(f"{raw!r} has no letters or digits to search for")
    if len(words) > 1:  # e.g. "Hong-Kong" or "U.K." behave as a phrase
        return Phrase(tuple(words), field)
    if prefix and len(words[0]) < 2:
        raise SearchError("a prefix search needs at least 2 characters before '*'")
    return Term(words[0], prefix=prefix, field=field)


def _validate(node: Node, top: bool) -> None:
    if isinstance(node, Not):
        raise SearchError("NOT needs something to subtract from, e.g. 'huawei NOT hkex'")
    if isinstance(node, And):
        if all(isinstance(item, Not) for item in node.items):
            raise SearchError("a query cannot be made of NOT terms only")
        for item in node.items:
            _validate(item.item if isinstance(item, Not) else item, top=False)
    elif isinstance(node, Or):
        for item in node.items:
            _validate(item, top=False)


def _count_terms(node: Node) -> int:
    if isinstance(node, Term | Phrase):
        return 1
    if isinstance(node, Not):
        return _count_terms(node.item)
    return sum(_count_terms(item) for item in node.items)
