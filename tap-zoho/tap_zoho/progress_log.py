"""Progress lines at a steady cadence: records so far, with total and ETA when Zoho knows them."""

from __future__ import annotations

import time
import typing as t

if t.TYPE_CHECKING:
    import logging


class ProgressLog:
    """Logs ``module: N records`` at most every ``interval`` seconds, and once at the end."""

    def __init__(
        self, logger: logging.Logger, module: str, total: int | None, interval: float
    ) -> None:
        """Start the clock."""
        self._logger = logger
        self._module = module
        self._total = total
        self._interval = interval
        self._started = time.monotonic()
        self._last = self._started
        self.count = 0

    def add(self, n: int) -> None:
        """Count ``n`` more records; log if the interval has passed."""
        self.count += n
        now = time.monotonic()
        if now - self._last >= self._interval:
            self._last = now
            self._logger.info("%s", self.line(now))

    def line(self, now: float) -> str:
        """The progress sentence for the current count."""
        elapsed = max(now - self._started, 1e-9)
        rate = self.count / elapsed
        text = f"{self._module}: {self.count:,} records so far ({rate:,.0f}/s)"
        if self._total:
            remaining = max(self._total - self.count, 0)
            eta = remaining / rate if rate else float("inf")
            text += f" of about {self._total:,}, ETA {eta:,.0f}s"
        return text

    def done(self) -> None:
        """Log the final count."""
        elapsed = time.monotonic() - self._started
        self._logger.info("%s: %s records read in %.1fs", self._module, f"{self.count:,}", elapsed)
