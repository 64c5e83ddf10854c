"""Monthly indices: which month holds an article, and the names of the indices of a prefix.

Every generation (``vN``, a new one per rebuild) is a set of indices, one per UTC month:
``PREFIX-vN-YYYY.MM``. An article lives in the month of its publication date, or of its
discovery time when it has none: the same age retention goes by, so a month whose last
instant is past the retention cut-off holds only expired articles and is dropped whole.
A generation made before monthly indices (``PREFIX-vN``, schema version 2) is one index
that takes every month until the next rebuild.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from pipeline.records import IndexDocument, as_utc


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @property
    def label(self) -> str:
        return f"{self.year:04d}.{self.month:02d}"

    def end(self) -> datetime:
        """The first instant after this month (UTC)."""
        if self.month == 12:
            return datetime(self.year + 1, 1, 1, tzinfo=UTC)
        return datetime(self.year, self.month + 1, 1, tzinfo=UTC)


def month_of(when: datetime) -> Month:
    moment = as_utc(when)
    assert moment is not None
    moment = moment.astimezone(UTC)
    return Month(moment.year, moment.month)


def article_month(doc: IndexDocument) -> Month:
    """Publication date, else discovery time (else, for a document built without it, the
    time it was indexed)."""
    return month_of(doc.published_at or doc.discovered_at or doc.indexed_at)


@dataclass(frozen=True)
class IndexName:
    """A parsed index name of a prefix: its generation and month (None: a single index)."""

    name: str
    version: int
    month: Month | None


class Naming:
    """Index names of one prefix."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self._re = re.compile(rf"^{re.escape(prefix)}-v(\d+)(?:-(\d{{4}})\.(\d{{2}}))?$")

    @property
    def pattern(self) -> str:
        """Every index of the prefix, of every generation (what the template applies to)."""
        return f"{self.prefix}-v*"

    def generation_pattern(self, version: int) -> str:
        return f"{self.prefix}-v{version}-*"

    def generation(self, version: int) -> str:
        """How a generation is shown (health, logs): ``PREFIX-vN``."""
        return f"{self.prefix}-v{version}"

    def monthly(self, version: int, month: Month) -> str:
        return f"{self.prefix}-v{version}-{month.label}"

    def parse(self, name: str) -> IndexName | None:
        """None for a name that is not one of ours (``PREFIX-v2-old``, another prefix)."""
        match = self._re.match(name)
        if match is None:
            return None
        version, year, month = match.groups()
        if year is None:
            return IndexName(name, int(version), None)
        if not 1 <= int(month) <= 12:
            return None
        return IndexName(name, int(version), Month(int(year), int(month)))
