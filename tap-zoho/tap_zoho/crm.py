"""Zoho CRM: discovery of readable modules and one incremental stream per module.

Wide modules are read in groups of at most 50 fields (``fields`` is capped, pitfall 2). Every group
asks the same question (same window, same page), so the groups return the same records and merge
by ``id``; a record that moved between two calls is fetched by ``ids`` instead (pitfall 3).
Every list asks for converted and unapproved records too (``converted``/``approved`` default to
hiding them, 3.1); values a list leaves out are completed by :mod:`.details`. Deleted records come
from ``/{module}/deleted`` (``type=all``) with their own bookmark and are emitted with
``_sdc_deleted_at`` set (``shared/zoho-api.md`` 4.1).

Why CRM keeps a paging loop of its own instead of the SDK's ``request_records`` (which Books and
Inventory use, :mod:`.finance`): one CRM page is not one request. It is one request per field
group, sent side by side and merged by ``id``, then requests by ``ids`` for records that moved
between the group calls, then single-record reads for values a list leaves out, all before any
row of the page may be emitted, and the keyset cursor must see the first group's page before
the next window is known. The SDK's loop sends one request per page and parses one response.
The loop still sends every request through the SDK's request path (``request_decorator``:
retries, token refresh) via :meth:`~tap_zoho.sdk.stream.ZohoStream.get_json`.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property

from typing_extensions import override

from .bulk_read import BulkBackfill
from .datetimes import to_epoch, utc_iso
from .deletions import DeletionReader, DeletionWindow
from .deletions import bookmark as deletion_bookmark
from .details import DetailPlan
from .errors import ModuleUnavailableError, ZohoApiError
from .keyset import ModifiedTimeCursor, PageRequest, PositionCursor, fingerprint
from .progress_log import ProgressLog
from .schema import DELETED_AT, bigint_fields, module_schema
from .sdk.bookmarks import KeysetBookmarks
from .sdk.parallel import ParallelSync
from .sdk.stream import ZohoStream

CRM_BASE = "/crm/v8"
MODIFIED_TIME = "Modified_Time"
MAX_FIELDS_PER_CALL = 50
MAX_IDS_PER_CALL = 100
MAX_PARALLEL_GROUPS = 4  # well under Zoho's per-organisation concurrency (10 and up)
MAX_PARALLEL_DETAILS = 4
# Get Records hides converted Leads (converted=false) and records under approval (approved=true)
# by default; every list read asks for all of them.
ALL_RECORDS = {"converted": "both", "approved": "both"}
DISCRETE_CAP = 2000
DELETED_SINCE = "deleted_since"
DELETED_SEEN = "deleted_seen"
DETAIL_PENDING = "detail_pending"  # ids emitted with list values only, completed on a later run
MAX_DETAIL_PENDING = 100_000

if t.TYPE_CHECKING:
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from .api.client import ZohoClient
    from .run_context import RunContext


class CrmSettingsReader:
    """Reads module and field metadata for discovery."""

    def __init__(self, client: ZohoClient) -> None:
        """Read through ``client``."""
        self.client = client

    def modules(self) -> list[dict[str, t.Any]]:
        """Every module of ``/settings/modules``."""
        body = self.client.get_json(f"{CRM_BASE}/settings/modules") or {}
        return list(body.get("modules") or [])

    def fields(self, module: str) -> list[dict[str, t.Any]] | None:
        """Field metadata of a module; None when Zoho has none for it (204, pitfall 11)."""
        body = self.client.get_json(f"{CRM_BASE}/settings/fields", {"module": module})
        if body is None:
            return None
        return list(body.get("fields") or [])


def stream_name_for(api_name: str) -> str:
    """``Price_Books`` -> ``price_books``: with prefix ``zoho_``, the legacy table names."""
    return api_name.lower()


class CrmModuleStream(ParallelSync, KeysetBookmarks, ZohoStream):
    """Records of one CRM module, incremental on ``Modified_Time`` where the module has it."""

    primary_keys: t.ClassVar[list[str]] = ["id"]
    is_sorted = True

    def __init__(
        self,
        tap: Tap,
        run_context: RunContext,
        module: dict[str, t.Any],
        fields: list[dict[str, t.Any]],
    ) -> None:
        """Build the stream from module and field metadata."""
        self.module_name = str(module["api_name"])
        self.field_names = [
            str(f["api_name"]) for f in fields if f.get("api_name") not in {None, "id"}
        ]
        self.has_modified_time = MODIFIED_TIME in self.field_names
        self._bigints = bigint_fields(fields)
        self.field_meta = {str(f["api_name"]): f for f in fields if f.get("api_name")}
        self._field_meta = fields
        self._incomplete = 0
        self._pending_before: list[str] = []
        self._capped: list[str] = []
        self._completed: set[str] = set()
        self._allowed_keys = {"id", *self.field_names}
        super().__init__(
            tap, run_context, name=stream_name_for(self.module_name), schema=module_schema(fields)
        )
        self.replication_key = MODIFIED_TIME if self.has_modified_time else None
        self.path = f"{CRM_BASE}/{self.module_name}"

    # ------------------------------------------------------------------ records
    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """Live records, then deletions; a module that fails is reported and skipped."""
        yield from self.isolated(self.module_name, self._live_then_deleted(context))

    def _live_then_deleted(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        self._pending_before = list(self.get_context_state(context).get(DETAIL_PENDING) or [])
        backfill = BulkBackfill(self, context)  # a first full sync of a large module
        yield from backfill.records()
        yield from backfill.follow_up(self._live_records(context))
        if self._detail_plan and (self._pending_before or self._capped):
            self._bookmark_paused = True  # older records, completed: the bookmark stays
            try:
                yield from self._catch_up(context)
            finally:
                self._bookmark_paused = False
        if self.config.get("crm_include_deleted", True):
            self._bookmark_paused = True  # deletions have their own bookmark
            try:
                yield from self._deleted_records(context)
            finally:
                self._bookmark_paused = False

    def _field_groups(self) -> list[list[str]]:
        selected = [name for name in self.field_names if self.mask.get(("properties", name), True)]
        if self.has_modified_time and MODIFIED_TIME not in selected:
            selected.insert(0, MODIFIED_TIME)
        elif self.has_modified_time:
            selected.remove(MODIFIED_TIME)
            selected.insert(0, MODIFIED_TIME)
        size = min(
            int(self.config.get("fields_per_request", MAX_FIELDS_PER_CALL)), MAX_FIELDS_PER_CALL
        )
        groups = [selected[i : i + size] for i in range(0, len(selected), size)]
        return groups or [[]]

    @cached_property
    def _per_page(self) -> int:
        return int(self.config.get("page_size", 200))

    @cached_property
    def _sort_by(self) -> str:
        return MODIFIED_TIME if self.has_modified_time else "id"

    def _live_records(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        groups = self._field_groups()
        cursor: ModifiedTimeCursor | PositionCursor
        if self.has_modified_time:
            cursor = self.resumed_cursor(
                context, per_page=self._per_page, discrete_cap=DISCRETE_CAP
            )
            bookmark = cursor.bookmark
        else:
            bookmark = None
            cursor = PositionCursor()
        progress = ProgressLog(
            self.logger,
            self.module_name,
            self._total(bookmark),
            float(self.config.get("progress_interval_seconds", 30)),
        )
        while not cursor.finished:
            request = cursor.next_request()
            pages = self._pages(groups, request, context)
            rows, info = pages[0]
            more = bool(info.get("more_records"))
            token = info.get("next_page_token")
            if isinstance(cursor, ModifiedTimeCursor):
                # The first field group only: token pages carry no other group (see _pages).
                prints = [fingerprint(row) for row in rows]
                epochs = [to_epoch(row[MODIFIED_TIME]) for row in rows]  # read once, here
                keep = cursor.accept(
                    [(row["id"], epoch) for row, epoch in zip(rows, epochs, strict=True)],
                    more=more,
                    next_token=token,
                    fingerprints=prints,
                    server_now=self.server_now(),
                )
                self._read_horizon = cursor.horizon
                kept = [
                    (row, epoch, print_)
                    for row, epoch, print_, wanted in zip(rows, epochs, prints, keep, strict=True)
                    if wanted
                ]
                rows = [row for row, _, _ in kept]
                for row, epoch, print_ in kept:
                    self.remember_listed(row["id"], epoch, print_)
            else:
                cursor.accept([r["id"] for r in rows], more=more, next_token=token)
            if rows and len(groups) > 1:
                rows = self._merge_groups(rows, groups[1:], pages[1:], context)
            if rows and self._detail_plan:
                self._complete(rows, context)
            for row in rows:
                yield self._clean(row)
            progress.add(len(rows))
        progress.done()
        if isinstance(cursor, ModifiedTimeCursor) and cursor.reread_calls:
            self.logger.info(
                "%s: %d calls re-read seconds holding a page or more (mass updates).",
                self.module_name,
                cursor.reread_calls,
            )
        if self._incomplete:
            self.run_context.summary.incomplete(self.module_name, self._incomplete)

    def _total(self, bookmark: int | None) -> int | None:
        """How many records a full sync will read, for the ETA (one credit; None if unknown)."""
        if bookmark is not None:
            return None
        try:
            body = self.get_json(f"{self.path}/actions/count")
        except ZohoApiError:
            return None
        count = (body or {}).get("count")
        return count if isinstance(count, int) else None

    def _page(
        self, fields: list[str], request: PageRequest, context: t.Any
    ) -> tuple[list[dict[str, t.Any]], dict[str, t.Any]]:
        params: dict[str, t.Any] = {
            "fields": ",".join(fields or ["id"]),
            "per_page": self._per_page,
            "sort_by": self._sort_by,
            "sort_order": "asc",
            **ALL_RECORDS,
        }
        if request.page_token:
            params["page_token"] = request.page_token
        elif request.page and request.page > 1:
            params["page"] = request.page
        headers = {}
        if request.modified_after is not None:
            headers["If-Modified-Since"] = utc_iso(request.modified_after)
        body = self.get_json(self.path, params, headers, context)
        if body is None:
            return [], {}
        return list(body.get("data") or []), dict(body.get("info") or {})

    def _pages(
        self, groups: list[list[str]], request: PageRequest, context: t.Any
    ) -> list[tuple[list[dict[str, t.Any]], dict[str, t.Any]]]:
        """Ask the same question for every field group at once (one round trip per page).

        A page token is bound to the fields it was issued for, so in token mode only the first
        group asks by token; the others are then fetched by ``ids`` in :meth:`_merge_groups`.
        """
        if len(groups) == 1 or request.page_token:
            return [self._page(groups[0], request, context)] + [([], {})] * (len(groups) - 1)
        futures = [
            self._group_pool.submit(self._page, fields, request, context) for fields in groups
        ]
        return [future.result() for future in futures]

    @override
    def close(self) -> None:
        """Stop the worker threads of field groups and detail reads, if any were started."""
        for name in ("_group_pool", "_detail_pool"):
            pool = self.__dict__.pop(name, None)
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    @cached_property
    def _group_pool(self) -> ThreadPoolExecutor:
        workers = min(MAX_PARALLEL_GROUPS, max(1, len(self._field_groups())))
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{self.name}-groups")

    def _merge_groups(
        self,
        rows: list[dict[str, t.Any]],
        groups: list[list[str]],
        pages: list[tuple[list[dict[str, t.Any]], dict[str, t.Any]]],
        context: t.Any,
    ) -> list[dict[str, t.Any]]:
        """Add the other field groups to ``rows``; drop a record deleted between the calls."""
        merged = {row["id"]: row for row in rows}
        for fields, (group_rows, _) in zip(groups, pages, strict=True):
            found = {r["id"]: r for r in group_rows if r["id"] in merged}
            missing = [rid for rid in merged if rid not in found]
            for start in range(0, len(missing), MAX_IDS_PER_CALL):
                chunk = missing[start : start + MAX_IDS_PER_CALL]
                params = {"fields": ",".join(fields), "ids": ",".join(chunk), **ALL_RECORDS}
                body = self.get_json(self.path, params, None, context) or {}
                found.update({r["id"]: r for r in body.get("data") or [] if r.get("id") in merged})
            for rid in list(merged):
                if rid in found:
                    merged[rid].update(found[rid])
                else:
                    self.logger.info(
                        "%s record %s vanished while being read; the deletions pass reports it.",
                        self.module_name,
                        rid,
                    )
                    del merged[rid]
        return list(merged.values())

    # ------------------------------------------------------------------ detail reads
    @cached_property
    def _detail_plan(self) -> DetailPlan:
        selected = {name for group in self._field_groups() for name in group}
        return DetailPlan.for_fields(self._field_meta, selected)

    @cached_property
    def _detail_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(
            max_workers=MAX_PARALLEL_DETAILS, thread_name_prefix=f"{self.name}-details"
        )

    def _complete(self, rows: list[dict[str, t.Any]], context: t.Any) -> None:
        """Fill in the values the list left out, by single-record reads within the run's budget."""
        plan = self._detail_plan
        wanted = [row for row in rows if plan.needs_detail(row)]
        if not wanted:
            return
        if not self.config.get("crm_detail_reads", True):
            self._incomplete += len(wanted)
            return
        budget = self.run_context.detail_budget
        granted = budget.take(len(wanted))
        if granted < len(wanted):
            self._incomplete += len(wanted) - granted
            self._remember_pending([row["id"] for row in wanted[granted:]], context)
            if budget.first_refusal():
                self.logger.warning(
                    "crm_detail_reads_max_per_run (%d) reached in %s: the remaining records of "
                    "this run keep the list's values (subforms, multi-select and multi-user "
                    "lookups, line items empty; rich text cut at 500 characters); later runs "
                    "complete them.",
                    int(self.config.get("crm_detail_reads_max_per_run", 10_000)),
                    self.module_name,
                )
        ids = [row["id"] for row in wanted[:granted]]
        details = self._read_details(ids, plan.params(), context)
        for row, detail in zip(wanted[:granted], details, strict=True):
            self._completed.add(row["id"])
            if detail is None:
                self._incomplete += 1
                self.logger.info(
                    "%s record %s vanished before its single-record read.",
                    self.module_name,
                    row["id"],
                )
                continue
            truncated = plan.merge(row, detail)
            if truncated:
                self._incomplete += 1
                self.logger.warning(
                    "%s record %s: Zoho says %s hold more rows than a single-record read returns.",
                    self.module_name,
                    row["id"],
                    ", ".join(truncated),
                )

    def _read_details(
        self, ids: list[str], params: dict[str, str], context: t.Any
    ) -> list[dict[str, t.Any] | None]:
        """Single-record reads of ``ids``, a few at a time, in order."""
        futures = [self._detail_pool.submit(self._detail, rid, params, context) for rid in ids]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()  # the module stops: no more calls on its behalf
            raise

    def _remember_pending(self, ids: list[str], context: t.Any) -> None:
        """Note records emitted incomplete, in state before any STATE covers them."""
        self._capped += ids
        state = self.get_context_state(context)
        pending = state.setdefault(DETAIL_PENDING, list(self._pending_before))
        room = MAX_DETAIL_PENDING - len(pending)
        pending += ids[: max(room, 0)]
        if room < len(ids):
            self.logger.warning(
                "%s: more than %d records wait for their single-record read; the rest stay "
                "incomplete until they change or a full refresh.",
                self.module_name,
                MAX_DETAIL_PENDING,
            )

    def _catch_up(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        """Complete records an earlier run emitted with list values only, within the budget.

        Each is read whole (one credit) and emitted again: same ``Modified_Time``, whole values,
        so targets keeping the last version of a tie replace the incomplete one.
        """
        state = self.get_context_state(context)
        capped = set(self._capped)
        todo = [
            rid for rid in self._pending_before if rid not in self._completed and rid not in capped
        ]
        still: list[str] = todo
        if todo and self.config.get("crm_detail_reads", True):
            granted = self.run_context.detail_budget.take(len(todo))
            still = todo[granted:]
            selected = {"id", *(name for group in self._field_groups() for name in group)}
            for record in self._read_details(todo[:granted], {}, context):
                if record is None:
                    continue  # deleted since: the deletions pass reports it
                if self._detail_plan.truncated(record):
                    self._incomplete += 1
                for extra in record.keys() - selected:
                    del record[extra]
                yield self._clean(record)
            self.logger.info(
                "%s: completed %d records an earlier run left incomplete; %d still wait.",
                self.module_name,
                granted,
                len(still) + len(self._capped),
            )
        pending = (still + self._capped)[:MAX_DETAIL_PENDING]
        if pending:
            state[DETAIL_PENDING] = pending
        else:
            state.pop(DETAIL_PENDING, None)

    def _detail(self, rid: str, params: dict[str, str], context: t.Any) -> dict[str, t.Any] | None:
        """``GET /{module}/{id}``: the whole record, or None when it is gone (204 or 400)."""
        try:
            body = self.get_json(f"{self.path}/{rid}", params, None, context)
        except ZohoApiError as exc:
            if exc.code == "INVALID_DATA":
                return None
            raise
        data = (body or {}).get("data") or []
        found = [r for r in data if isinstance(r, dict) and r.get("id") == rid]
        return found[0] if found else None

    def _clean(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """Drop ``$`` UI flags (not fields); ``bigint`` numbers become strings, as typed."""
        record = row
        for extra in record.keys() - self._allowed_keys:
            del record[extra]
        for name in self._bigints:
            value = record.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                record[name] = str(value)
        return record

    # ------------------------------------------------------------------ deletions
    def _deleted_records(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        """Deletions since the deletion bookmark, each id at most once (:mod:`.deletions`)."""
        state = self.get_context_state(context)
        saved = state.get(DELETED_SINCE)
        since_text = saved or self.config.get("start_date")
        window = DeletionWindow(
            to_epoch(since_text) if since_text else None,
            set(state.get(DELETED_SEEN) or []) if saved else set(),
        )
        path = f"{self.path}/deleted"
        reader = DeletionReader(
            lambda params, headers: self.get_json(path, params, headers, context),
            self.server_now,
            self.module_name,
            self.logger,
            cap=DISCRETE_CAP,
        )
        for entry in reader.read(window):
            yield self._tombstone(entry)
        for kind, since, until in reader.unlisted:
            self.run_context.summary.unlisted(self.module_name, kind, since, until)
        position = deletion_bookmark(window, settled_before=self.server_now() - self.lag_seconds)
        if position is not None:
            state[DELETED_SINCE], state[DELETED_SEEN] = position

    def _tombstone(self, entry: dict[str, t.Any]) -> dict[str, t.Any]:
        """A deleted record: its id and ``_sdc_deleted_at`` (the Singer convention), nothing else.

        That a deletion beats the record's last edit is the target's rule, for any tap (in
        target-clickhouse: ``ClickHouseSink._versions``), so no field is made up here.
        """
        return {"id": entry["id"], DELETED_AT: entry["deleted_time"]}


def crm_streams(tap: Tap, run_context: RunContext) -> list[CrmModuleStream]:
    """One stream per readable CRM module (``shared/zoho-api.md`` 2.1-2.2).

    Modules that cannot be read (not API-supported, no permission, no field metadata) are
    reported in the run summary instead; ``crm_modules`` names that do not exist too.
    """
    reader = CrmSettingsReader(run_context.client("crm", tap.logger, f"{CRM_BASE}/settings"))
    wanted = tap.config.get("crm_modules")
    modules = {m.get("api_name"): m for m in reader.modules() if m.get("api_name")}
    if wanted:
        for name in wanted:
            if name not in modules:
                run_context.summary.failed(name, "no such CRM module (check the API name)")
        names = [n for n in wanted if n in modules]
    else:
        names = list(modules)
    streams: list[CrmModuleStream] = []
    workers = max(1, int(tap.config.get("max_parallel_modules", 4)))
    with ThreadPoolExecutor(max_workers=workers) as pool:  # field metadata side by side too
        metadata = {
            n: pool.submit(reader.fields, n) for n in names if modules[n].get("api_supported")
        }
    for name in names:
        module = modules[name]
        if not module.get("api_supported"):
            run_context.summary.failed(
                name, "not supported by the CRM API (api_supported: false)", expected=True
            )
            continue
        try:
            fields = metadata[name].result()
        except ModuleUnavailableError as exc:
            run_context.summary.failed(name, str(exc), expected=True)
            tap.logger.warning("Skipping module %s: %s", name, exc)
            continue
        if not fields:
            run_context.summary.failed(name, "no field metadata (HTTP 204)", expected=True)
            tap.logger.warning("Skipping module %s: Zoho returned no field metadata", name)
            continue
        streams.append(CrmModuleStream(tap, run_context, module, fields))
    return streams
