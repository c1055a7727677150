"""Get Records of one CRM module: pages in keyset order, every field group merged by id.

Wide modules are read in groups of at most 50 fields (``fields`` is capped, pitfall 2). Every group
asks the same question (same window, same page), so the groups return the same records and merge
by ``id``; a record that moved between two calls is fetched by ``ids`` instead (pitfall 3). Every
list asks for converted and unapproved records too (``converted``/``approved`` default to hiding
them, 3.1).

Why CRM keeps a paging loop of its own instead of the SDK's ``request_records`` (which Books and
Inventory use): one CRM page is not one request. It is one request per field group, sent side by
side and merged by ``id``, then requests by ``ids`` for records that moved between the group
calls, all before any row of the page may be emitted, and the keyset cursor must see the first
group's page before the next window is known. Every request still takes the client's request
path (retries, token refresh, credits).
"""

from __future__ import annotations

import typing as t
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from functools import cached_property

from tap_zoho.datetimes import to_epoch, utc_iso
from tap_zoho.errors import ZohoApiError
from tap_zoho.fingerprints import fingerprint
from tap_zoho.keyset import ModifiedTimeCursor, PageRequest
from tap_zoho.position_paging import PositionCursor
from tap_zoho.progress_log import ProgressLog

from .limits import ALL_RECORDS, MAX_IDS_PER_CALL, MODIFIED_TIME

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator, Mapping

    from tap_zoho.api.client import ZohoClient

    from .module import CrmModule, Selection

    Answer = tuple[list[dict[str, t.Any]], dict[str, t.Any]]  # a page's ``data`` and ``info``
    Listed = Callable[[Mapping[str, tuple[int, str]], int | None], None]

MAX_PARALLEL_GROUPS = 4  # well under Zoho's per-organisation concurrency (10 and up)
POSITION_REFUSED = "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


