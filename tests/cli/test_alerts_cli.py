"""`newswatch alerts list|test|status|send-digests|retry` through the real command."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.alerts.stage import deliver_pending, raise_alerts
from pipeline.cli.main import app
from pipeline.cli.output import console
from pipeline.config import Settings
from pipeline.demo.content import NEWSROOM_DIR
from pipeline.store import open_store
from tests.alerts.support import RULE_SEEN, T0, add_article, free_port

RULES = {
    "channels": {"desk": {"type": "webhook", "url": "http://127.0.0.1:9/hooks/desk?token=x"}},
    "rules": [
        {"name": "huawei", "terms": ["Huawei"], "min_mentions": 2, "channels": ["desk"]},
        {
            "name": "hong-kong",
            "terms": ["Hong Kong", "HK"],
            "delivery": "daily",
            "channels": ["log"],
        },
    ],
}


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    rules = tmp_path / "rules.json"
    rules.write_text(json.dumps(RULES), encoding="utf-8")
    monkeypatch.setenv("NEWSWATCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("NEWSWATCH_ALERTS__RULES_FILE", str(rules))
    monkeypatch.setenv("NEWSWATCH_ALERTS__MAX_ATTEMPTS", "1")
    monkeypatch.setenv("NEWSWATCH_FETCH__ALLOWED_NETWORKS", '["127.0.0.0/8"]')
    monkeypatch.delenv("NEWSWATCH_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(console, "width", 200)  # rich tables wrap to the console, not the runner
    yield rules


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["alerts", *args])
    return result.exit_code, result.stdout, result.stderr


def test_list_shows_the_rules(env: Path) -> None:
    code, out, _ = invoke("list")
    assert code == 0
    assert "huawei" in out and "hong-kong" in out and "Hong Kong, HK" in out
    assert "daily" in out and "not yet" in out


def test_test_says_whether_and_where_a_rule_matches(env: Path) -> None:
    lumora = NEWSROOM_DIR / "articles" / "lumora-biotech-hkex-debut.txt"
    code, out, _ = invoke("test", "hong-kong", str(lumora))
    assert code == 0 and out.startswith("NO MATCH rule 'hong-kong': 0 mention(s)")

    code, out, _ = invoke("test", "huawei", "Huawei kit must go, Huawei said.")
    assert code == 0 and out.startswith("MATCH rule 'huawei': 2 mention(s)")
    assert "Huawei kit must go" in out and "text" in out

    page = Path("page.html")
    words = " ".join(["Operators keep auditing masts before the deadline."] * 10)
    page.write_text(
        "<html><head><title>Huawei ban</title></head><body><article><h1>Huawei ban</h1>"
        f"<p>{words}</p><p>Huawei says the timetable is too tight.</p></article></body></html>"
    )
    code, out, _ = invoke("test", "huawei", str(page))
    assert code == 0 and out.startswith("MATCH rule 'huawei': 2 mention(s)")

    code, _, err = invoke("test", "nuclear", "text")
    assert code == 2 and "no rule named 'nuclear'" in err


def test_a_broken_rules_file_is_refused_naming_the_rule_and_field(env: Path) -> None:
    broken = json.loads(env.read_text())
    broken["rules"][1]["delivery"] = "hourly"
    env.write_text(json.dumps(broken))
    code, out, err = invoke("list")
    assert code == 2 and out == ""
    assert "rule 'hong-kong', field 'delivery': 'hourly' is not one of" in err


def test_status_shows_parked_deliveries_with_their_reason_and_retry_requeues(
    env: Path, tmp_path: Path
) -> None:
    settings = Settings()
    store = open_store(settings.resolved_database_url)
    raise_alerts(store.sessions, settings, now=RULE_SEEN)
    add_article(store, "https://ledger.example/ban", "Huawei kit must go, Huawei said.")
    raise_alerts(store.sessions, settings, now=T0)
    deliver_pending(store.sessions, settings, now=T0)
    store.dispose()

    code, out, _ = invoke("status")
    assert code == 0
    assert "huawei" in out and "desk" in out
    assert "failed" in out and "instant:1:desk" in out
    assert "http://127.0.0.1:9/…" in out and "token" not in out

    code, out, _ = invoke("retry", "--rule", "huawei")
    assert code == 0 and "1 delivery(ies) queued again" in out


def test_send_digests_with_nothing_due(env: Path) -> None:
    code, out, _ = invoke("send-digests")
    assert code == 0 and "no digest due" in out


def test_the_database_being_down_is_exit_code_3(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none?connect_timeout=2"
    monkeypatch.setenv("NEWSWATCH_DATABASE_URL", url)
    code, _, err = invoke("status")
    assert code == 3 and "is unavailable" in err and "127.0.0.1" in err
