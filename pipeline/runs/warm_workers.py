"""Preloaded by the fork server of a run's worker pool (`pipeline.runs.workers`), and by
nothing else: importing it imports the stages and loads the models every worker uses
(language identification, sentence embeddings) once, in the fork server, so each worker
forked from it starts with them instead of loading its own (about 1 CPU s per worker).
"""

from __future__ import annotations

import contextlib

from pipeline.classify.embed import EmbeddingError, default_embedder
from pipeline.extract.extractor import warm_up
from pipeline.runs import workers  # noqa: F401  (the stage functions the workers run)

warm_up()
with contextlib.suppress(EmbeddingError):  # a worker that needs the model reports it
    default_embedder()
