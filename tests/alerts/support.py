"""Helpers for the alerts tests: classified articles in a real store, rule books, a real SMTP
server (aiosmtpd) with optional STARTTLS and AUTH, and a throwaway certificate authority."""

from __future__ import annotations

import hashlib
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from sqlalchemy import select

from pipeline.alerts.models import Alert, AlertArticle, AlertDelivery
from pipeline.alerts.rules import RuleBook, parse_rules
from pipeline.records import ArticleStatus
from pipeline.store import Store
from pipeline.store.models import Article
from pipeline.urls import article_id
from tests.articles import insert_article

T0 = datetime(2024, 5, 6, 9, 0, tzinfo=UTC)  # a Monday
RULE_SEEN = T0 - timedelta(days=1)  # rules are registered a day before the coverage


def add_article(
    store: Store,
    url: str,
    text: str,
    *,
    title: str = "A story",
    cluster: str | None = None,
    outlet: str = "The Example Times",
    discovered: datetime = T0,
    published: datetime | None = T0,
    language: str | None = "en",
    threads: tuple[str, ...] = (),
    relation: str | None = "unrelated",
) -> str:
    """A classified article, as the classify stage leaves it (its own cluster by default)."""
    return insert_article(
        store,
        url,
        text,
        status=ArticleStatus.CLASSIFIED.value,
        title=title,
        outlet=outlet,
        published=published,
        discovered=discovered,
        text_hash=hashlib.sha256(text.encode()).hexdigest(),
        language=language,
        threads=list(threads),
        relation=relation,
        cluster_id=cluster or article_id(url),
        classified_at=discovered,
    )


def revise(store: Store, aid: str, text: str, title: str | None = None) -> None:
    """A re-fetched page with new text, reclassified into its cluster."""
    with store.sessions() as session, session.begin():
        article = session.get_one(Article, aid)
        article.text = text
        article.text_hash = hashlib.sha256(text.encode()).hexdigest()
        article.title = title or article.title
        article.status = ArticleStatus.CLASSIFIED


def rule(name: str, terms: list[str], **fields: Any) -> dict[str, Any]:
    return {"name": name, "terms": terms, "channels": ["log"], **fields}


def book(*rules: dict[str, Any], channels: dict[str, Any] | None = None) -> RuleBook:
    """A rule book that went through the same validation as a rules file."""
    return parse_rules({"rules": list(rules), "channels": channels or {}}, source="<test>")


def alerts(store: Store) -> list[Alert]:
    with store.sessions() as session:
        return list(session.scalars(select(Alert).order_by(Alert.rule_name, Alert.id)))


def copies(store: Store, alert_id: int) -> dict[str, AlertArticle]:
    with store.sessions() as session:
        rows = session.scalars(select(AlertArticle).where(AlertArticle.alert_id == alert_id))
        return {row.article_id: row for row in rows}


def deliveries(store: Store) -> list[AlertDelivery]:
    with store.sessions() as session:
        return list(session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- a real SMTP server -----------------------------------------------------------------------


@dataclass
class Inbox:
    """aiosmtpd handler that keeps every message it accepts."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        self.messages.append(message_from_bytes(raw, policy=policy.default))
        self.envelopes.append((envelope.mail_from or "", list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (
            data.login.decode() == self.username and data.password.decode() == self.password
        )
        return AuthResult(success=ok, handled=False)  # not handled: the server answers 535


@contextmanager
def smtp_server(
    port: int,
    inbox: Inbox,
    *,
    tls: ssl.SSLContext | None = None,
    credentials: Credentials | None = None,
) -> Iterator[Controller]:
    kwargs: dict[str, Any] = {}
    if tls is not None:
        kwargs.update(tls_context=tls, require_starttls=True)
    if credentials is not None:
        kwargs.update(authenticator=credentials, auth_required=True)
    controller = Controller(inbox, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()


@dataclass(frozen=True)
class ThrowawayCA:
    ca_file: Path
    server_context: ssl.SSLContext


def make_ca(directory: Path) -> ThrowawayCA:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    now = datetime.now(UTC)

    def name(common: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(name("newswatch test CA"))
        .issuer_name(name("newswatch test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("127.0.0.1"))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file = directory / "ca.pem"
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    cert_file, key_file = directory / "server.pem", directory / "server.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return ThrowawayCA(ca_file, context)
