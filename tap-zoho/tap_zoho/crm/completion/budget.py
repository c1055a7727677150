"""The run's budget of reads of one record at a time (``crm_detail_reads_max_per_run``).

Single-record reads and Rich Text API reads cost a credit a record (``zoho-api.md`` 3.2, 3.3); one
budget, shared by every CRM stream of the run, bounds them. Lists and exports are not counted:
they cost a credit per 200 rows or per job (:mod:`.completer`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class DetailBudget:
    """Single-record reads left in this run, shared by every CRM stream."""

    remaining: int
    warned: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, wanted: int) -> int:
        """Reserve up to ``wanted`` reads; return how many were granted."""
        with self._lock:
            granted = max(0, min(wanted, self.remaining))
            self.remaining -= granted
            return granted

    def first_refusal(self) -> bool:
        """True exactly once: the moment to warn that the cap was reached."""
        with self._lock:
            first, self.warned = not self.warned, True
            return first
