"""One read of one CRM module: what its stream emits, in order, and what each part costs.

1. A first full sync of a large module goes through Bulk Read (:mod:`.backfill`).
2. Live records, page by page in keyset order (:mod:`.listing`), each page completed with the
   values lists leave out (:mod:`.completion`) before any row of it is emitted.
3. Records an earlier run left incomplete, read whole within the run's budget.
4. Deleted records from ``/{module}/deleted`` (``type=all``) with their own bookmark, emitted with
   ``_sdc_deleted_at`` set (``shared/zoho-api.md`` 4.1; :mod:`.deletions`).
5. After a race with the listing of subform or linking rows: the parents whose rows changed.
6. Parents whose single-record read cut an array (``$has_more``), completed from the lists.

The stream's bookmark moves only with the live records (2); every other pass pauses it. The
reader reaches its stream only through the bookmark's public side
(:class:`~tap_zoho.sdk.bookmarks.KeysetBookmarks`).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from tap_zoho.datetimes import to_epoch
from tap_zoho.errors import RouteRefused
from tap_zoho.position_paging import PositionCursor

from .backfill import BulkBackfill
from .bulk_read.jobs import BulkJobs
from .completion.completer import Completer
from .completion.inputs import CompletionRun
from .completion.plan import CompletionFields
from .completion.shared import SharedLinks
from .deletions import DeletionReader, DeletionWindow
from .deletions import bookmark as deletion_bookmark
from .limits import DISCRETE_CAP
from .schema import DELETED_AT

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_zoho.keyset import ModifiedTimeCursor
    from tap_zoho.sdk.bookmarks import KeysetBookmarks
    from tap_zoho.summary import RunSummary

    from .completion.budget import DetailBudget
    from .listing import ModuleListing

DELETED_SINCE = "deleted_since"
DELETED_SEEN = "deleted_seen"


@dataclass(frozen=True)
class CrmRun:
    """What every CRM module read of one run shares.

    Its summary, its per-record reads, and the listings of linking modules that serve both their
    stream and their parent's completion.
    """

    summary: RunSummary
    budget: DetailBudget
    links: SharedLinks = field(default_factory=SharedLinks)


class ModuleReader:
    """Reads one module for its stream; see the module docstring."""

    def __init__(self, stream: KeysetBookmarks, listing: ModuleListing, crm_run: CrmRun) -> None:
        """``stream``'s bookmark and state; ``listing``'s module, fields and client."""
        self.stream = stream
        self.listing = listing
        self.module = listing.module
        self.crm_run = crm_run
        self.config = stream.config
        self.state = stream.get_context_state(listing.context)

    def records(self) -> Iterator[dict[str, t.Any]]:
        """Every record of this read, in the order of the module docstring."""
        module, listing, stream = self.module, self.listing, self.stream
        completer = self._completer()
        try:
            state = self.state
            first = not module.has_modified_time or not state.get("replication_key_value")
            count = listing.count() if first else None  # /actions/count once a run
            jobs = BulkJobs(listing.client, listing.context, module.api_name)
            backfill = BulkBackfill(stream, listing, jobs, completer, count)  # a first full sync
            yield from backfill.records()
            whole = first and not (module.has_modified_time and self.config.get("start_date"))
            if whole and not state.get("replication_key_value"):
                completer.prepare_full(count)  # values lists leave out, before any parent
            pages = backfill.follow_up(self._live_pages(count if whole else None))
            for page in completer.pages(pages):
                for row in page:
                    yield module.clean(row)
            selected = listing.selection.fields
            with stream.bookmark_paused():  # older records, completed: the bookmark stays
                for record in completer.catch_up(selected):
                    yield module.clean(record)
            if self.config.get("crm_include_deleted", True):
                with stream.bookmark_paused():  # deletions have their own bookmark
                    for record in self._deleted_records():
                        completer.note_deletion(record["id"], record[DELETED_AT])
                        yield record
            with stream.bookmark_paused():
                for record in completer.check_again(selected):
                    yield module.clean(record)
                for record in completer.cut_parents():
                    yield module.clean(record)
        finally:
            completer.finish()

    def _completer(self) -> Completer:
        """What completes the values lists leave out, for this read of the module."""
        module, listing = self.module, self.listing
        run = CompletionRun(
            module=module.api_name,
            path=module.path,
            get_json=listing.get_json,
            logger=listing.logger,
            summary=self.crm_run.summary,
            budget=self.crm_run.budget,
            enabled=bool(self.config.get("crm_detail_reads", True)),
            cap=int(self.config.get("crm_detail_reads_max_per_run", 10_000)),
            per_page=listing.per_page,
            has_modified_time=module.has_modified_time,
            clock=listing.client.server_now,
            links=self.crm_run.links,
        )
        fields = CompletionFields.for_fields(module.fields, set(listing.selection.fields))
        return Completer(run, fields, self.state)

    def _live_pages(self, count: int | None) -> Iterator[list[dict[str, t.Any]]]:
        """Pages of records modified since the bookmark (all of them without one)."""
        listing = self.listing
        cursor: ModifiedTimeCursor | PositionCursor
        if self.module.has_modified_time:
            cursor = self.stream.resumed_cursor(
                listing.context, per_page=listing.per_page, discrete_cap=DISCRETE_CAP
            )
        else:
            if self.crm_run.links.shares(self.module.api_name) is not None:
                return self._shared_pages(count)
            cursor = PositionCursor()
        interval = float(self.config.get("progress_interval_seconds", 30))
        return listing.pages(cursor, count, interval, self.stream.page_listed)

    def _shared_pages(self, count: int | None) -> Iterator[list[dict[str, t.Any]]]:
        """A linking module's rows from the one listing its parent's completion uses too.

        Listed here (between probes of the parent) unless the completion is listing it or listed
        it; when that listing failed, or the completion declined it, the module is listed on its
        own.
        """
        listing, name = self.listing, self.module.api_name
        try:
            entry, _ = self.crm_run.links.listing(
                name, listing.get_json, listing.per_page, probe=True
            )
        except RouteRefused as exc:
            listing.logger.info("%s: %s; listing it on its own.", name, exc)
            entry = None
        if entry is None:
            interval = float(self.config.get("progress_interval_seconds", 30))
            yield from listing.pages(PositionCursor(), count, interval, self.stream.page_listed)
            return
        try:
            yield from entry.pages(listing.per_page)
        finally:
            entry.release()

    def _deleted_records(self) -> Iterator[dict[str, t.Any]]:
        """Deletions since the deletion bookmark, each id at most once (:mod:`.deletions`)."""
        module, listing, state = self.module, self.listing, self.state
        saved = state.get(DELETED_SINCE)
        since_text = saved or self.config.get("start_date")
        window = DeletionWindow(
            to_epoch(since_text) if since_text else None,
            set(state.get(DELETED_SEEN) or []) if saved else set(),
        )
        path = f"{module.path}/deleted"
        clock = listing.client.server_now
        reader = DeletionReader(
            lambda params, headers: listing.get_json(path, params, headers),
            clock,
            module.api_name,
            listing.logger,
            cap=DISCRETE_CAP,
        )
        for entry in reader.read(window):
            yield module.tombstone(entry)
        for kind, since, until in reader.unlisted:
            self.crm_run.summary.unlisted(module.api_name, kind, since, until)
        position = deletion_bookmark(window, settled_before=clock() - self.stream.lag_seconds)
        if position is not None:
            state[DELETED_SINCE], state[DELETED_SEEN] = position
