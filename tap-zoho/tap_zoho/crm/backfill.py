"""First full syncs of large CRM modules through Bulk Read (``shared/zoho-api.md`` 4.4).

Get Records costs ceil(records/200) x ceil(fields/50) credits; one Bulk Read job exports 200,000
records for 50 + a few. So a module's first full sync (no bookmark) goes through Bulk Read when it
holds at least ``crm_bulk_read_min_records`` records:

1. Create a job over the selected fields Bulk Read can export (``id`` first).
2. Beside it, the module's :class:`~.completion.completer.Completer` reads what neither a list
   nor an export holds: the subform and linking modules, by their own jobs or by listing them,
   whichever costs fewer credits (3.3).
3. While Zoho prepares the jobs, read what the export may lack by Get Records: converted Leads and
   records under approval (whether an export holds them is unconfirmed: ``converted=true`` and
   ``approved=false`` list exactly those, so both readings end with every record once), and the
   values of fields Bulk Read cannot export that lists return (uploads, line taxes,
   multi-reminders), kept by id in the spool, not in memory.
4. Poll, download and stream the CSV (:mod:`.bulk_read.jobs`); each batch of rows is completed from
   the spool before it is emitted.
5. Bookmark ``bookmark_lag_seconds`` + 1 seconds before the first job's ``created_time`` (a change
   in those seconds may or may not be in the export), with no boundary rows; the incremental Get
   Records pass that follows reads every change made from then on, and skips a record it already
   emitted in the same form.

Modules or fields Bulk Read refuses fall back to Get Records with a log line. The backfill reaches
its stream only through the bookmark's public side (pausing it, counting a record emitted).
"""

from __future__ import annotations

import typing as t

from tap_zoho.datetimes import to_epoch, utc_iso
from tap_zoho.errors import BulkRefusedError, ZohoApiError
from tap_zoho.keyset import ModifiedTimeCursor, PageRequest
from tap_zoho.progress_log import ProgressLog
from tap_zoho.sdk.bookmarks import BOUNDARY_FINGERPRINTS, BOUNDARY_IDS

from .bulk_read.csv_rows import bulk_shape, exportable
from .completion.plan import is_list_omitted
from .completion.spool import Spool
from .hidden_records import HiddenRecords
from .limits import (
    ALL_RECORDS,
    DISCRETE_CAP,
    MAX_FIELDS_PER_CALL,
    MAX_IDS_PER_CALL,
    MODIFIED_TIME,
    TOKEN_CAP,
)

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_zoho.sdk.bookmarks import KeysetBookmarks

    from .bulk_read.jobs import BulkJobs
    from .completion.completer import Completer
    from .listing import ModuleListing

DEFAULT_MIN_RECORDS = 10_000
COMPLETION_BATCH = 200  # export rows completed at a time
Page = list[dict[str, t.Any]]