class ModuleListing:
    """The Get Records calls of one module read, through the module's client."""

    def __init__(
        self,
        client: ZohoClient,
        module: CrmModule,
        selection: Selection,
        *,
        per_page: int,
        context: t.Any = None,
    ) -> None:
        """Nothing is read until asked; ``context`` tags every call (the SDK's partition)."""
        self.client = client
        self.module = module
        self.selection = selection
        self.per_page = per_page
        self.context = context
        self.logger: logging.Logger = client.logger
        self._group_tokens: list[str | None] = []  # next page token of each field group

    def get_json(
        self, path: str, params: dict[str, t.Any] | None, headers: dict[str, str] | None
    ) -> dict[str, t.Any] | None:
        """``GET path`` through the client, for every part of this read."""
        return self.client.get_json(path, params, headers, self.context)

    def count(self) -> int | None:
        """How many records a full read holds (one credit; None if Zoho will not say)."""
        try:
            body = self.get_json(f"{self.module.path}/actions/count", None, None)
        except ZohoApiError:
            return None
        count = (body or {}).get("count")
        return count if isinstance(count, int) and not isinstance(count, bool) else None

    # ------------------------------------------------------------------ pages in keyset order
    def pages(
        self,
        cursor: ModifiedTimeCursor | PositionCursor,
        count: int | None,
        progress_interval: float,
        listed: Listed,
    ) -> Iterator[list[dict[str, t.Any]]]:
        """Pages of listed records, every field group merged, in keyset order.

        ``listed(marks, horizon)`` hears of each page as the cursor took it: each kept row's
        modification instant and fingerprint by id, and how far Zoho's clock settles them.
        """
        groups = self.selection.groups
        progress = ProgressLog(self.logger, self.module.api_name, count, progress_interval)
        first = True
        while not cursor.finished:
            request = cursor.next_request()
            # Ask the first field group alone where rows are unlikely: an incremental run's first
            # call (often a 304) and re-reads of a tie second; the others follow if rows are new.
            lazy = len(groups) > 1 and (
                request.tie_pass > 0 or (first and cursor_bookmark(cursor) is not None)
            )
            first = False
            try:
                answers = self.same_question(groups[:1] if lazy else groups, request)
            except ZohoApiError as exc:
                refused = exc.code == POSITION_REFUSED
                if refused and isinstance(cursor, ModifiedTimeCursor) and cursor.position_refused():
                    continue  # the same page again, by token
                raise
            rows = self._accept(cursor, *answers[0], listed)
            if rows and len(groups) > 1:
                if lazy:  # the same question with the other fields (a token is bound to its own)
                    asked = [] if request.page_token else groups[1:]
                    others = self.same_question(asked, request) if asked else []
                    answers = [answers[0], *others, *[([], {})] * (len(groups) - 1 - len(others))]
                rows = self.merge_groups(rows, groups[1:], answers[1:])
            if rows:
                yield rows
            progress.add(len(rows))
        progress.done()
        if isinstance(cursor, ModifiedTimeCursor) and cursor.reread_calls:
            self.logger.info(
                "%s: %d calls re-read seconds holding a page or more (mass updates).",
                self.module.api_name,
                cursor.reread_calls,
            )

    def _accept(
        self,
        cursor: ModifiedTimeCursor | PositionCursor,
        rows: list[dict[str, t.Any]],
        info: dict[str, t.Any],
        listed: Listed,
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
            server_now=self.client.server_now(),
        )
        marks = {
            row["id"]: (epoch, print_)
            for row, epoch, print_, wanted in zip(rows, epochs, prints, keep, strict=True)
            if wanted
        }
        listed(marks, cursor.horizon)
        return [row for row, wanted in zip(rows, keep, strict=True) if wanted]

    # ------------------------------------------------------------------ one question, every group
    def page(self, fields: list[str], request: PageRequest) -> Answer:
        """One Get Records page of ``fields``, sorted ascending by the module's keyset."""
        params: dict[str, t.Any] = {
            "fields": ",".join(fields or ["id"]),
            "per_page": request.per_page or self.per_page,
            "sort_by": MODIFIED_TIME if self.module.has_modified_time else "id",
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
        body = self.get_json(self.module.path, params, headers)
        if body is None:
            return [], {}
        return list(body.get("data") or []), dict(body.get("info") or {})

    def same_question(self, groups: list[list[str]], request: PageRequest) -> list[Answer]:
        """Ask the same question for every field group at once (one round trip per page).

        A page token is bound to the fields it was issued for, so past the position cap each
        group follows its own token chain; a group without one (it did not ask the page before)
        is fetched by ``ids`` in :meth:`merge_groups`.
        """
        asks: list[PageRequest | None] = [request] * len(groups)
        if request.page_token:
            tokens = [request.page_token, *self._group_tokens[1 : len(groups)]]
            tokens += [None] * (len(groups) - len(tokens))
            asks = [replace(request, page_token=token) if token else None for token in tokens]
        futures = [
            self._group_pool.submit(self.page, fields, ask) if ask is not None else None
            for fields, ask in zip(groups, asks, strict=True)
        ]
        answers = [future.result() if future else ([], {}) for future in futures]
        self._group_tokens = [info.get("next_page_token") for _, info in answers]
        return answers

    def merge_groups(
        self, rows: list[dict[str, t.Any]], groups: list[list[str]], answers: list[Answer]
    ) -> list[dict[str, t.Any]]:
        """Add the other field groups to ``rows``; drop a record deleted between the calls."""
        merged = {row["id"]: row for row in rows}
        for fields, (group_rows, _) in zip(groups, answers, strict=True):
            found = {r["id"]: r for r in group_rows if r["id"] in merged}
            missing = [rid for rid in merged if rid not in found]
            for start in range(0, len(missing), MAX_IDS_PER_CALL):
                chunk = missing[start : start + MAX_IDS_PER_CALL]
                params = {"fields": ",".join(fields), "ids": ",".join(chunk), **ALL_RECORDS}
                body = self.get_json(self.module.path, params, None) or {}
                found.update({r["id"]: r for r in body.get("data") or [] if r.get("id") in merged})
            for rid in list(merged):
                if rid in found:
                    merged[rid].update(found[rid])
                else:
                    self.logger.info(
                        "%s record %s vanished while being read; the deletions pass reports it.",
                        self.module.api_name,
                        rid,
                    )
                    del merged[rid]
        return list(merged.values())

    @cached_property
    def _group_pool(self) -> ThreadPoolExecutor:
        workers = min(MAX_PARALLEL_GROUPS, max(1, len(self.selection.groups)))
        name = f"{self.module.stream_name}-groups"
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)

    def close(self) -> None:
        """Stop the worker threads of the field groups, if any were started."""
        pool = self.__dict__.pop("_group_pool", None)
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def cursor_bookmark(cursor: ModifiedTimeCursor | PositionCursor) -> int | None:
    """Where a cursor started: its bookmark (None for a full read or position paging)."""
    return cursor.bookmark if isinstance(cursor, ModifiedTimeCursor) else None
