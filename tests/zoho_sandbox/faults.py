"""Injected faults and the request/credit accounting tests assert on."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class Fault:
    """One queued fault: ``429``, ``500``, ``drop``, ``slow``, ``auth_failure`` or ``throttle``.

    ``throttle`` applies to the token endpoint: an ``Access Denied`` answer.
    """

    kind: str
    remaining: int
    path_contains: str = ""


@dataclass
class Faults:
    """Knobs for everything that can go wrong between the tap and Zoho."""

    latency_seconds: float = 0.0
    slow_seconds: float = 3.0
    daily_credit_budget: int | None = None
    max_concurrency: int | None = None
    token_error_status: int = 400
    expired_token_code: str = "INVALID_TOKEN"
    revoke_after_calls: int | None = None
    queued: list[Fault] = field(default_factory=list)
    hooks: list[tuple[int, Callable[[], None]]] = field(default_factory=list)
    path_hooks: list[list[Any]] = field(default_factory=list)  # [path_contains, nth, action]

    def inject(self, kind: str, times: int = 1, path_contains: str = "") -> None:
        """Answer the next ``times`` matching API calls with ``kind``."""
        self.queued.append(Fault(kind, times, path_contains))

    def take(self, path: str) -> str | None:
        """Pop the fault that applies to this call, if any."""
        for fault in self.queued:
            if fault.remaining > 0 and fault.path_contains in path:
                fault.remaining -= 1
                return fault.kind
        return None


class Stats:
    """Counts of requests by kind, credits, mints and concurrency, safe across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.credits = 0
        self.api_calls = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.log: list[tuple[float, str, str, int]] = []
        self.queries: list[tuple[str, dict[str, str]]] = []

    def start(self, limit: int | None) -> bool:
        """Enter a call; False when it would exceed the concurrency limit."""
        with self.lock:
            if limit is not None and self.in_flight >= limit:
                return False
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            return True

    def finish(self) -> None:
        """Leave a call."""
        with self.lock:
            self.in_flight -= 1

    def record(self, kind: str, path: str, status: int, cost: int) -> None:
        """Account one answered call."""
        with self.lock:
            self.requests[kind] += 1
            self.credits += cost
            self.log.append((time.time(), kind, path, status))

    def snapshot(self) -> dict[str, object]:
        """A JSON-friendly copy."""
        with self.lock:
            return {
                "requests": dict(self.requests),
                "credits": self.credits,
                "api_calls": self.api_calls,
                "max_in_flight": self.max_in_flight,
            }
