"""The indices of a prefix and the aliases they carry, read in one call; the monthly index
a write needs, created on first use.

The read alias ``PREFIX`` is on every index of the live generation; the write alias
``PREFIX-write`` on every index of the generation writes go to (another one only while a
rebuild loads). Neither is written through: a write goes to the month's own index, which
the write path creates when it is missing, with the aliases of its generation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from elasticsearch import BadRequestError, Elasticsearch

from pipeline.index.elastic.months import IndexName, Month, Naming


@dataclass
class Layout:
    naming: Naming
    read_alias: str
    write_alias: str
    indices: dict[str, set[str]]  # every index of the prefix -> the aliases it carries

    def parsed(self) -> list[IndexName]:
        names = (self.naming.parse(name) for name in sorted(self.indices))
        return [n for n in names if n is not None]

    def generation_of(self, alias: str) -> int | None:
        versions = {n.version for n in self.parsed() if alias in self.indices[n.name]}
        return max(versions, default=None)

    @property
    def live(self) -> int | None:
        return self.generation_of(self.read_alias)

    @property
    def writer(self) -> int | None:
        return self.generation_of(self.write_alias)

    @property
    def rebuilding(self) -> bool:
        return self.live != self.writer

    def members(self, version: int) -> list[IndexName]:
        return [n for n in self.parsed() if n.version == version]

    def max_version(self) -> int:
        return max((n.version for n in self.parsed()), default=0)

    def targets(self) -> list[int]:
        """The generations a write goes to: the writer's, and during a rebuild the live one
        too, so both stay whole whether the rebuild succeeds or fails."""
        return sorted({v for v in (self.live, self.writer) if v is not None})

    def route(self, version: int, month: Month) -> str:
        """The index of `version` that holds articles of `month`."""
        single = [n.name for n in self.members(version) if n.month is None]
        return single[0] if single else self.naming.monthly(version, month)

    def aliases_for(self, version: int) -> dict[str, dict[str, Any]]:
        """The aliases a new index of `version` carries."""
        return {
            a: {} for a in (self.read_alias, self.write_alias) if self.generation_of(a) == version
        }

    def missing_aliases(self) -> list[dict[str, Any]]:
        """Alias actions for indices of the one generation (no rebuild under way) that lack
        one: an index a writer created just as a rebuild went live."""
        if self.rebuilding or self.live is None:
            return []
        wanted = (self.read_alias, self.write_alias)
        return [
            {"add": {"index": n.name, "alias": alias}}
            for n in self.members(self.live)
            for alias in wanted
            if alias not in self.indices[n.name]
        ]

    def orphans(self) -> list[str]:
        """Indices of the prefix that carry neither alias (a crashed rebuild's leftovers)."""
        ours = {self.read_alias, self.write_alias}
        return [n.name for n in self.parsed() if not self.indices[n.name] & ours]


def read_layout(client: Elasticsearch, naming: Naming, read_alias: str, write_alias: str) -> Layout:
    raw = client.indices.get_alias(index=naming.pattern)
    indices = {name: set(info.get("aliases", {})) for name, info in raw.items()}
    return Layout(naming, read_alias, write_alias, indices)


def create_index(
    client: Elasticsearch,
    name: str,
    aliases: dict[str, dict[str, Any]],
    settings: dict[str, Any] | None = None,
) -> bool:
    """Create `name` (the template gives it its mapping); False if it exists already, as
    when another writer created it first."""
    try:
        client.indices.create(index=name, aliases=aliases or None, settings=settings)
    except BadRequestError as exc:
        if exc.error != "resource_already_exists_exception":
            raise
        return False
    return True


def ensure_indices(client: Elasticsearch, layout: Layout, names: dict[str, int]) -> None:
    """Create each index of `names` (name -> generation) that does not exist yet."""
    for name, version in sorted(names.items()):
        if name not in layout.indices:
            aliases = layout.aliases_for(version)
            create_index(client, name, aliases)
            layout.indices[name] = set(aliases)
