"""Zoho's two shared limits, owned in one place: API credits and concurrent calls.

Every HTTP call of every stream goes through one :class:`GatedSession`, so

* the credits a run spends are counted by Zoho's documented costs (``shared/zoho-api.md`` 5.1:
  1 per CRM call, 50 per Bulk Read job) and the run stops reading cleanly when ``max_api_credits``
  would be passed, or when Zoho's ``X-API-CREDITS-REMAINING`` header (sent once half the day's
  credits are used; unconfirmed) falls below ``min_remaining_credits``;
* at most ``max_concurrent_calls`` calls are in flight at once, whatever runs them (modules side by
  side, field groups of one module), within Zoho's per-edition concurrency (5.2).

Books and Inventory calls are paced by their own per-organisation limits and cost no CRM credits.
"""

from __future__ import annotations

import threading
import typing as t
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from typing_extensions import override

from tap_zoho.errors import CreditBudgetExhaustedError

BULK_READ_PATH = "/crm/bulk/v8/read"
BULK_JOB_CREDITS = 50
REMAINING_HEADER = "X-API-CREDITS-REMAINING"


def crm_credits(method: str, url: str) -> int:
    """Documented credit cost of one call (0 for calls outside the CRM quota)."""
    path = urlsplit(url).path
    if path.rstrip("/") == BULK_READ_PATH and method.upper() == "POST":
        return BULK_JOB_CREDITS
    return 1 if path.startswith("/crm/") else 0


class CreditBudget:
    """Credits spent by this run, and whether the next call may still be made."""

    def __init__(self, max_credits: int | None, min_remaining: int | None) -> None:
        """No limit where a setting is unset."""
        self.max_credits = max_credits
        self.min_remaining = min_remaining
        self.used = 0
        self.remaining: int | None = None
        self.enforcing = False  # discovery always completes; the budget applies to reading
        self.reason: str | None = None
        self._lock = threading.Lock()

    def charge(self, cost: int) -> None:
        """Count a call about to be sent; raise when it would break the budget."""
        if cost <= 0:
            return
        with self._lock:
            if self.enforcing:
                self._check(cost)
            self.used += cost
            if self.remaining is not None:
                self.remaining -= cost

    def _check(self, cost: int) -> None:
        over_max = self.max_credits is not None and self.used + cost > self.max_credits
        if self.reason is None and over_max:
            self.reason = f"max_api_credits={self.max_credits} reached"
        low = (
            self.min_remaining is not None
            and self.remaining is not None
            and self.remaining - cost < self.min_remaining
        )
        if self.reason is None and low:
            self.reason = (
                f"Zoho reports {self.remaining} credits left, "
                f"min_remaining_credits={self.min_remaining}"
            )
        if self.reason is not None:
            msg = f"credit budget reached ({self.reason}, {self.used} credits used)"
            raise CreditBudgetExhaustedError(msg)

    def observe(self, response: requests.Response) -> None:
        """Take Zoho's remaining-credits header where one is sent."""
        raw = response.headers.get(REMAINING_HEADER)
        if raw is None:
            return
        try:
            value = int(float(raw))
        except ValueError:
            return
        with self._lock:
            self.remaining = value


class GatedSession(requests.Session):
    """A session whose every call is charged to the budget and holds a concurrency slot."""

    def __init__(self, budget: CreditBudget, max_concurrent: int) -> None:
        """One connection pool big enough for every slot."""
        super().__init__()
        self.budget = budget
        self.slots = threading.BoundedSemaphore(max_concurrent)
        self.max_concurrent = max_concurrent
        self.in_flight = 0
        self.max_in_flight = 0
        self._count_lock = threading.Lock()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(max_concurrent, 10))
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    @override
    def send(self, request: requests.PreparedRequest, **kwargs: t.Any) -> requests.Response:
        """Charge, wait for a slot, send."""
        self.budget.charge(crm_credits(request.method or "GET", request.url or ""))
        with self.slots:
            with self._count_lock:
                self.in_flight += 1
                self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                response = super().send(request, **kwargs)
            finally:
                with self._count_lock:
                    self.in_flight -= 1
        self.budget.observe(response)
        return response
