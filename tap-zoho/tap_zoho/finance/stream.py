"""Zoho Books and Inventory list endpoints as SDK streams, one partition per organisation.

Both products share one API style (``shared/zoho-api.md`` section 6): ``organization_id`` on
every call, a ``{code, message, <plural>, page_context}`` envelope, pages of at most 200,
colon-less offsets (``+0530``) and 100 requests per minute per organisation (paced by the
client, :mod:`tap_zoho.api.pacing`). Items and contacts are read incrementally on
``last_modified_time`` with the same keyset windows as CRM (:mod:`tap_zoho.keyset`); a
misspelled filter would silently read everything (pitfall 13), so the parameter names are fixed
here and proven by the tests.

Pages are read by the SDK's own loop (``request_records``) with a
:class:`~.paging.FinancePaginator` per pass; rows are shaped to their SCHEMA, which grows with
custom fields (:class:`~tap_zoho.sdk.shaped.ShapedStream`).
"""

from __future__ import annotations

import copy
import time
import typing as t
from functools import cached_property

from typing_extensions import override

from tap_zoho.api.client import decode_object
from tap_zoho.errors import ZohoApiError
from tap_zoho.keyset import ModifiedTimeCursor, PageRequest
from tap_zoho.position_paging import PositionCursor
from tap_zoho.sdk.bookmarks import KeysetBookmarks
from tap_zoho.sdk.shaped import ShapedStream

from .paging import LAST_MODIFIED, FinancePaginator, ListPass

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context

    from tap_zoho.run_context import RunContext

NO_CAP = 10**12  # Books/Inventory page numbers have no cap (unlike CRM's 2,000 positions)
ALL_ITEMS = "Status.All"


