"""Items deleted in Zoho Books/Inventory, told to targets with Singer's ``ACTIVATE_VERSION``.

Books and Inventory keep no deletion feed (``shared/zoho-api.md`` 6.5): a deleted item simply stops
being listed, and ``GET /items/{id}`` answers 404 code 1002. Only a complete listing shows what is
gone. So once per run, an items stream decides (:meth:`Reconciliation.plan`) whether this run lists
every item of every organisation. If it does:

* every record of the stream carries one ``version`` (milliseconds since the epoch when the run
  planned it), the Singer convention for "the table as of this listing";
* when every organisation's listing has completed *within this run*, one ``ACTIVATE_VERSION`` with
  that version follows the stream's last record: a target may retire the rows it did not receive
  at this version (target-tsh-postgres marks those products inactive, per organisation; SQL
  targets built on the SDK soft- or hard-delete them).

``items_reconcile_deletions`` decides when:

* unset (auto): when the run reads every item anyway, i.e. the stream has no bookmark and no
  ``start_date`` is set (a first run, ``meltano run --full-refresh``). No extra calls.
* ``true``: in every run. An organisation whose normal pass is incremental (or bounded by
  ``start_date``) gets a listing pass after it: one call per 200 items (active items with
  ``items_active_only``), plus one per window that restarts on a second shared by a page of items.
* ``false``: never.

``ACTIVATE_VERSION`` names a stream, not an organisation, so the decision is the stream's: when one
organisation needs a listing, every organisation of the stream is listed.

A listing that did not finish within this run never counts. The partition state keeps
``reconcile_pending`` from the moment a run starts reconciling until its ``ACTIVATE_VERSION`` is
written, so a run resumed from a checkpoint of a killed one lists every item again (in auto mode
too), and a run in which one organisation failed emits no ``ACTIVATE_VERSION`` at all.
"""

from __future__ import annotations

import enum
import time
import typing as t
from dataclasses import dataclass, field

SETTING = "items_reconcile_deletions"
PENDING = "reconcile_pending"


class Listing(enum.Enum):
    """Which pass of an organisation lists every item."""

    NONE = "none"  # this run does not reconcile
    NORMAL = "normal"  # the normal pass starts from nothing: it is the listing
    EXTRA = "extra"  # incremental (or start_date) run: a listing pass follows the normal one


def wants_listing(state: dict[str, t.Any], *, setting: bool | None, start_date: bool) -> bool:
    """Whether this organisation's state and the setting ask for a complete listing."""
    if setting is not None:
        return setting
    return bool(state.get(PENDING)) or not (state.get("replication_key_value") or start_date)


@dataclass
class Reconciliation:
    """One items stream's decision for this run, and which organisations finished listing."""

    listings: dict[str, Listing]
    version: int | None
    listed: set[str] = field(default_factory=set)

    @classmethod
    def plan(
        cls, states: dict[str, dict[str, t.Any]], *, setting: bool | None, start_date: bool
    ) -> Reconciliation:
        """Decide for the whole stream from every organisation's state (before any is read)."""
        wanted = [wants_listing(s, setting=setting, start_date=start_date) for s in states.values()]
        if not any(wanted):
            for state in states.values():
                state.pop(PENDING, None)
            return cls(dict.fromkeys(states, Listing.NONE), None)
        listings = {
            org: Listing.EXTRA
            if state.get("replication_key_value") or start_date
            else Listing.NORMAL
            for org, state in states.items()
        }
        for state in states.values():
            state[PENDING] = True  # a killed run leaves it: the next run lists again
        return cls(listings, time.time_ns() // 1_000_000)

    def done(self, organization_id: str) -> None:
        """Every pass of this organisation ended without error in this run."""
        self.listed.add(organization_id)

    @property
    def complete(self) -> bool:
        """True when this run reconciles and every organisation was listed whole."""
        return self.version is not None and self.listed >= set(self.listings)

    def missing(self) -> list[str]:
        """Organisations whose listing did not complete."""
        return sorted(set(self.listings) - self.listed)
