"""Versioned indices behind two aliases: creation, rebuild and the alias swap.

- versioned indices ``PREFIX-v1``, ``PREFIX-v2``, … created through an index template;
- searchers read through the alias ``PREFIX``, writers write through ``PREFIX-write``;
- a rebuild points the write alias at a new ``PREFIX-v(N+1)``, fills it, then moves the
  read alias there and deletes the old index in one atomic ``_aliases`` call. While it
  runs, new writes go to both indices, so nothing is lost whether it succeeds or fails.
  The rebuild writes with ``create``: a document that ingest wrote into the new index
  meanwhile is newer than the store snapshot being loaded, and is kept. During the load
  the new index has no replicas and no refresh; both are restored before it goes live.
- `setup` installs the template (the only call that needs ``manage_index_templates``);
  `ensure_ready`, run by ingest, only reads the aliases once setup has run.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, NotFoundError, TransportError

from pipeline.index.base import BackendUnavailable
from pipeline.index.elastic.client import backend_errors, bulk, reason
from pipeline.index.elastic.documents import action
from pipeline.index.elastic.template import index_template
from pipeline.records import IndexDocument

log = logging.getLogger(__name__)

# While a rebuild loads: no replica copies (written once, replicated after) and no refresh.
LOAD_SETTINGS: dict[str, Any] = {
    "auto_expand_replicas": "false",
    "number_of_replicas": 0,
    "refresh_interval": "-1",
}
CONFLICT = 409


class Generations:
    """The aliases and versioned indices of one prefix."""

    def __init__(
        self,
        client: Elasticsearch,
        prefix: str,
        *,
        url: str,
        chunk_size: int,
        max_bytes: int,
        max_text_chars: int,
    ) -> None:
        self.client, self.url = client, url
        self.read_alias, self.write_alias = prefix, f"{prefix}-write"
        self.chunk_size, self.max_bytes = chunk_size, max_bytes
        self.max_text_chars = max_text_chars
        self._version_re = re.compile(rf"^{re.escape(prefix)}-v(\d+)$")

    def ensure_ready(self) -> None:
        """Nothing to do when both aliases exist (read-only: the ingest credential needs no
        template privilege); otherwise `setup`."""
        with backend_errors(self.url):
            live = self.alias_target(self.read_alias)
            if live is not None and self.alias_target(self.write_alias) is not None:
                return
        self.setup()

    def setup(self) -> None:
        """Install the template; create PREFIX-v1 behind both aliases if there is no index,
        else add the template's new fields to the indices behind the aliases."""
        template = index_template(self.read_alias)
        with backend_errors(self.url):
            self.client.indices.put_index_template(name=self.read_alias, body=template)
            live = self.alias_target(self.read_alias)
            if live is not None:
                if self.alias_target(self.write_alias) is None:
                    self._move_alias(self.write_alias, None, live)
                properties = template["template"]["mappings"]["properties"]
                for alias in self._aliases:
                    index = self.alias_target(alias)
                    if index is not None:
                        self._add_new_fields(index, properties)
                return
            first = self._version_name(self._max_version() + 1)
            try:
                self.client.indices.create(
                    index=first, aliases={self.read_alias: {}, self.write_alias: {}}
                )
            except BadRequestError as exc:
                if exc.error != "resource_already_exists_exception":
                    raise
                return  # another process created it first
        log.info("created search index %s behind %s and %s", first, *self._aliases)

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        """Fill a new versioned index, then swap the read alias to it and drop the old one."""
        self.ensure_ready()
        with backend_errors(self.url):
            live = self.alias_target(self.read_alias)
            writer = self.alias_target(self.write_alias)
            self._drop_orphans()
            new = self._version_name(self._max_version() + 1)
            self.client.indices.create(index=new)
            serving = self._load_settings(new)
            self._move_alias(self.write_alias, writer, new)
        log.info("rebuilding search index into %s (searches use %s until it is done)", new, live)
        try:
            indexed = self._bulk_load(new, docs)
            with backend_errors(self.url):
                self.client.indices.put_settings(index=new, settings={"index": serving})
                self.client.indices.refresh(index=new)
                actions: list[dict[str, Any]] = [{"add": {"index": new, "alias": self.read_alias}}]
                for old in sorted({i for i in (live, writer) if i is not None} - {new}):
                    actions.append({"remove_index": {"index": old}})
                self.client.indices.update_aliases(actions=actions)
        except BaseException:
            self._abandon(new, live)
            raise
        log.info("search index %s is live with %d documents", new, indexed)
        return indexed

    def _add_new_fields(self, index: str, properties: dict[str, Any]) -> None:
        """Map the template's fields that `index` (made from an older template) lacks, so
        its strict mapping accepts documents that carry them (e.g. `perspective`, schema
        version 3). Documents indexed before have none until `newswatch index rebuild`."""
        mapping = self.client.indices.get_mapping(index=index)[index]["mappings"]
        new = {k: v for k, v in properties.items() if k not in mapping.get("properties", {})}
        if new:
            self.client.indices.put_mapping(index=index, properties=new)
            log.info("added the fields %s to search index %s", ", ".join(sorted(new)), index)

    def _load_settings(self, index: str) -> dict[str, Any]:
        """Switch `index` to bulk-load settings (no replicas, no refresh); returns the
        settings to restore before it serves searches."""
        current = self.client.indices.get_settings(index=index)[index]["settings"]["index"]
        serving = {key: current.get(key) for key in LOAD_SETTINGS}  # None: the default
        self.client.indices.put_settings(index=index, settings={"index": LOAD_SETTINGS})
        return serving

    def alias_target(self, alias: str) -> str | None:
        try:
            targets = list(self.client.indices.get_alias(name=alias))
        except NotFoundError:
            return None
        return targets[0] if targets else None

    def write_targets(self) -> tuple[str, ...]:
        """The write alias; during a rebuild the read alias too, so both indices stay whole."""
        if self.alias_target(self.read_alias) == self.alias_target(self.write_alias):
            return (self.write_alias,)
        return (self.read_alias, self.write_alias)

    @property
    def _aliases(self) -> tuple[str, str]:
        return self.read_alias, self.write_alias

    def _version_name(self, version: int) -> str:
        return f"{self.read_alias}-v{version}"

    def _versions(self) -> dict[str, set[str]]:
        """Every versioned index of this prefix, with the aliases it carries."""
        indices = self.client.indices.get_alias(index=f"{self.read_alias}-v*")
        return {
            name: set(info.get("aliases", {}))
            for name, info in indices.items()
            if self._version_re.match(name)
        }

    def _max_version(self) -> int:
        matches = (self._version_re.match(name) for name in self._versions())
        return max((int(m.group(1)) for m in matches if m), default=0)

    def _drop_orphans(self) -> None:
        """Delete versioned indices no alias points at (left by a rebuild that crashed)."""
        for name, aliases in self._versions().items():
            if not aliases & set(self._aliases):
                log.warning("deleting orphaned search index %s", name)
                self.client.indices.delete(index=name)

    def _move_alias(self, alias: str, source: str | None, target: str) -> None:
        actions: list[dict[str, Any]] = [{"add": {"index": target, "alias": alias}}]
        if source is not None and source != target:
            actions.insert(0, {"remove": {"index": source, "alias": alias}})
        self.client.indices.update_aliases(actions=actions)

    def _abandon(self, new: str, live: str | None) -> None:
        """Undo a failed rebuild: writers go back to the live index, the new one goes."""
        try:
            if live is not None:
                self._move_alias(self.write_alias, new, live)
            self.client.indices.delete(index=new)
            log.warning("rebuild into %s failed; searches and writes stay on %s", new, live)
        except (ApiError, TransportError) as exc:
            log.error("could not undo the failed rebuild into %s: %s", new, exc)

    def _bulk_load(self, index: str, docs: Iterable[IndexDocument]) -> int:
        """Index `docs` into the new index; documents it rejects are logged and left out."""
        indexed = 0
        rejected: list[str] = []
        # create, not index: a copy ingest wrote meanwhile is newer than this snapshot
        actions = (action(index, doc, self.max_text_chars, op_type="create") for doc in docs)
        with backend_errors(self.url):
            # `index` is the index's own name, not an alias
            for ok, item in bulk(
                self.client,
                actions,
                chunk_size=self.chunk_size,
                max_bytes=self.max_bytes,
                require_alias=False,
            ):
                info = item["create"]
                if "exception" in info:  # the whole request failed: do not go live
                    raise BackendUnavailable(f"rebuild stopped: {reason(info)}")
                if ok or info.get("status") == CONFLICT:  # ingest's newer copy is there
                    indexed += 1
                else:
                    rejected.append(f"{info.get('_id')}: {reason(info)}")
        if rejected:
            log.warning("rebuild: %d documents rejected, e.g. %s", len(rejected), rejected[:3])
        return indexed