class BulkBackfill:
    """One module's Bulk Read backfill and the bookkeeping its follow-up pass needs."""

    def __init__(
        self,
        stream: KeysetBookmarks,
        listing: ModuleListing,
        jobs: BulkJobs,
        completer: Completer,
        count: int | None,
    ) -> None:
        """Nothing is read until :meth:`records` runs; ``count`` is the module's record count.

        ``stream`` is the module's stream, for its settings, state and bookmark.
        """
        self.stream = stream
        self.listing = listing
        self.module = listing.module
        self.context = listing.context
        self.completer = completer
        self.count = count
        self.jobs = jobs
        self.ran = False
        self.fields: dict[str, dict[str, t.Any]] = dict(self.module.field_meta)
        self._recent: dict[str, dict[str, t.Any]] = {}
        self.hidden = HiddenRecords(
            self.module.api_name,
            listing.get_json,
            listing.selection.groups,
            self.module.field_meta,
            stream.logger,
        )
        self.hidden.since = self._since_header()
        self._exported_hidden: set[str] = set()
        self._bookmark: int | None = None
        self._exported_rows = 0

    # ------------------------------------------------------------------ decision
    def _wanted(self) -> bool:
        stream = self.stream
        value = stream.config.get("crm_bulk_read_min_records", DEFAULT_MIN_RECORDS)
        minimum = int(DEFAULT_MIN_RECORDS if value is None else value)
        if minimum <= 0:
            return False
        state = stream.get_context_state(self.context)
        if self.module.has_modified_time and state.get("replication_key_value"):
            return False
        if self.count is None or self.count < minimum:
            return False
        stream.logger.info(
            "%s: %s records, at least crm_bulk_read_min_records=%s: backfilling by Bulk Read.",
            self._name,
            f"{self.count:,}",
            f"{minimum:,}",
        )
        return True

    @property
    def _name(self) -> str:
        return self.module.api_name

    # ------------------------------------------------------------------ records
    def records(self) -> Iterator[dict[str, t.Any]]:
        """The backfill's records; nothing when the module is read by Get Records instead."""
        if not self._wanted():
            return
        stream = self.stream
        selected = [n for n in self.listing.selection.fields if n in self.fields]
        columns = [n for n in selected if exportable(self.fields[n])]
        # Fields Bulk Read cannot export but lists return; the completer reads the others.
        missing = [
            n
            for n in selected
            if not exportable(self.fields[n]) and not is_list_omitted(self.fields[n])
        ]
        query: dict[str, t.Any] = {
            "module": {"api_name": self._name},
            "fields": ["id", *columns],
            "page": 1,
        }
        start = stream.config.get("start_date")
        if start and self.module.has_modified_time:
            query["criteria"] = {
                "field": {"api_name": MODIFIED_TIME},
                "comparator": "greater_equal",
                "value": utc_iso(to_epoch(start)).replace("+00:00", "Z"),
            }
        try:
            job = self.jobs.create(query)
        except ZohoApiError as exc:
            stream.logger.warning(
                "%s: Bulk Read refused the export (%s); reading it through Get Records.",
                self._name,
                exc,
            )
            return
        self.ran = True
        fill = Spool()
        with stream.bookmark_paused():  # export rows are not in Modified_Time order
            yield from self._backfilled(job, query, fill, missing)
        if self.ran:
            self._save_bookmark()

    def _backfilled(
        self, job: dict[str, t.Any], query: dict[str, t.Any], fill: Spool, missing: list[str]
    ) -> Iterator[dict[str, t.Any]]:
        """The export's records and what it may lack; ``ran`` turns False if Zoho refuses it."""
        stream = self.stream
        try:
            self.completer.prepare_full(self.count, self.jobs)  # beside the parent's job
            # Changes up to bookmark_lag_seconds before the job may be missing from the export.
            self._bookmark = to_epoch(job["created_time"]) - 1 - stream.lag_seconds
            detecting = self._fill(fill, missing)
            if not detecting:  # list the hidden records while the export runs
                yield from self._completed_hidden(self.hidden.listed())
            try:
                yield from self._exported(job, query, fill, missing)
                yield from self._completed_hidden(self.hidden.left_out(self._exported_hidden))
            except BulkRefusedError as exc:
                if self._exported_rows:
                    raise
                stream.logger.warning("%s: %s; reading it through Get Records.", self._name, exc)
                self.ran = False
                return
        finally:
            fill.close()

    def _exported(
        self, job: dict[str, t.Any], query: dict[str, t.Any], fill: Spool, missing: list[str]
    ) -> Iterator[dict[str, t.Any]]:
        interval = float(self.stream.config.get("progress_interval_seconds", 30))
        progress = ProgressLog(self.stream.logger, f"{self._name} (Bulk Read)", None, interval)
        batch: Page = []
        for record in self.jobs.records(job, query, self.fields):
            if record["id"] in self.hidden.emitted:
                continue  # listed already, with whole lookups
            self._exported_rows += 1
            progress.add(1)
            batch.append(record)
            if len(batch) >= COMPLETION_BATCH:
                yield from self._completed(self._filled(batch, fill, missing))
                batch = []
        yield from self._completed(self._filled(batch, fill, missing))
        progress.done()

    def _fill(self, fill: Spool, missing: list[str]) -> bool:
        """Read what the export cannot hold into ``fill``; True if that told hidden records apart.

        The first field group of that pass also asks for what tells converted and unapproved
        records apart, when Zoho accepts it.
        """
        detecting = self.hidden.detecting_fields() if missing else None
        for start in range(0, len(missing), MAX_FIELDS_PER_CALL - 3):
            chunk = missing[start : start + MAX_FIELDS_PER_CALL - 3]
            extra = detecting if start == 0 and detecting else []
            try:
                fill.put_values(self._fill_values(chunk, extra))
            except ZohoApiError as exc:
                if not extra or exc.code != "INVALID_DATA":
                    raise
                self.stream.logger.info("%s: no %s in lists (%s).", self._name, extra, exc.code)
                detecting = None
                fill.put_values(self._fill_values(chunk, []))
        return bool(detecting)

    def _completed_hidden(self, records: Iterator[dict[str, t.Any]]) -> Iterator[dict[str, t.Any]]:
        batch: Page = []
        for record in records:
            self._note(record)
            batch.append(record)
            if len(batch) >= COMPLETION_BATCH:
                yield from self._completed(batch, hidden=True)
                batch = []
        yield from self._completed(batch, hidden=True)

    def _filled(self, batch: Page, fill: Spool, missing: list[str]) -> Page:
        """Export rows with the values Get Records read for them.

        A record the fill pass missed (a deletion while it paged shifts the next one past a page)
        is read by ``ids``.
        """
        if not missing:
            for record in batch:
                self._note(record)
            return batch
        unseen = [r["id"] for r in batch if fill.values(r["id"]) is None]
        for start in range(0, len(unseen), MAX_IDS_PER_CALL):
            ids = unseen[start : start + MAX_IDS_PER_CALL]
            params = {"fields": ",".join(missing), "ids": ",".join(ids), **ALL_RECORDS}
            body = self.listing.get_json(self.module.path, params, None) or {}
            rows = body.get("data") or []
            fill.put_values((r["id"], {n: r.get(n) for n in missing}) for r in rows)
        for record in batch:
            values = fill.values(record["id"]) or {}
            for name in missing:
                record[name] = values.get(name)
            self._note(record)
        return batch

    def _note(self, record: dict[str, t.Any]) -> None:
        """Remember what the follow-up pass must not emit again."""
        if not self.module.has_modified_time or self._bookmark is None:
            return
        modified = record.get(MODIFIED_TIME)
        if modified and to_epoch(modified) >= self._bookmark:
            self._recent[record["id"]] = bulk_shape(record, self.fields)

    def _save_bookmark(self) -> None:
        if not self.module.has_modified_time or self._bookmark is None:
            return
        state = self.stream.get_context_state(self.context)
        state["replication_key"] = MODIFIED_TIME
        state["replication_key_value"] = utc_iso(self._bookmark)
        # The follow-up pass re-reads the bookmark second whole and skips rows in export form.
        state[BOUNDARY_FINGERPRINTS] = {}
        state.pop(BOUNDARY_IDS, None)

    def follow_up(self, pages: Iterator[Page]) -> Iterator[Page]:
        """The incremental pass after a backfill: records not already emitted in this form."""
        if not self.ran:
            yield from pages
            return
        if not self.module.has_modified_time:
            return  # a module without Modified_Time is read whole each run: the export was it
        for page in pages:
            fresh = []
            for record in page:
                seen = self._recent.pop(record["id"], None)
                if seen is not None and seen == bulk_shape(record, self.fields):
                    self.stream.count_as_emitted(record, self.context)  # the export emitted it
                    continue
                fresh.append(record)
            if fresh:
                yield fresh

    # ------------------------------------------------------------------ completing batches
    def _completed(self, batch: Page, *, hidden: bool = False) -> Iterator[dict[str, t.Any]]:
        """The batch with what lists and exports leave out filled in, cleaned, in order.

        A record whose single-record read cut an array waits for the lists (completion.truncated).
        Export rows of records a default list hides are completed as such (an export that may
        leave them out may leave their subform and linking rows out too).
        """
        if hidden:
            ready = self.completer.complete(batch, hidden=True)
        else:
            seen = [r for r in batch if r["id"] in self.hidden.known]
            self._exported_hidden.update(r["id"] for r in seen)
            shown = self.completer.complete([r for r in batch if r["id"] not in self.hidden.known])
            ready = [*shown, *self.completer.complete(seen, hidden=True)]
        kept = {id(record) for record in ready}  # a record a read cut waits (completion.truncated)
        for record in batch:
            if id(record) in kept:
                yield self.module.clean(record)

    def _fill_values(
        self, names: list[str], extra: list[str]
    ) -> Iterator[tuple[str, dict[str, t.Any]]]:
        """``(id, values)`` of fields Bulk Read cannot export, by Get Records in id order.

        Pages by position, then by token (one call per 200 records, no page read twice): an
        edit moves nothing in id order, and a record a deletion shifted past a page is read by
        ``ids`` when its export row arrives. Past the 100,000 records tokens reach, by keyset
        windows on ``Modified_Time``.
        """
        if (self.count or 0) > TOKEN_CAP and self.module.has_modified_time:
            yield from self._fill_by_keyset(names, extra)
            return
        page, token = 1, None
        while True:
            params: dict[str, t.Any] = {
                "fields": ",".join([*names, *extra]),
                "per_page": self.listing.per_page,
                "sort_by": "id",
                "sort_order": "asc",
                **ALL_RECORDS,
            }
            if token:
                params["page_token"] = token
            elif page > 1:
                params["page"] = page
            body = self.listing.get_json(self.module.path, params, self.hidden.since)
            rows = list((body or {}).get("data") or [])
            for row in rows:
                self.hidden.note(row)
                yield row["id"], {name: row.get(name) for name in names}
            info = (body or {}).get("info") or {}
            token = info.get("next_page_token") or None
            page += 1
            past_cap = (page - 1) * int(params["per_page"]) >= DISCRETE_CAP and not token
            if not rows or not info.get("more_records") or past_cap:
                return  # past the reach of paging: the rest are read by ids as they arrive

    def _since_header(self) -> dict[str, str] | None:
        """``If-Modified-Since`` of ``start_date``, where the module has ``Modified_Time``."""
        start = self.stream.config.get("start_date")
        if start and self.module.has_modified_time:
            return {"If-Modified-Since": utc_iso(to_epoch(start) - 1)}
        return None

    def _fill_by_keyset(
        self, names: list[str], extra: list[str]
    ) -> Iterator[tuple[str, dict[str, t.Any]]]:
        start = self.stream.config.get("start_date")
        cursor = ModifiedTimeCursor(
            to_epoch(start) if start else None,
            per_page=self.listing.per_page,
        )
        while not cursor.finished:
            request: PageRequest = cursor.next_request()
            fields = [MODIFIED_TIME, *names, *extra]
            rows, info = self.listing.page(fields, request)
            cursor.accept(
                [(r["id"], to_epoch(r[MODIFIED_TIME])) for r in rows],
                more=bool(info.get("more_records")),
                next_token=info.get("next_page_token"),
            )
            for row in rows:
                self.hidden.note(row)
                yield row["id"], {name: row.get(name) for name in names}
