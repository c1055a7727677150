"""Keyset paging of CRM Get Records by ``Modified_Time``: no record lost, past every page cap.

Zoho pages by position over live data (``page``) or by opaque tokens capped at 100,000
records (``shared/zoho-api.md`` 3.1, pitfall 1). Position paging loses a record whenever an
earlier record is edited mid-run (it jumps to the end and everything shifts back by one). So
every request opens a new window: ``If-Modified-Since`` one second before the newest
``Modified_Time`` seen, sorted ascending.
An edited record only ever moves forward, into a window still to come, and no cap is ever reached.

The second before the bookmark is re-read on purpose: timestamps have one-second resolution and
Zoho's comparison may be strict or inclusive (unconfirmed), so the tap asks for the boundary second
again and drops the ids it already emitted. Only when one second holds a full page of records (a
bulk import) does it page by position inside that window, and by page token past the position cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .errors import UnsortedResponseError


@dataclass(frozen=True)
class PageRequest:
    """What the next Get Records call asks for."""

    modified_after: int | None  # epoch second for If-Modified-Since, None for everything
    page: int | None = None
    page_token: str | None = None


@dataclass
class ModifiedTimeCursor:
    """Plans Get Records windows and decides which rows of each page are new.

    Attributes:
        bookmark: newest ``Modified_Time`` (epoch second) already emitted, or the start date.
        seen_at_bookmark: ids already emitted whose ``Modified_Time`` equals ``bookmark``.
        per_page: rows per call.
        discrete_cap: rows reachable with ``page`` before a token is required.
    """

    bookmark: int | None
    seen_at_bookmark: set[str] = field(default_factory=set)
    per_page: int = 200
    discrete_cap: int = 2000
    finished: bool = False
    _page: int = 1
    _token: str | None = None

    def next_request(self) -> PageRequest:
        """The request to send now."""
        after = None if self.bookmark is None else self.bookmark - 1
        if self._page == 1:
            return PageRequest(after)
        if self._token:
            return PageRequest(after, page_token=self._token)
        return PageRequest(after, page=self._page)

    def accept(
        self, rows: list[tuple[str, int]], *, more: bool, next_token: str | None
    ) -> list[bool]:
        """Take one page of ``(id, modified_epoch)`` rows; return which rows to emit."""
        epochs = [epoch for _, epoch in rows]
        if epochs != sorted(epochs):
            msg = "Zoho returned records out of Modified_Time order; refusing to page unsafely"
            raise UnsortedResponseError(msg)
        if self._page == 1:
            self._window_bookmark = self.bookmark
        keep = [self._take(rid, epoch) for rid, epoch in rows]
        if not more or not rows:
            self.finished = True
        elif self.bookmark != self._window_bookmark:
            # The bookmark moved: a fresh window starting there skips nothing and re-reads little.
            self._page = 1
            self._token = None
        else:
            # A whole page inside one second (bulk import): follow this window's page token
            # (position paging stops at the discrete cap, whose size servers may lower).
            if self._page * self.per_page >= self.discrete_cap and not next_token:
                msg = "Zoho gave no page token past the position cap"
                raise UnsortedResponseError(msg)
            self._page += 1
            self._token = next_token
        return keep

    def _take(self, rid: str, epoch: int) -> bool:
        if self.bookmark is not None and (
            epoch < self.bookmark or (epoch == self.bookmark and rid in self.seen_at_bookmark)
        ):
            return False
        if self.bookmark is None or epoch > self.bookmark:
            self.bookmark = epoch
            self.seen_at_bookmark = {rid}
        else:
            self.seen_at_bookmark.add(rid)
        return True

    _window_bookmark: int | None = None


@dataclass
class PositionCursor:
    """Plain paging for modules without ``Modified_Time``: pages, then tokens to their cap."""

    finished: bool = False
    _page: int = 1
    _token: str | None = None

    def next_request(self) -> PageRequest:
        """The request to send now."""
        if self._token:
            return PageRequest(None, page_token=self._token)
        return PageRequest(None, page=self._page)

    def accept(self, rows: list[str], *, more: bool, next_token: str | None) -> None:
        """Take one page of ids."""
        if not more or not rows:
            self.finished = True
            return
        self._page += 1
        self._token = next_token
