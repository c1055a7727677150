"""Plain paging for modules without ``Modified_Time``: pages, then page tokens to their cap.

Such a module cannot be read by keyset windows (:mod:`tap_zoho.keyset`), so it is read whole,
in Zoho's order, each run.
"""

from __future__ import annotations

from dataclasses import dataclass

from .keyset import PageRequest


@dataclass
class PositionCursor:
    """Pages by position, then by the token of the last page, until Zoho says there is no more."""

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