class FinanceStream(ShapedStream):
    """A Books or Inventory list endpoint, partitioned by organisation.

    Read on the SDK's hooks: ``request_records`` pages with :meth:`get_new_paginator`, builds
    each query in :meth:`get_url_params` and reads each page in :meth:`parse_response`.
    """

    family: t.ClassVar[str] = ""  # "books" | "inventory"
    base_path: t.ClassVar[str] = ""  # "/books/v3" | "/inventory/v1"
    resource: t.ClassVar[str] = ""  # "items" | "contacts" | "pricebooks"
    id_key = ""  # "item_id" | "contact_id" | "pricebook_id"
    declared_schema: t.ClassVar[dict[str, t.Any]] = {}  # fields every organisation has
    # ``filter_by`` of every list read: Zoho's defaults may hide records (6.5-6.7).
    filter_by: t.ClassVar[str] = ""

    def __init__(self, tap: Tap, run_context: RunContext, organizations: list[str]) -> None:
        """One stream per family and resource; one partition per organisation id."""
        self._organizations = organizations
        self._pass: ListPass | None = None
        # A copy: custom fields grow this stream's schema, never the shared declaration.
        super().__init__(
            tap,
            run_context,
            name=f"{self.family}_{self.resource}",
            schema=copy.deepcopy(self.declared_schema),
        )
        self.path = f"{self.base_path}/{self.resource}"

    @property
    @override
    def partitions(self) -> list[dict[str, str]]:
        """One state partition per organisation."""
        return [{"organization_id": org} for org in self._organizations]

    def label(self, context: Context | None) -> str:
        """Name used in the run summary."""
        return f"{self.name}[{(context or {}).get('organization_id')}]"

    @override
    def get_records(self, context: Context | None) -> t.Iterable[dict[str, t.Any]]:
        """This organisation's rows; a failing organisation is reported and skipped."""
        yield from self.isolated(self.label(context), self.rows(context))

    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """Every row of the resource, page by page (full table; incremental streams override)."""
        org = str((context or {})["organization_id"])
        yield from self.read_pass(context, ListPass(org, PositionCursor(), self.list_filter()))

    def read_pass(
        self, context: Context | None, list_pass: ListPass
    ) -> t.Iterator[dict[str, t.Any]]:
        """The rows of one pass over the list, through the SDK's ``request_records``."""
        self._pass = list_pass
        try:
            yield from self.request_records(context)
        finally:
            self._pass = None
        cursor = list_pass.cursor
        if isinstance(cursor, ModifiedTimeCursor) and cursor.gave_up:
            self.passes_cut_short += 1
            self.logger.warning(
                "%s[%s]: a second holding a page or more of records kept changing while it was "
                "read; the rest is read by the next run",
                self.name,
                list_pass.organization_id,
            )

    passes_cut_short = 0  # reads that stopped before their last row (see ``read_pass``)

    def current_pass(self) -> ListPass:
        """The pass being read (the SDK's paging hooks run only inside :meth:`read_pass`)."""
        if self._pass is None:
            msg = f"{self.name}: request_records runs only inside read_pass"
            raise RuntimeError(msg)
        return self._pass

    def list_filter(self) -> str:
        """The ``filter_by`` of this stream's main read."""
        return self.filter_by

    @cached_property
    def _per_page(self) -> int:
        return int(self.config.get("page_size", 200))

    # ------------------------------------------------------------------ SDK paging hooks
    @override
    def get_new_paginator(self) -> FinancePaginator:
        """A paginator over the current pass's cursor."""
        return self.current_pass().paginator

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: PageRequest | None
    ) -> dict[str, t.Any]:
        """``organization_id``, the page, its size and ``filter_by`` (never a misspelled name)."""
        list_pass = self.current_pass()
        request = next_page_token or PageRequest(None)
        params: dict[str, t.Any] = {
            "organization_id": list_pass.organization_id,
            "page": request.page or 1,
            "per_page": request.per_page or self._per_page,
        }
        if list_pass.filter_by:
            params["filter_by"] = list_pass.filter_by
        return params

    @override
    def parse_response(self, response: requests.Response) -> t.Iterator[dict[str, t.Any]]:
        """The page's new rows, each with its organisation, shaped to the SCHEMA as it is emitted.

        A 204 or an empty body is a page without rows and without more pages.
        """
        list_pass = self.current_pass()
        body = self.envelope(response, self.path)
        page_context = body.get("page_context") or {}
        self._shaper.learn(page_context.get("custom_fields"))
        rows = list(body.get(self.resource) or [])
        more = bool(page_context.get("has_more_page"))
        org = list_pass.organization_id
        paginator = list_pass.paginator
        kept = paginator.take_page(
            response, rows, self.id_key, more=more, server_now=self.server_now()
        )
        self.page_taken(paginator)
        for row in kept:
            complete = self.completed(self.with_org(row, org), org)
            if complete is not None:
                yield self.shaped(complete)

    def page_taken(self, paginator: FinancePaginator) -> None:
        """A page was read by the cursor: nothing to note for a full-table stream."""

    def envelope(self, response: requests.Response, path: str) -> dict[str, t.Any]:
        """The ``{code, message, ...}`` body with its ``code`` checked; {} for 204/empty."""
        body = decode_object(response, f"GET {path}", self.client.repaired) or {}
        code = body.get("code", 0)
        if code not in (0, "0"):
            msg = f"GET {path}: Zoho code {code}: {body.get('message')}"
            raise ZohoApiError(msg, code=str(code))
        return body

    def get_envelope(self, org: str, path: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """``GET path`` for the organisation (paced), with the envelope's ``code`` checked."""
        prepared = self.client.build_prepared_request(
            method="GET",
            url=f"{self.url_base}{path}",
            params={"organization_id": org, **params},
            headers=dict(self.http_headers),
        )
        return self.envelope(self.send(prepared, {"organization_id": org}), path)

    # ------------------------------------------------------------------ rows
    def with_org(self, row: dict[str, t.Any], org: str) -> dict[str, t.Any]:
        """Every record carries its organisation."""
        row["organization_id"] = org
        return row

    def completed(self, row: dict[str, t.Any], org: str) -> dict[str, t.Any] | None:
        """The row with what the list leaves out; None when it vanished since the list was read."""
        del org
        return row


class IncrementalFinanceStream(KeysetBookmarks, FinanceStream):
    """Items and contacts: keyset windows on ``last_modified_time``, ascending."""

    replication_key = LAST_MODIFIED
    is_sorted = True
    filter_by = ALL_ITEMS  # without it, inactive records may be hidden (6.5, 6.6)

    @override
    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """Rows modified since the bookmark, oldest first."""
        org = str((context or {})["organization_id"])
        cursor = self.resumed_cursor(context, per_page=self._per_page, discrete_cap=NO_CAP)
        yield from self.read_pass(context, ListPass(org, cursor, self.list_filter()))

    @override
    def page_taken(self, paginator: FinancePaginator) -> None:
        """Settle the bookmark only as far as Zoho's clock allows; keep the rows as listed."""
        cursor = paginator.cursor
        self.page_listed(
            paginator.kept, cursor.horizon if isinstance(cursor, ModifiedTimeCursor) else None
        )

    @override
    def get_url_params(
        self, context: Context | None, next_page_token: PageRequest | None
    ) -> dict[str, t.Any]:
        """Also: oldest first, modified after the window's start (6.4; pitfall 13)."""
        params = super().get_url_params(context, next_page_token)
        params["sort_column"] = LAST_MODIFIED
        params["sort_order"] = "A"
        if next_page_token is not None and next_page_token.modified_after is not None:
            params[LAST_MODIFIED] = time.strftime(
                "%Y-%m-%dT%H:%M:%S+0000", time.gmtime(next_page_token.modified_after)
            )
        return params
