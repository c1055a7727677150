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
retries, token refresh) via :meth:`~tap_zoho.client.ZohoStream.get_json`.
"""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property

from typing_extensions import override

from .bulk_jobs import BulkJobs
from .bulk_read import BulkBackfill
from .completion import Completer, CompletionRun
from .completion_plan import CompletionFields, is_list_omitted
from .datetimes import to_epoch, utc_iso
from .deletions import DeletionReader, DeletionWindow
from .deletions import bookmark as deletion_bookmark
from .errors import ModuleUnavailableError, ZohoApiError
from .keyset import ModifiedTimeCursor, PageRequest, PositionCursor, fingerprint
from .linked_rows import ALL_RECORDS
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
DISCRETE_CAP = 2000
DELETED_SINCE = "deleted_since"
DELETED_SEEN = "deleted_seen"

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
        self._omitted = {str(f["api_name"]) for f in fields if is_list_omitted(f)}
        self._group_tokens: list[str | None] = []  # next page token of each field group
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
        completer = self._completer(context)
        try:
            state = self.get_context_state(context)
            first = not self.has_modified_time or not state.get("replication_key_value")
            count = self._count(context) if first else None  # /actions/count once a run
            backfill = BulkBackfill(self, context, completer, count)  # a first full sync
            yield from backfill.records()
            whole = first and not (self.has_modified_time and self.config.get("start_date"))
            if whole and not state.get("replication_key_value"):
                completer.prepare_full(count)  # values lists leave out, before any parent
            pages = backfill.follow_up(self._live_pages(context, count if whole else None))
            for page in completer.pages(pages):
                for row in page:
                    yield self._clean(row)
            selected = self._selected()
            self._bookmark_paused = True  # older records, completed: the bookmark stays
            try:
                for record in completer.catch_up(selected):
                    yield self._clean(record)
            finally:
                self._bookmark_paused = False
            if self.config.get("crm_include_deleted", True):
                self._bookmark_paused = True  # deletions have their own bookmark
                try:
                    for record in self._deleted_records(context):
                        completer.note_deletion(record["id"], record[DELETED_AT])
                        yield record
                finally:
                    self._bookmark_paused = False
            self._bookmark_paused = True
            try:
                for record in completer.check_again(selected):
                    yield self._clean(record)
            finally:
                self._bookmark_paused = False
        finally:
            completer.finish()

    def _completer(self, context: t.Any) -> Completer:
        """What completes the values lists leave out, for this run of the module."""
        run = CompletionRun(
            module=self.module_name,
            path=self.path,
            get_json=lambda path, params, headers: self.get_json(path, params, headers, context),
            logger=self.logger,
            summary=self.run_context.summary,
            budget=self.run_context.detail_budget,
            enabled=bool(self.config.get("crm_detail_reads", True)),
            cap=int(self.config.get("crm_detail_reads_max_per_run", 10_000)),
            per_page=self._per_page,
            has_modified_time=self.has_modified_time,
        )
        fields = CompletionFields.for_fields(self._field_meta, set(self._selected()))
        return Completer(run, fields, self.get_context_state(context))

    def bulk_jobs(self, context: t.Any) -> BulkJobs:
        """Bulk Read jobs through this module's request path."""
        return BulkJobs(self, context, self.module_name)

    def _selected(self) -> list[str]:
        """The fields the catalog selects (``Modified_Time`` always, where the module has it)."""
        selected = [name for name in self.field_names if self.mask.get(("properties", name), True)]
        if self.has_modified_time and MODIFIED_TIME not in selected:
            selected.insert(0, MODIFIED_TIME)
        return selected

    def _field_groups(self) -> list[list[str]]:
        """The selected fields a list returns, in groups of at most 50.

        Values lists leave out are never asked for: they come back empty and may cost a field
        group of their own.
        """
        selected = [name for name in self._selected() if name not in self._omitted]
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

    def _live_pages(self, context: t.Any, count: int | None) -> t.Iterator[list[dict[str, t.Any]]]:
        """Pages of listed records, every field group merged, in keyset order."""
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
        interval = float(self.config.get("progress_interval_seconds", 30))
        progress = ProgressLog(self.logger, self.module_name, count, interval)
        first = True
        while not cursor.finished:
            request = cursor.next_request()
            # Ask the first field group alone where rows are unlikely: an incremental run's first
            # call (often a 304) and re-reads of a tie second; the others follow if rows are new.
            lazy = len(groups) > 1 and (request.tie_pass > 0 or (first and bookmark is not None))
            first = False
            try:
                pages = self._pages(groups[:1] if lazy else groups, request, context)
            except ZohoApiError as exc:
                refused = exc.code == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
                if refused and isinstance(cursor, ModifiedTimeCursor) and cursor.position_refused():
                    continue  # the same page again, by token
                raise
            rows = self._accept(cursor, *pages[0])
            if rows and len(groups) > 1:
                if lazy:  # the same question with the other fields (a token is bound to its own)
                    asked = [] if request.page_token else groups[1:]
                    others = self._pages(asked, request, context) if asked else []
                    pages = [pages[0], *others, *[([], {})] * (len(groups) - 1 - len(others))]
                rows = self._merge_groups(rows, groups[1:], pages[1:], context)
            if rows:
                yield rows
            progress.add(len(rows))
        progress.done()
        if isinstance(cursor, ModifiedTimeCursor) and cursor.reread_calls:
            self.logger.info(
                "%s: %d calls re-read seconds holding a page or more (mass updates).",
                self.module_name,
                cursor.reread_calls,
            )

    def _accept(
        self,
        cursor: ModifiedTimeCursor | PositionCursor,
        rows: list[dict[str, t.Any]],
        info: dict[str, t.Any],
    ) -> list[dict[str, t.Any]]:
        """Hand the first field group's page to the cursor; the rows to emit."""
        more = bool(info.get("more_records"))
        token = info.get("next_page_token")
        if isinstance(cursor, PositionCursor):
            cursor.accept([r["id"] for r in rows], more=more, next_token=token)
            return rows
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
        for row, epoch, print_ in kept:
            self.remember_listed(row["id"], epoch, print_)
        return [row for row, _, _ in kept]

    def _count(self, context: t.Any) -> int | None:
        """How many records a full read holds (one credit; None if Zoho will not say)."""
        try:
            body = self.get_json(f"{self.path}/actions/count", None, None, context)
        except ZohoApiError:
            return None
        count = (body or {}).get("count")
        return count if isinstance(count, int) and not isinstance(count, bool) else None

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

        A page token is bound to the fields it was issued for, so past the position cap each
        group follows its own token chain; a group without one (it did not ask the page before)
        is fetched by ``ids`` in :meth:`_merge_groups`.
        """
        asks: list[PageRequest | None] = [request] * len(groups)
        if request.page_token:
            tokens = [request.page_token, *self._group_tokens[1 : len(groups)]]
            tokens += [None] * (len(groups) - len(tokens))
            asks = [replace(request, page_token=token) if token else None for token in tokens]
        futures = [
            self._group_pool.submit(self._page, fields, ask, context) if ask is not None else None
            for fields, ask in zip(groups, asks, strict=True)
        ]
        pages = [future.result() if future else ([], {}) for future in futures]
        self._group_tokens = [info.get("next_page_token") for _, info in pages]
        return pages

    @override
    def close(self) -> None:
        """Stop the worker threads of field groups, if any were started."""
        pool = self.__dict__.pop("_group_pool", None)
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
            n: pool.submit(reader.fields, n)
            for n in names
            if modules[n].get("api_supported") and modules[n].get("generated_type") != "subform"
        }
    for name in names:
        module = modules[name]
        if module.get("generated_type") == "subform":
            # Its rows are delivered inside their parents' subform field (zoho-api.md 3.3).
            tap.logger.info("Module %s is a subform: its rows are in its parent's records.", name)
            continue
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
