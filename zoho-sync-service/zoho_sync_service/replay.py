"""Deliveries already accepted: an identical one within the window is answered, not stored again.

Zoho retries a delivery it thinks failed (a timeout, a 5xx, a dropped connection), and whoever
captured a signed webhook can send it again; neither may start another run. Two deliveries are
identical when the content that authenticated them is (:func:`.intake.delivery_digest`: the signed
bytes, not the signature, so a retry signed afresh with a new timestamp is still recognised).
Only authenticated deliveries are remembered: a forged copy can never shadow the real one.

Digests are kept in memory (at most ``capacity``, the newest) and in the database, so a restart
keeps the window: a digest is written in the transaction that stores its trigger, or, when the
trigger joined a waiting run without a write, by the next :meth:`ReplayGuard.flush`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .history import History

CAPACITY = 100_000
PRUNE_SECONDS = 60.0


class ReplayGuard:
    """Remembers authenticated deliveries for ``window`` seconds."""

    def __init__(self, history: History, window: float, capacity: int = CAPACITY) -> None:
        """Load the digests of the last ``window`` seconds from ``history``."""
        self.history = history
        self.window = window
        self.capacity = capacity
        self._seen: OrderedDict[str, float] = OrderedDict(
            history.recent_deliveries(time.time() - window, capacity) if window > 0 else []
        )
        self._unsaved: dict[str, float] = {}
        self._pruned = 0.0

    def seen(self, digest: str) -> bool:
        """Whether an identical delivery was accepted within the window."""
        at = self._seen.get(digest)
        return at is not None and time.time() - at < self.window

    def remember(self, digest: str, now: float | None = None) -> None:
        """Note a delivery accepted at ``now`` (saved with the next trigger write or flush)."""
        if self.window <= 0:
            return
        now = time.time() if now is None else now
        self._seen[digest] = now
        self._seen.move_to_end(digest)
        self._unsaved[digest] = now
        while self._seen and (
            len(self._seen) > self.capacity or now - next(iter(self._seen.values())) >= self.window
        ):
            self._seen.popitem(last=False)

    def unsaved(self) -> list[tuple[str, float]]:
        """Digests remembered since they were last written."""
        return list(self._unsaved.items())

    def saved(self, written: list[tuple[str, float]]) -> None:
        """``written`` are in the database now."""
        for digest, at in written:
            if self._unsaved.get(digest) == at:
                del self._unsaved[digest]

    def flush(self) -> None:
        """Write what is unsaved and drop what has left the window from the database."""
        pending = self.unsaved()
        if pending:
            self.history.remember_deliveries(pending)
            self.saved(pending)
        now = time.time()
        if self.window > 0 and (pending or now - self._pruned >= PRUNE_SECONDS):
            self.history.forget_deliveries(now - self.window, self.capacity)
            self._pruned = now
