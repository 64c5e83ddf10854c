"""The webhook channel: a signed JSON POST through the fetcher's guarded HTTP client.

The body is signed with HMAC-SHA256 under `alerts.webhook_secret`:
``X-Newswatch-Signature: sha256=<hex of HMAC(secret, raw body)>``. The delivery key goes in
``X-Newswatch-Delivery`` and stays the same across retries, so a receiver can drop the
duplicate that at-least-once delivery may produce.

Webhook URLs often carry a secret (Slack's are one), so they may come from an environment
variable, and only their scheme and host ever reach a log line or a stored error.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import os
from typing import Any
from urllib.parse import urlsplit

import httpx

from pipeline.alerts.messages import AlertMessage
from pipeline.alerts.notifiers import DeliveryFailed
from pipeline.alerts.render import json_payload, slack_payload
from pipeline.alerts.rules import Channel
from pipeline.config import AlertSettings, FetchSettings
from pipeline.fetch.errors import DownloadError
from pipeline.fetch.http import make_client

# Only the status matters; a little of the body is read so the connection ends cleanly, and
# no more, so a receiver answering with a huge body costs nothing.
MAX_RESPONSE_BYTES = 64 * 1024

SIGNATURE_HEADER = "X-Newswatch-Signature"
DELIVERY_HEADER = "X-Newswatch-Delivery"


class _RedactPostUrls(logging.Filter):
    """httpx logs every request with its full URL at INFO. Webhooks are newswatch's only
    POSTs, and their URLs may be secrets, so theirs are cut down to scheme and host."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 2 and args[0] == "POST":
            record.args = (args[0], redact(str(args[1])), *args[2:])
        return True


logging.getLogger("httpx").addFilter(_RedactPostUrls())


def send(
    channel: Channel, message: AlertMessage, settings: AlertSettings, fetch: FetchSettings
) -> None:
    payload = slack_payload(message) if channel.format == "slack" else json_payload(message)
    post(channel, payload, message.key, settings, fetch)


def post(
    channel: Channel,
    payload: dict[str, Any],
    key: str,
    settings: AlertSettings,
    fetch: FetchSettings,
) -> None:
    """POST a JSON payload to the channel's URL, signed, under a delivery key."""
    url = resolve_url(channel)
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", DELIVERY_HEADER: key}
    if settings.webhook_secret is not None:
        headers[SIGNATURE_HEADER] = sign(settings.webhook_secret.get_secret_value(), body)
    shown = redact(url)
    deadline = settings.webhook_timeout_seconds
    try:
        status = asyncio.run(_post(url, body, headers, fetch, deadline))
    except TimeoutError:
        raise DeliveryFailed(
            f"{shown}: no complete answer within {deadline:g} s (alerts.webhook_timeout_seconds)"
        ) from None
    except DownloadError as exc:  # the SSRF guard or DNS
        raise DeliveryFailed(f"{shown}: {exc.detail.replace(url, shown)}") from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        reason = f"{type(exc).__name__}: {exc}".rstrip(": ").replace(url, shown)
        raise DeliveryFailed(f"{shown}: {reason}") from None
    if not 200 <= status < 300:
        raise DeliveryFailed(f"{shown}: HTTP {status}")


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def resolve_url(channel: Channel) -> str:
    if channel.url:
        return channel.url
    value = os.environ.get(channel.url_env or "", "").strip()
    if not value:
        raise DeliveryFailed(f"environment variable {channel.url_env} (webhook URL) is not set")
    return value


def redact(url: str) -> str:
    """Scheme and host only: the path and query of a webhook URL may be its secret."""
    parts = urlsplit(url)
    try:
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        port = ":?"
    host = parts.hostname or "?"
    if ":" in host:  # an IPv6 literal keeps its brackets, or the port would read as part of it
        host = f"[{host}]"
    return f"{parts.scheme}://{host}{port}/…"


async def _post(
    url: str, body: bytes, headers: dict[str, str], fetch: FetchSettings, deadline: float
) -> int:
    """POST and return the status; the whole exchange (connect, send, answer) has `deadline`
    seconds, so a receiver that drips its answer byte by byte cannot hold the run."""
    async with asyncio.timeout(deadline), make_client(fetch) as client:
        request = client.build_request("POST", url, content=body, headers=headers, timeout=deadline)
        response = await client.send(request, stream=True)
        try:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break
        finally:
            await response.aclose()
        return response.status_code
