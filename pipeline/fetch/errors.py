"""The one failure of a download: a typed reason (FetchError) and what was reached."""

from __future__ import annotations

from pipeline.records import FetchError


class DownloadError(Exception):
    """A download that gave no usable response, with its typed reason.

    `final_url` and `redirects` are filled in by `download` with the hops taken so far.
    """

    def __init__(
        self,
        error: FetchError,
        detail: str,
        *,
        http_status: int | None = None,
        retry_after_seconds: float | None = None,
        connect_failed: bool = False,
    ) -> None:
        super().__init__(f"{error.value}: {detail}")
        self.error = error
        self.detail = detail
        self.http_status = http_status
        self.retry_after_seconds = retry_after_seconds
        self.connect_failed = connect_failed
        self.final_url: str | None = None
        self.redirects: list[str] = []

    @property
    def host_unreachable(self) -> bool:
        """The host could not be resolved or connected to: its other pages will fail too."""
        return self.error == FetchError.DNS_ERROR or self.connect_failed
