"""The Atom channel: each rule's alerts as an Atom feed (RFC 4287).

`render_rule_feed` gives the document (the HTTP API serves it); the channel writes it to
DATA_DIR/alerts/<rule>.atom, replacing the file atomically so a reader never sees half a feed.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from xml.etree import ElementTree as ET

from sqlalchemy.orm import Session

from pipeline.alerts.messages import AlertItem, recent_items
from pipeline.alerts.notifiers import DeliveryFailed
from pipeline.alerts.rules import Rule
from pipeline.records import utcnow

ATOM_NS = "http://www.w3.org/2005/Atom"
FEED_ENTRIES = 50  # latest alerts kept in a feed


def feed_path(data_dir: Path, rule_name: str) -> Path:
    return data_dir / "alerts" / f"{rule_name}.atom"


def render_rule_feed(session: Session, rule: Rule, *, self_url: str | None = None) -> str:
    """The rule's latest alerts as an Atom document (UTF-8 XML text)."""
    return render_feed(rule, recent_items(session, rule.name, FEED_ENTRIES), self_url=self_url)


def render_feed(rule: Rule, items: list[AlertItem], *, self_url: str | None = None) -> str:
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(_q("feed"))
    _text(feed, "id", f"urn:newswatch:alerts:{rule.name}")
    _text(feed, "title", f"newswatch alerts: {rule.title}")
    _text(feed, "subtitle", f"New coverage mentioning {', '.join(rule.terms)}")
    updated = max((i.updated_at for i in items), default=None) or utcnow()
    _text(feed, "updated", _stamp(updated))
    author = ET.SubElement(feed, _q("author"))
    _text(author, "name", "newswatch")
    _text(feed, "generator", "newswatch")
    if self_url:
        ET.SubElement(feed, _q("link"), rel="self", href=self_url, type="application/atom+xml")
    for item in sorted(items, key=lambda i: (i.created_at, i.alert_id), reverse=True):
        feed.append(_entry(rule, item))
    ET.indent(feed)
    return ET.tostring(feed, encoding="unicode", xml_declaration=True) + "\n"


def write_feed(path: Path, document: str) -> None:
    tmp: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(document)
        os.replace(tmp, path)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise DeliveryFailed(f"cannot write {path}: {exc.strerror or exc}") from None


def _entry(rule: Rule, item: AlertItem) -> ET.Element:
    entry = ET.Element(_q("entry"))
    # One entry per story: the id is stable, and a new copy only moves `updated`.
    _text(entry, "id", f"urn:newswatch:alert:{rule.name}:{item.cluster_id}")
    _text(entry, "title", item.title)
    ET.SubElement(entry, _q("link"), rel="alternate", href=item.url, type="text/html")
    for copy in item.also:
        ET.SubElement(entry, _q("link"), rel="related", href=copy.url, title=copy.outlet)
    _text(entry, "published", _stamp(item.created_at))
    _text(entry, "updated", _stamp(item.updated_at))
    author = ET.SubElement(entry, _q("author"))
    _text(author, "name", item.outlet or "unknown outlet")
    ET.SubElement(entry, _q("category"), term=rule.name, label=rule.title)
    summary = item.snippet
    if item.also:
        summary += f"\n\nAlso published by: {', '.join(c.outlet for c in item.also)}"
    _text(entry, "summary", summary).set("type", "text")
    return entry


def _text(parent: ET.Element, tag: str, value: str) -> ET.Element:
    element = ET.SubElement(parent, _q(tag))
    element.text = value
    return element


def _q(tag: str) -> str:
    return f"{{{ATOM_NS}}}{tag}"


def _stamp(value: datetime) -> str:
    return value.isoformat(timespec="seconds")  # RFC 3339, aware UTC → +00:00
