"""What classify reads before its first article: threads, seeds, the embedder, seed profiles.

Loaded once per process for a given configuration, so that a worker process classifying
batch after batch (`pipeline.runs.workers`) pays for it once, and the embedding model and
the seed profiles only when there is something to classify. The seeds themselves are read
at once, so a misconfigured seed fails the stage even when nothing is waiting.
"""

from __future__ import annotations

from functools import cached_property

from pipeline.classify.analysis import SeedProfile, profile_seed
from pipeline.classify.embed import Embedder, default_embedder
from pipeline.classify.seeds import Seed, load_seeds
from pipeline.classify.threads import ThreadBook, load_thread_book
from pipeline.config import Settings


class SeedModels:
    """The thread definitions and seeds of one configuration; embedder and profiles on use."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.book: ThreadBook = load_thread_book(settings.dedup.threads_file)
        self.seeds: list[Seed] = load_seeds(settings)

    @cached_property
    def embedder(self) -> Embedder:
        return default_embedder()

    @cached_property
    def profiles(self) -> list[SeedProfile]:
        """One per seed, default seed first."""
        return [profile_seed(s, self._settings.dedup, self.book, self.embedder) for s in self.seeds]


# The last configuration's models, keyed by the settings they depend on (seed files and
# pages are read through the extract and fetch settings).
_last: tuple[str, SeedModels] | None = None


def seed_models(settings: Settings) -> SeedModels:
    """The models for `settings`: loaded afresh only when that part of the settings changed."""
    global _last
    key = "\n".join(s.model_dump_json() for s in (settings.dedup, settings.extract, settings.fetch))
    if _last is None or _last[0] != key:
        _last = (key, SeedModels(settings))
    return _last[1]
