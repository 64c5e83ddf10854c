"""Generations of monthly indices behind two aliases: set-up, rebuild and the alias swap,
and retention by whole months.

- a generation ``vN`` is a set of monthly indices ``PREFIX-vN-YYYY.MM`` (``months.py``)
  created through one index template; the current month's index always exists, so the
  aliases always have an index to stand on;
- searchers read through the alias ``PREFIX`` (on every index of the live generation);
  ``PREFIX-write`` marks the generation writes go to (``layout.py``, ``writes.py``);
- a rebuild starts generation ``v(N+1)`` behind the write alias, fills it month by month,
  then moves the read alias there and deletes every index of the old generation in one
  atomic ``_aliases`` call. While it runs, new writes go to both generations, so nothing
  is lost whether it succeeds or fails. The rebuild writes with ``create``: a document
  that ingest wrote meanwhile is newer than the store snapshot being loaded, and is kept.
  During the load the new indices have no replicas and no refresh; both are restored
  before they go live.
- `setup` installs the template (the only call that needs ``manage_index_templates``);
  `ensure_ready`, run by ingest, only reads the aliases once setup has run.
- `drop_expired` deletes the months that hold only articles older than the cut-off.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from elasticsearch import ApiError, BadRequestError, Elasticsearch, TransportError

from pipeline.index.base import BackendUnavailable
from pipeline.index.elastic.client import backend_errors, bulk, reason
from pipeline.index.elastic.documents import action
from pipeline.index.elastic.layout import Layout, create_index, ensure_indices, read_layout
from pipeline.index.elastic.months import Naming, article_month, month_of
from pipeline.index.elastic.template import index_template, template_settings
from pipeline.index.elastic.vectors import maps_vectors, refuses_vectors
from pipeline.index.elastic.writes import copies, delete_action
from pipeline.records import IndexDocument, as_utc, utcnow

log = logging.getLogger(__name__)

# While a rebuild loads: no replica copies (written once, replicated after) and no refresh.
LOAD_SETTINGS: dict[str, Any] = {
    "auto_expand_replicas": "false",
    "number_of_replicas": 0,
    "refresh_interval": "-1",
}
SERVING = template_settings(LOAD_SETTINGS)  # what the load settings give back afterwards
CONFLICT = 409
NAMES_PER_DELETE = 50  # index names per DELETE request (they go in the URL)


class Generations:
    """The aliases and generations of monthly indices of one prefix."""

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
        self.naming = Naming(prefix)
        self.read_alias, self.write_alias = prefix, f"{prefix}-write"
        self.chunk_size, self.max_bytes = chunk_size, max_bytes
        self.max_text_chars = max_text_chars
        self._vectors: dict[int, bool] = {}

    def layout(self) -> Layout:
        return read_layout(self.client, self.naming, self.read_alias, self.write_alias)

    def writable(self) -> Layout:
        """The layout, with any index that missed an alias (created by a writer just as a
        rebuild went live) given it."""
        layout = self.layout()
        missing = layout.missing_aliases()
        if missing:
            self.client.indices.update_aliases(actions=missing)
            log.info("gave %d search indices their missing aliases", len(missing))
            layout = self.layout()
        return layout

    def maps_vectors(self, version: int, layout: Layout) -> bool:
        """Whether generation `version` has the dense_vector field (read once)."""
        if version not in self._vectors:
            members = layout.members(version)
            found = bool(members) and maps_vectors(self.client, members[-1].name)
            if not found:
                log.info("search index %s has no vector field", self.naming.generation(version))
            self._vectors[version] = found
        return self._vectors[version]

    # -- set-up ----------------------------------------------------------------------------

    def ensure_ready(self) -> None:
        """Nothing to do when both aliases exist (read-only: the ingest credential needs no
        template privilege); otherwise `setup`."""
        with backend_errors(self.url):
            layout = self.layout()
            if layout.live is not None and layout.writer is not None:
                return
        self.setup()

    def setup(self) -> None:
        """Install the template; create this month's index of v1 behind both aliases if
        there is no live generation, else map the template's new fields on its indices."""
        with backend_errors(self.url):
            template = self._put_template()
            layout = self.layout()
            if layout.live is not None:
                if layout.writer is None:
                    self.client.indices.update_aliases(
                        actions=[
                            {"add": {"index": n.name, "alias": self.write_alias}}
                            for n in layout.members(layout.live)
                        ]
                    )
                properties = template["template"]["mappings"]["properties"]
                for version in layout.targets():
                    for member in layout.members(version):
                        self._add_new_fields(member.name, properties)
                return
            first = self.naming.monthly(layout.max_version() + 1, month_of(utcnow()))
            aliases: dict[str, dict[str, Any]] = {self.read_alias: {}, self.write_alias: {}}
            if not create_index(self.client, first, aliases):
                return  # another process created it first
        log.info("created search index %s behind %s and %s", first, *aliases)

    def _put_template(self) -> dict[str, Any]:
        """Install the index template; returns the one installed."""
        template = index_template(self.read_alias)
        try:
            self.client.indices.put_index_template(name=self.read_alias, body=template)
        except BadRequestError as exc:
            if not refuses_vectors(exc):
                raise
            log.warning(
                "Elasticsearch at %s has no dense_vector type (%s): the index template "
                "leaves the embedding out and kNN more-like-this is off",
                self.url,
                exc.message,
            )
            template = index_template(self.read_alias, vectors=False)
            self.client.indices.put_index_template(name=self.read_alias, body=template)
        return template

    def _add_new_fields(self, index: str, properties: dict[str, Any]) -> None:
        """Map the template's fields that `index` (made from an older template) lacks, so
        its strict mapping accepts documents that carry them (e.g. `perspective`, schema
        version 4). Documents indexed before have none until `newswatch index rebuild`."""
        mapping = self.client.indices.get_mapping(index=index)[index]["mappings"]
        new = {k: v for k, v in properties.items() if k not in mapping.get("properties", {})}
        if new:
            self.client.indices.put_mapping(index=index, properties=new)
            log.info("added the fields %s to search index %s", ", ".join(sorted(new)), index)

    # -- rebuild -----------------------------------------------------------------------------

    def rebuild(self, docs: Iterable[IndexDocument]) -> int:
        """Fill a new generation, then swap the read alias to it and drop the old one."""
        self.ensure_ready()
        with backend_errors(self.url):
            layout = self.layout()
            live = layout.live
            orphans = layout.orphans()
            for orphan in orphans:
                log.warning("deleting orphaned search index %s", orphan)
                del layout.indices[orphan]
            self._delete(orphans)
            new = layout.max_version() + 1
            first = self.naming.monthly(new, month_of(utcnow()))
            create_index(self.client, first, {}, settings=LOAD_SETTINGS)
            moves: list[dict[str, Any]] = [
                {"remove": {"index": n.name, "alias": self.write_alias}}
                for n in layout.parsed()
                if self.write_alias in layout.indices[n.name]
            ]
            moves.append({"add": {"index": first, "alias": self.write_alias}})
            self.client.indices.update_aliases(actions=moves)
        generation = self.naming.generation(new)
        log.info("rebuilding search index into %s (searches use %s meanwhile)", generation, live)
        try:
            indexed, loaded_until = self._bulk_load(new, first, docs)
            with backend_errors(self.url):
                every = self.naming.generation_pattern(new)
                self.client.indices.put_settings(index=every, settings={"index": SERVING})
                self.client.indices.refresh(index=every)
                self._drop_stale_copies(every, loaded_until)
                self._go_live(new)
        except BaseException:
            self._abandon(new, live)
            raise
        log.info("search index %s is live with %d documents", generation, indexed)
        return indexed

    def _bulk_load(
        self, new: int, first: str, docs: Iterable[IndexDocument]
    ) -> tuple[int, datetime | None]:
        """Load `docs` into generation `new`, creating its months as they come; documents it
        rejects are logged and left out. Returns the count and the latest `indexed_at`."""
        indexed = 0
        rejected: list[str] = []
        latest: list[datetime] = []
        created = {first}
        with backend_errors(self.url):
            vectors = self.maps_vectors(new, self.layout())

            def actions() -> Iterator[dict[str, Any]]:
                for doc in docs:
                    name = self.naming.monthly(new, article_month(doc))
                    if name not in created:
                        self._load_month(name)
                        created.add(name)
                    stamp = as_utc(doc.indexed_at)
                    if stamp is not None and (not latest or stamp > latest[0]):
                        latest[:] = [stamp]
                    # create, not index: a copy ingest wrote meanwhile is newer than this snapshot
                    yield action(name, doc, self.max_text_chars, op_type="create", vectors=vectors)

            for ok, item in bulk(
                self.client,
                actions(),
                chunk_size=self.chunk_size,
                max_bytes=self.max_bytes,
                require_alias=False,  # monthly indices by name, created just before
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
        return indexed, (latest[0] if latest else None)

    def _load_month(self, name: str) -> None:
        """A month of the generation being loaded, with the load settings (ingest may have
        created it already, with the template's)."""
        aliases: dict[str, dict[str, Any]] = {self.write_alias: {}}
        if not create_index(self.client, name, aliases, settings=LOAD_SETTINGS):
            self.client.indices.put_settings(index=name, settings={"index": LOAD_SETTINGS})

    def _drop_stale_copies(self, indices: str, loaded_until: datetime | None) -> None:
        """Ingest may have moved an article to another month while the rebuild loaded its
        older copy: of two copies, the one indexed last stays. Only documents indexed after
        the snapshot can be such a copy."""
        if loaded_until is None:
            return
        newer: list[str] = []
        after: list[Any] | None = None
        while True:
            page = self.client.search(
                index=indices,
                query={"range": {"indexed_at": {"gt": loaded_until.isoformat()}}},
                sort=[{"article_id": "asc"}],
                source=False,
                size=1000,
                search_after=after,
            )["hits"]["hits"]
            if not page:
                break
            newer.extend(str(h["_id"]) for h in page)
            after = page[-1]["sort"]
        stale = [
            delete_action(c.index, article_id)
            for article_id, found in copies(self.client, [indices], newer).items()
            for c in sorted(found, key=lambda c: c.indexed_at or "")[:-1]
        ]
        if stale:
            log.warning("rebuild: %d copies left in a month an article has left", len(stale))
            for ok, item in bulk(
                self.client,
                stale,
                chunk_size=self.chunk_size,
                max_bytes=self.max_bytes,
                require_alias=False,
            ):
                if not ok and item["delete"].get("status") != 404:
                    raise BackendUnavailable(f"rebuild stopped: {reason(item['delete'])}")

    def _go_live(self, new: int) -> None:
        """One atomic `_aliases` call: the read alias on every index of `new`, every index of
        the old generations gone; then any month a writer added meanwhile gets its alias."""
        layout = self.layout()
        swap: list[dict[str, Any]] = [
            {"add": {"index": n.name, "alias": self.read_alias}} for n in layout.members(new)
        ]
        swap += [
            {"remove_index": {"index": n.name}}
            for n in layout.parsed()
            if n.version != new and layout.indices[n.name] & {self.read_alias, self.write_alias}
        ]
        self.client.indices.update_aliases(actions=swap)
        self.writable()

    def _abandon(self, new: int, live: int | None) -> None:
        """Undo a failed rebuild: writers go back to the live generation, the new one goes."""
        try:
            layout = self.layout()
            undo: list[dict[str, Any]] = []
            if live is not None:
                undo += [
                    {"add": {"index": n.name, "alias": self.write_alias}}
                    for n in layout.members(live)
                ]
            undo += [{"remove_index": {"index": n.name}} for n in layout.members(new)]
            self.client.indices.update_aliases(actions=undo)
            log.warning("rebuild into v%d failed; searches and writes stay on v%s", new, live)
        except (ApiError, TransportError) as exc:
            log.error("could not undo the failed rebuild into v%d: %s", new, exc)

    # -- retention ---------------------------------------------------------------------------

    def drop_expired(self, cutoff: datetime) -> list[str]:
        """Delete every monthly index whose month ended at or before `cutoff`: each of its
        articles is older than the cut-off. The month that contains the cut-off stays;
        its expired articles are deleted one by one. Returns the indices deleted."""
        with backend_errors(self.url):
            layout = self.layout()
            # the aliases keep an index to stand on: each written generation's current month
            now = month_of(utcnow())
            ensure_indices(self.client, layout, {layout.route(v, now): v for v in layout.targets()})
            expired = [n.name for n in layout.parsed() if n.month and n.month.end() <= cutoff]
            self._delete(expired)
        if expired:
            log.info("retention deleted %d monthly search indices: %s", len(expired), expired)
        return expired

    def _delete(self, names: list[str]) -> None:
        """Delete indices by name (Elasticsearch refuses wildcard deletes by default:
        action.destructive_requires_name); a name already gone is no error."""
        for start in range(0, len(names), NAMES_PER_DELETE):
            chunk = names[start : start + NAMES_PER_DELETE]
            self.client.indices.delete(index=chunk, ignore_unavailable=True)
