"""Zoho Books and Inventory allow about 100 requests a minute per organisation (pitfall 14).

Every Books/Inventory call names its organisation in the ``organization_id`` query parameter
(``shared/zoho-api.md`` 6.1), so the client paces exactly the calls that carry one, each attempt
counted: a retry or a token refresh spends the organisation's minute like any other call (6.3).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from urllib.parse import parse_qs, urlsplit


def organization_of(url: str) -> str | None:
    """The ``organization_id`` a call is for; None for calls outside Books and Inventory."""
    values = parse_qs(urlsplit(url).query).get("organization_id")
    return values[0] if values else None


class Pacer:
    """Keeps each organisation under its per-minute request limit, for every caller at once."""

    def __init__(self, per_minute: int, window_seconds: float = 60.0) -> None:
        """One pacer per run, shared by every client."""
        self.per_minute = max(1, per_minute)
        self.window = window_seconds
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.sent: dict[str, int] = {}  # calls let through per organisation, this run

    def wait(self, organization_id: str) -> None:
        """Sleep until one more call fits in the last minute's budget."""
        with self._lock:
            calls = self._calls.setdefault(organization_id, deque())
            now = time.monotonic()
            while calls and now - calls[0] >= self.window:
                calls.popleft()
            if len(calls) >= self.per_minute:
                time.sleep(max(0.0, self.window - (now - calls[0])))
                calls.popleft()
            calls.append(time.monotonic())
            self.sent[organization_id] = self.sent.get(organization_id, 0) + 1
