"""The Atom feed of a rule's alerts, written to DATA_DIR/alerts/<rule>.atom, read back by
feedparser."""

from __future__ import annotations

from datetime import timedelta

import feedparser

from pipeline.alerts.notifiers.atom import feed_path, render_rule_feed
from pipeline.alerts.stage import deliver_pending, raise_alerts
from pipeline.config import Settings
from pipeline.store import Store
from tests.alerts.support import RULE_SEEN, T0, add_article, book, rule

STORY = "Operators must strip Huawei kit from 5G masts; Huawei says the deadline is too tight."
RULES = book(rule("huawei", ["Huawei"], title="Huawei", channels=["atom"]))


def test_the_feed_has_one_entry_per_story_and_follows_its_copies(
    store: Store, settings: Settings
) -> None:
    raise_alerts(store.sessions, settings, now=RULE_SEEN, book=RULES)
    first = add_article(
        store, "https://ledger.example/ban", STORY, title="Huawei ban & costs", outlet="Ledger"
    )
    add_article(
        store,
        "https://wire.example/contract",
        "Huawei loses a contract, Huawei confirms.",
        title="Contract lost",
        outlet="Wire",
        discovered=T0 + timedelta(minutes=1),
    )
    raise_alerts(store.sessions, settings, now=T0, book=RULES)
    assert deliver_pending(store.sessions, settings, now=T0, book=RULES)["deliveries_sent"] == 2

    path = feed_path(settings.data_dir, "huawei")
    assert path == settings.data_dir / "alerts" / "huawei.atom"
    parsed = feedparser.parse(path.read_bytes())
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert parsed.feed.title == "newswatch alerts: Huawei"
    assert parsed.feed.id == "urn:newswatch:alerts:huawei"
    ban = next(e for e in parsed.entries if e.title == "Huawei ban & costs")
    assert ban.id == f"urn:newswatch:alert:huawei:{first}"
    assert ban.link == "https://ledger.example/ban"
    assert ban.author == "Ledger"
    assert "strip Huawei kit" in ban.summary
    assert {e.title for e in parsed.entries} == {"Huawei ban & costs", "Contract lost"}

    # A syndicated copy arrives: the same entry, updated, now naming the other outlet.
    later = T0 + timedelta(hours=2)
    add_article(
        store,
        "https://albion.example/ban",
        STORY,
        outlet="Albion",
        cluster=first,
        published=T0 + timedelta(hours=1),
        discovered=later,
    )
    raise_alerts(store.sessions, settings, now=later, book=RULES)
    with store.sessions() as session:
        document = render_rule_feed(session, RULES.rules[0], self_url="http://api.example/f")
    reparsed = feedparser.parse(document)
    assert len(reparsed.entries) == 2
    ban = next(e for e in reparsed.entries if e.id == f"urn:newswatch:alert:huawei:{first}")
    assert ban.updated_parsed > ban.published_parsed
    assert "Also published by: Albion" in ban.summary
    related = [link.href for link in ban.links if link.rel == "related"]
    assert related == ["https://albion.example/ban"]
    assert reparsed.feed.links[0].href == "http://api.example/f"
