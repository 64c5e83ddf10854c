"""Finding what a batch's texts are copies of: stored articles and earlier ones of the batch.

The classify stage classifies a claimed batch in order, and each text must be matched
against every article classified before it, in the store or earlier in the same batch.
Rather than one query per article for each lookup (exact hash, band keys, passages),
with the previous article's fingerprint written and flushed before each, the batch's
lookups are one query each, made once the dedup lock is held (so nothing they read
changes until commit); what the batch itself classifies is kept here in memory, and its
fingerprints are written once at the end (`save_fingerprints`). The texts of the stored
articles a batch may be checked against are read with one query too, and their shingles
come from a cache that outlives the batch (`pipeline.classify.shingle_cache`).

MinHash (band-key) candidates are kept to articles dated within
``dedup.minhash_window_days`` of the text: syndicated and edited copies of a news story
appear within hours or days. Older copies that share whole sentences are still found by
the passage lookup, which has no window.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy.orm import Session

from pipeline.classify.dedup import Fingerprint, containment, signature_band_keys
from pipeline.classify.repository import (
    StoredPrint,
    band_rows,
    best_passage_matches,
    candidate_texts,
    exact_rows,
    passage_rows,
)
from pipeline.classify.shingle_cache import stored_shingles
from pipeline.config import DedupSettings


@dataclass(frozen=True)
class NearMatch:
    article_id: str
    cluster_id: str
    containment: float


@dataclass
class BatchCopies:
    """The store's answers for one batch's lookups, and what the batch classified so far."""

    settings: DedupSettings
    claimed: frozenset[str]  # the batch's article ids: still 'extracted' in the store
    stored_exact: dict[str, list[tuple[str, str]]]  # text hash → [(id, cluster)], oldest first
    stored_bands: dict[tuple[int, int], list[tuple[str, datetime]]]  # → [(id, seen at)]
    stored_passages: dict[int, list[str]]
    clusters: dict[str, str] = field(default_factory=dict)  # classified here: id → cluster
    originals: dict[str, tuple[str, str]] = field(default_factory=dict)  # text hash → first
    new_prints: dict[str, StoredPrint] = field(default_factory=dict)  # replace stored ones
    bands: dict[tuple[int, int], list[tuple[str, datetime]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    passages: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    shingles: dict[str, np.ndarray] = field(default_factory=dict)
    stored_texts: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → cluster, text


def prefetch(
    session: Session, prints: Iterable[StoredPrint], settings: DedupSettings
) -> BatchCopies:
    """One query each for the exact hashes, band keys and passages of these texts, and
    for the texts of the stored articles they may be checked against."""
    prints = list(prints)
    exact: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for text_hash, article_id, cluster_id in exact_rows(
        session, {p.fingerprint.text_hash for p in prints}
    ):
        exact[text_hash].append((article_id, cluster_id))
    bands: dict[tuple[int, int], list[tuple[str, datetime]]] = defaultdict(list)
    keys = [k for p in prints if p.fingerprint.indexable for k in _keys(p.fingerprint, settings)]
    for band, key, article_id, seen_at in band_rows(session, keys):
        bands[band, key].append((article_id, seen_at))
    passages: dict[int, list[str]] = defaultdict(list)
    hashes = [h for p in prints if p.fingerprint.indexable for h in p.fingerprint.passages]
    for passage_hash, article_id in passage_rows(session, hashes):
        passages[passage_hash].append(article_id)
    claimed = frozenset(p.article_id for p in prints)
    copies = BatchCopies(settings, claimed, exact, bands, passages)
    wanted = set[str]().union(
        *(_stored_candidates(copies, p.fingerprint, p.seen_at) for p in prints)
    )
    copies.stored_texts = candidate_texts(session, sorted(wanted))
    return copies


def _stored_candidates(copies: BatchCopies, fp: Fingerprint, seen_at: datetime) -> set[str]:
    """The stored articles (not of the batch) this text may be checked against, before
    anything of the batch is classified: its band-key candidates, and its best passage
    matches among stored articles only. Articles of the batch can only push a stored one
    out of the best later, never in, so these include every one it is checked against."""
    if not fp.indexable:
        return set()
    counts = _passage_counts(copies, fp)
    stored = {other: n for other, n in counts.items() if other not in copies.claimed}
    found = _band_candidates(copies, fp, seen_at) | set(best_passage_matches(stored, None))
    return found - copies.claimed


def _keys(fp: Fingerprint, settings: DedupSettings) -> list[tuple[int, int]]:
    return list(enumerate(signature_band_keys(fp.signature, settings)))


def exact_original(copies: BatchCopies, text_hash: str, article_id: str) -> tuple[str, str] | None:
    """(id, cluster id) of the first classified article with this text, if any."""
    for other, cluster_id in copies.stored_exact.get(text_hash, ()):
        if other != article_id and other not in copies.claimed:
            return other, cluster_id
    first = copies.originals.get(text_hash)
    return first if first is not None and first[0] != article_id else None


def record(
    copies: BatchCopies,
    article_id: str,
    cluster_id: str,
    fp: Fingerprint,
    *,
    original: bool,
    new_print: StoredPrint | None,
) -> None:
    """Note a classified article: later texts of the batch can be copies of it."""
    copies.clusters[article_id] = cluster_id
    copies.shingles[article_id] = fp.shingles
    if original:
        copies.originals.setdefault(fp.text_hash, (article_id, cluster_id))
    if new_print is not None:
        copies.new_prints[article_id] = new_print
        for key in _keys(fp, copies.settings):
            copies.bands[key].append((article_id, new_print.seen_at))
        for passage_hash in fp.passages:
            copies.passages[passage_hash].append(article_id)


def near_duplicate(
    copies: BatchCopies, article_id: str, fp: Fingerprint, seen_at: datetime
) -> NearMatch | None:
    """The classified article this text is a copy of (highest containment), if any."""
    if not fp.indexable:
        return None
    candidates = _candidates(copies, fp, article_id, seen_at)
    known = {
        c: (copies.clusters[c], copies.shingles[c]) for c in candidates if c in copies.clusters
    }
    for other_id in candidates - copies.claimed:
        if other_id in copies.stored_texts:
            cluster_id, text = copies.stored_texts[other_id]
            shingles = stored_shingles.shingles(text, copies.settings.shingle_words)
            known[other_id] = (cluster_id, shingles)
    best: NearMatch | None = None
    for other_id in sorted(known):
        cluster_id, other = known[other_id]
        score = containment(fp.shingles, other)
        if score >= copies.settings.duplicate_threshold and (
            best is None or score > best.containment
        ):
            best = NearMatch(other_id, cluster_id, score)
    return best


def _candidates(
    copies: BatchCopies, fp: Fingerprint, article_id: str, seen_at: datetime
) -> set[str]:
    found = _band_candidates(copies, fp, seen_at) | set(
        best_passage_matches(_passage_counts(copies, fp), exclude=article_id)
    )
    found.discard(article_id)
    return found


def _band_candidates(copies: BatchCopies, fp: Fingerprint, seen_at: datetime) -> set[str]:
    window = timedelta(days=copies.settings.minhash_window_days)
    found: set[str] = set()
    for key in _keys(fp, copies.settings):
        for other, when in copies.stored_bands.get(key, ()):
            if other not in copies.new_prints and abs(when - seen_at) <= window:
                found.add(other)
        for other, when in copies.bands.get(key, ()):
            if abs(when - seen_at) <= window:
                found.add(other)
    return found


def _passage_counts(copies: BatchCopies, fp: Fingerprint) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for passage_hash in fp.passages:
        for other in copies.stored_passages.get(passage_hash, ()):
            if other not in copies.new_prints:  # its stored passages are being replaced
                counts[other] += 1
        counts.update(copies.passages.get(passage_hash, ()))
    return counts
