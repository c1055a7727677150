"""Listings Zoho refuses for good, remembered so that later runs take the working route at once.

Some refusals of a subform or linking module's listing come back every run: Zoho answers a 4xx
(the Subform API does not know the module, no permission), offers no page token past the
2,000-row position cap, lists rows that do not name their parent, or the module has more than 50
fields. Starting that listing again each run pays its calls before the same fallback (one read a
parent). So such a refusal is kept in the parent module's state (``completion_refused``: the
source module, why, when, and a digest of the parent field's metadata) and later runs skip the
route, saying so in the run summary.

A remembered refusal is tried again after ``RETRY_DAYS`` days, at once when the parent field's
metadata changes (a layout edit), and on a full refresh (state cleared): an edition upgrade, a
permission granted or Zoho paging further may have lifted it, and a week of one-credit-a-parent
reads bounds what a stale memory can cost. Refusals that may pass on the next run (a listing
dearer than the reads it replaces, throttling, server errors) are never kept.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from tap_zoho.datetimes import to_epoch, utc_iso

if t.TYPE_CHECKING:
    from .plan import Source

REFUSED = "completion_refused"
RETRY_DAYS = 7
DAY = 86_400


@dataclass(frozen=True)
class Refusal:
    """A remembered refusal of one source module's listing."""

    module: str
    reason: str
    since: int  # epoch second of the refusal

    @property
    def retry_at(self) -> int:
        """When the route is tried again (the metadata unchanged)."""
        return self.since + RETRY_DAYS * DAY

    def describe(self) -> str:
        """The summary's reason for skipping the route."""
        return (
            f"{self.reason} (remembered since {utc_iso(self.since)}; tried again from "
            f"{utc_iso(self.retry_at)} or when the field's metadata changes)"
        )


class Refusals:
    """The lasting refusals kept in one parent module's state."""

    def __init__(self, state: dict[str, t.Any], now: int) -> None:
        """``state`` is the parent module's state; ``now`` the run's epoch second."""
        self.state = state
        self.now = now

    def _kept(self) -> dict[str, t.Any]:
        kept = self.state.get(REFUSED)
        return kept if isinstance(kept, dict) else {}

    def active(self, source: Source) -> Refusal | None:
        """The refusal still standing for ``source``, if any (expired ones are forgotten)."""
        entry = self._kept().get(str(source.module))
        if not isinstance(entry, dict):
            return None
        try:
            refusal = Refusal(str(source.module), str(entry["reason"]), to_epoch(entry["since"]))
        except (KeyError, TypeError, ValueError, AttributeError):  # not what this tap wrote
            self.forget(source)
            return None
        if self.now >= refusal.retry_at or entry.get("field") != source.signature:
            self.forget(source)
            return None
        return refusal

    def remember(self, source: Source, reason: str) -> None:
        """Keep a lasting refusal of ``source``'s listing."""
        kept = dict(self._kept())
        kept[str(source.module)] = {
            "reason": reason,
            "since": utc_iso(self.now),
            "field": source.signature,
        }
        self.state[REFUSED] = kept

    def forget(self, source: Source) -> None:
        """Drop what was kept for ``source`` (its listing worked, or it is to be tried again)."""
        kept = dict(self._kept())
        if kept.pop(str(source.module), None) is None:
            return
        if kept:
            self.state[REFUSED] = kept
        else:
            self.state.pop(REFUSED, None)
