"""What every command starts from: the settings, the store, and a run with a progress bar."""

from __future__ import annotations

from typing import Any

from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn

from pipeline.cli.output import console
from pipeline.config import Settings
from pipeline.index.factory import open_index
from pipeline.observe.logs import configure_logging
from pipeline.runs.record import RunSummary
from pipeline.store import Store, open_store


def load() -> Settings:
    settings = Settings()
    configure_logging(settings.observability)
    return settings


def connect(settings: Settings) -> Store:
    return open_store(settings.resolved_database_url)


def run_with_progress(store: Store, settings: Settings, **kwargs: Any) -> RunSummary:
    from pipeline.runs.runner import STAGES, run_pipeline  # every stage: only `run` needs them

    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        console=console,
        transient=True,
    )
    with progress:
        task = progress.add_task("polling feeds", total=len(STAGES))

        def advance(stage: str, _counts: dict[str, int]) -> None:
            position = STAGES.index(stage) + 1
            label = STAGES[position] if position < len(STAGES) else "done"
            progress.update(task, completed=position, description=f"stage: {label}")

        backend = open_index(settings)
        backend.ensure_ready()
        return run_pipeline(store.sessions, settings, backend, on_stage=advance, **kwargs)
