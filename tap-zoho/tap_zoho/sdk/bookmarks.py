"""Bookmarks that lose nothing at one-second resolution: a settled UTC second plus its rows.

Zoho stamps records to the second and in local offsets (``+05:30`` in CRM, ``+0530`` in Books)
that can change with daylight saving, while the SDK compares bookmark strings. So the bookmark is
the UTC instant of the newest *settled* second emitted, and ``boundary_fingerprints`` maps the ids
emitted at that second to a fingerprint of their content: the next run re-reads that second and
skips exactly the rows it finds unchanged, so a record edited again within its second is emitted
again. Older states listed bare ``boundary_ids``; those rows are emitted once more (their content
is unknown), never skipped.

A second is settled when Zoho's clock (the ``Date`` header of the answer that returned the row)
is ``bookmark_lag_seconds`` past it (``keyset.Boundary``). Newer rows are emitted, but the
bookmark stays before them, so the next run reads them again: a late edit inside that second, or
a row Zoho makes visible late, is not skipped. STATE holds the fingerprints of one second only.

The SDK offers no public hook for "a record was written, advance the bookmark", so
:class:`OwnBookmarks` is the tap's one override of ``Stream._increment_stream_state``
(the SDK's minor series is pinned; the tap's SDK assumption tests fail if its signature or call
order changes): every stream that moves its own bookmark, keyset streams and the users listing
alike, hears of each written record through :meth:`OwnBookmarks.record_written`.
"""

from __future__ import annotations

import contextlib
import sys
import time
import typing as t
from functools import cached_property

from singer_sdk.streams import Stream

if sys.version_info >= (3, 12):
    from typing import override
else:  # singer-sdk brings typing-extensions below Python 3.13
    from typing_extensions import override

from tap_zoho.datetimes import to_epoch, utc_iso
from tap_zoho.fingerprints import fingerprint
from tap_zoho.keyset import Boundary, ModifiedTimeCursor

BOUNDARY_IDS = "boundary_ids"  # older states: ids at the bookmark, content unknown
BOUNDARY_FINGERPRINTS = "boundary_fingerprints"
DEFAULT_LAG_SECONDS = 5


def saved_boundary(
    state: t.Mapping[str, t.Any],
    prints_key: str = BOUNDARY_FINGERPRINTS,
    ids_key: str = BOUNDARY_IDS,
) -> dict[str, str | None]:
    """The rows a state says were emitted at its bookmark: fingerprints, or bare ids (None)."""
    prints = state.get(prints_key)
    if isinstance(prints, dict):
        return {str(rid): (str(value) if value else None) for rid, value in prints.items()}
    return dict.fromkeys(str(rid) for rid in state.get(ids_key) or [])


class OwnBookmarks(Stream):
    """Mixin for streams that move their own bookmark instead of the SDK's per-record step."""

    @override
    def _increment_stream_state(
        self, latest_record: dict[str, t.Any], *, context: t.Any = None
    ) -> None:
        """The SDK calls this right after writing a record: :meth:`record_written` decides."""
        self.record_written(latest_record, context)

    def record_written(self, record: dict[str, t.Any], context: t.Any) -> None:
        """``record`` is out: by default no bookmark moves (a listing sets it when complete)."""

    def advance_bookmark(self, value: str, context: t.Any) -> None:
        """Set the bookmark to ``value`` through the SDK's own step (its state keys and flush)."""
        key = t.cast("str", self.replication_key)
        super()._increment_stream_state({key: value}, context=context)

    @cached_property
    def lag_seconds(self) -> int:
        """``bookmark_lag_seconds``: how far behind Zoho's clock a second counts as settled."""
        value = self.config.get("bookmark_lag_seconds", DEFAULT_LAG_SECONDS)
        return max(0, int(DEFAULT_LAG_SECONDS if value is None else value))


