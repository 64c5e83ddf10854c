"""Reading a response body under size caps: on the wire, and once decompressed."""

from __future__ import annotations

import zlib
from collections.abc import Callable

import httpx

from pipeline.config import FetchSettings
from pipeline.fetch.errors import DownloadError
from pipeline.records import FetchError

# We decode bodies ourselves (to bound decompression), so only offer what we can decode.
ACCEPT_ENCODING = "gzip, deflate"


async def read_body(
    response: httpx.Response,
    settings: FetchSettings,
    sink: Callable[[bytes], None] | None = None,
) -> bytes:
    """The decoded body; with `sink`, each decoded chunk goes there as it arrives and the
    return value is empty (the caps apply all the same)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.max_body_bytes:
        raise DownloadError(
            FetchError.TOO_LARGE,
            f"Content-Length {declared} exceeds max_body_bytes={settings.max_body_bytes}",
            http_status=response.status_code,
        )
    decoder = BodyDecoder(response.headers.get("content-encoding"), settings.max_decompressed_bytes)
    chunks: list[bytes] = []
    wire = 0
    async for raw in response.aiter_raw():
        wire += len(raw)
        if wire > settings.max_body_bytes:
            raise DownloadError(
                FetchError.TOO_LARGE,
                f"body exceeds max_body_bytes={settings.max_body_bytes} (stopped reading)",
                http_status=response.status_code,
            )
        chunks.append(decoder.feed(raw))
        if sink is not None:
            sink(chunks.pop())
    chunks.append(decoder.flush())
    if sink is not None:
        sink(chunks.pop())
        return b""
    return b"".join(chunks)


class BodyDecoder:
    """Content-Encoding decoding that never inflates past `limit` bytes (zip bombs).

    zlib's `max_length` bounds each step's output, so memory stays bounded even when one
    small wire chunk would inflate to gigabytes.
    """

    def __init__(self, content_encoding: str | None, limit: int) -> None:
        codings = [c.strip().lower() for c in (content_encoding or "").split(",") if c.strip()]
        codings = [c for c in codings if c != "identity"]
        if len(codings) > 1 or (codings and codings[0] not in ("gzip", "x-gzip", "deflate")):
            raise DownloadError(
                FetchError.DECODE_ERROR,
                f"unsupported Content-Encoding {content_encoding!r} (we ask for {ACCEPT_ENCODING})",
            )
        self._remaining = limit
        self._limit = limit
        # wbits | 32 accepts both gzip and zlib headers; raw deflate is tried on a header error.
        self._inflater = zlib.decompressobj(zlib.MAX_WBITS | 32) if codings else None
        self._started = False

    def feed(self, data: bytes) -> bytes:
        if self._inflater is None:
            return self._count(data)
        try:
            # At most one byte past the cap: enough to tell that the cap was crossed.
            out = self._inflater.decompress(data, self._remaining + 1)
        except zlib.error as exc:
            if self._started:
                raise DownloadError(FetchError.DECODE_ERROR, f"bad compressed body: {exc}") from exc
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)  # deflate without zlib header
            self._started = True
            return self.feed(data)
        self._started = True
        return self._count(out)

    def flush(self) -> bytes:
        if self._inflater is None:
            return b""
        try:
            return self._count(self._inflater.flush())
        except zlib.error as exc:
            raise DownloadError(FetchError.DECODE_ERROR, f"bad compressed body: {exc}") from exc

    def _count(self, out: bytes) -> bytes:
        if len(out) > self._remaining:
            raise DownloadError(
                FetchError.TOO_LARGE,
                f"body exceeds max_decompressed_bytes={self._limit} once decompressed",
            )
        self._remaining -= len(out)
        return out
