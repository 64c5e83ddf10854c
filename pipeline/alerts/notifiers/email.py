"""The email channel: one message per delivery (an alert or a whole digest) over SMTP.

Plain-text and HTML alternatives; STARTTLS and AUTH from `alerts.smtp`. The Message-ID is
derived from the delivery key, so a message re-sent after a crash carries the same id and
mail clients can fold the duplicate.
"""

from __future__ import annotations

import hashlib
import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from pipeline.alerts.messages import AlertMessage
from pipeline.alerts.notifiers import DeliveryFailed
from pipeline.alerts.render import html_body, plain_text, subject
from pipeline.alerts.rules import Channel
from pipeline.config import SmtpSettings

logger = logging.getLogger("newswatch.alerts")


def build(channel: Channel, message: AlertMessage, smtp: SmtpSettings) -> EmailMessage:
    email = plain(channel, subject(message), plain_text(message), message.key, smtp)
    email.add_alternative(html_body(message), subtype="html")
    return email


def plain(channel: Channel, title: str, text: str, key: str, smtp: SmtpSettings) -> EmailMessage:
    """A plain-text message to the channel's recipients, its Message-ID derived from `key`."""
    email = EmailMessage()
    email["Subject"] = title
    email["From"] = smtp.sender
    email["To"] = ", ".join(channel.to)
    email["Date"] = formatdate(usegmt=True)
    domain = smtp.sender.rpartition("@")[2] or "newswatch.invalid"
    email["Message-ID"] = f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@{domain}>"
    email.set_content(text)
    return email


def send(channel: Channel, message: AlertMessage, smtp: SmtpSettings) -> None:
    deliver(build(channel, message, smtp), smtp, message.key)


def deliver(email: EmailMessage, smtp: SmtpSettings, key: str) -> None:
    """Hand one message to the SMTP server (STARTTLS and AUTH as configured)."""
    where = f"SMTP {smtp.host}:{smtp.port}"
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_seconds) as client:
            if smtp.starttls:
                cafile = str(smtp.ca_file) if smtp.ca_file else None
                client.starttls(context=ssl.create_default_context(cafile=cafile))
            if smtp.username:
                password = smtp.password.get_secret_value() if smtp.password else ""
                client.login(smtp.username, password)
            refused = client.send_message(email)
    except smtplib.SMTPAuthenticationError as exc:
        raise DeliveryFailed(f"{where}: authentication refused ({exc.smtp_code})") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryFailed(f"{where}: {type(exc).__name__}: {exc}".rstrip(": ")) from None
    if refused:  # the others have it; a retry would send it to them twice
        logger.warning("%s refused recipients of %s: %s", where, key, sorted(refused))