class KeysetBookmarks(OwnBookmarks):
    """Mixin for sorted streams whose replication key is a Zoho datetime."""

    id_key = "id"
    _bookmark_paused = False  # True while a side pass (deletions, deactivations) is emitting
    _last_checkpoint: float | None = None

    @cached_property
    @override
    def STATE_MSG_FREQUENCY(self) -> int:  # type: ignore[override]
        """Records between two resumable STATE messages inside a module (the SDK's: 10,000)."""
        return max(1, int(self.config.get("state_checkpoint_records", 1000)))

    @cached_property
    def _checkpoint_seconds(self) -> float:
        return float(self.config.get("state_checkpoint_seconds", 10))

    _boundary: Boundary | None = None
    _read_horizon: int | None = None  # settled horizon of the page the current rows came from

    @cached_property
    def _listed(self) -> dict[str, tuple[int, str]]:
        """Rows about to be emitted, by id: their instant and fingerprint as listed."""
        return {}

    def page_listed(self, marks: t.Mapping[str, tuple[int, str]], horizon: int | None) -> None:
        """A page was read: its kept rows by id (listed instant, fingerprint), and Zoho's horizon.

        The rows are emitted next; a second newer than ``horizon`` is not settled yet.
        """
        self._read_horizon = horizon
        if not self._bookmark_paused:
            for rid, (epoch, print_) in marks.items():
                self.remember_listed(rid, epoch, print_)

    @contextlib.contextmanager
    def bookmark_paused(self) -> t.Iterator[None]:
        """While a side pass emits (deletions, older records completed, an export): no move."""
        self._bookmark_paused = True
        try:
            yield
        finally:
            self._bookmark_paused = False

    def remember_listed(self, rid: str, epoch: int, print_: str) -> None:
        """Note a row as Zoho listed it, for the bookmark once it is written.

        ``epoch`` is its modification instant as the cursor read it (the time is not parsed
        again), ``print_`` the fingerprint of its listed content.
        """
        self._listed[rid] = (epoch, print_)

    @override
    def record_written(self, record: dict[str, t.Any], context: t.Any) -> None:
        """Advance the UTC bookmark to the newest settled second and note the rows at it."""
        if not self._bookmark_paused:
            self.count_as_emitted(record, context)

    def count_as_emitted(self, latest_record: dict[str, t.Any], context: t.Any) -> None:
        """Move the bookmark for a record written now, or earlier in the same form (a backfill)."""
        key = self.replication_key
        if not key or not latest_record.get(key):
            return
        state = self.get_context_state(context)
        boundary = self._boundary
        if boundary is None:
            saved = state.get("replication_key_value")
            boundary = Boundary(to_epoch(saved) if saved else None, saved_boundary(state))
            self._boundary = boundary
        rid = str(latest_record[self.id_key])
        listed = self._listed.pop(rid, None)
        epoch, print_ = listed or (to_epoch(latest_record[key]), fingerprint(latest_record))
        before = boundary.second
        boundary.note(rid, epoch, print_, self._read_horizon)
        if boundary.second is None:
            return
        state[BOUNDARY_FINGERPRINTS] = boundary.fingerprints
        state.pop(BOUNDARY_IDS, None)
        if boundary.second != before or "replication_key_value" not in state:
            self.advance_bookmark(utc_iso(boundary.second), context)
        self._checkpoint_if_due()

    def _checkpoint_if_due(self) -> None:
        """Also write STATE when ``state_checkpoint_seconds`` passed since the last one.

        Called right after a record was written and counted in the bookmark, so the STATE covers
        exactly the records already emitted; a killed run resumes from there.
        """
        interval = self._checkpoint_seconds
        now = time.monotonic()
        if self._last_checkpoint is None:
            self._last_checkpoint = now
        elif interval > 0 and now - self._last_checkpoint >= interval:
            self._last_checkpoint = now
            self._write_state_message()

    def bookmark_start(self, context: t.Any) -> tuple[int | None, dict[str, str | None]]:
        """Where this run starts: the saved bookmark and its rows, else ``start_date``."""
        state = self.get_context_state(context)
        saved = state.get("replication_key_value")
        self._read_horizon = None
        if saved:
            seen = saved_boundary(state)
            self._boundary = Boundary(to_epoch(saved), dict(seen))
            return to_epoch(saved), seen
        start = self.config.get("start_date")
        self._boundary = None
        return (to_epoch(start) if start else None), {}

    def resumed_cursor(
        self, context: t.Any, *, per_page: int, discrete_cap: int
    ) -> ModifiedTimeCursor:
        """A keyset cursor from where this run starts, settling seconds ``lag_seconds`` old."""
        bookmark, seen = self.bookmark_start(context)
        return ModifiedTimeCursor(
            bookmark,
            seen,
            per_page=per_page,
            discrete_cap=discrete_cap,
            lag_seconds=self.lag_seconds,
        )
