"""classify's seed models: loaded once per configuration and process, seeds checked at once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.classify.seed_models import seed_models
from pipeline.classify.seeds import SeedError
from pipeline.classify.stage import classify_pending
from pipeline.config import Settings
from pipeline.store import open_store
from tests.conftest import make_test_settings


def test_one_configuration_is_loaded_once(settings: Settings) -> None:
    first = seed_models(settings)
    again = seed_models(settings.model_copy(deep=True))  # equal settings, another object
    assert again is first
    assert [p.seed.id for p in first.profiles] == ["seed_article"]
    assert again.profiles is first.profiles  # profiled once


def test_a_changed_seed_setting_loads_the_models_again(tmp_path: Path) -> None:
    one = seed_models(make_test_settings(tmp_path))
    both = seed_models(
        make_test_settings(
            tmp_path, dedup={"seeds": ["builtin:seed_article", "builtin:nsi_corvane"]}
        )
    )
    assert both is not one
    assert [s.id for s in both.seeds] == ["seed_article", "nsi_corvane"]


def test_a_bad_seed_fails_the_stage_even_with_nothing_to_classify(tmp_path: Path) -> None:
    settings = make_test_settings(tmp_path, dedup={"seeds": ["builtin:no_such_seed"]})
    store = open_store(settings.resolved_database_url)
    with pytest.raises(SeedError, match="no_such_seed"):
        classify_pending(store.sessions, settings)
