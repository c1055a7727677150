"""Zoho Books and Inventory: items, contacts and price lists, one partition per organisation.

Both products share one API style (``shared/zoho-api.md`` section 6): ``organization_id`` on
every call, a ``{code, message, <plural>, page_context}`` envelope, pages of at most 200,
colon-less offsets (``+0530``) and 100 requests per minute per organisation. Items and contacts
are read incrementally on ``last_modified_time`` with the same keyset windows as CRM
(:mod:`.pagination`); a misspelled filter would silently read everything (pitfall 13), so the
parameter names are fixed here and proven by the tests.

Every read asks for all records: ``filter_by=Status.All`` on items and contacts and
``filter_by=SalesOrPurchaseType.All`` on price lists, whose defaults are undocumented or may
hide inactive records and purchase price lists. Rows are shaped to their SCHEMA (and the SCHEMA
grows with custom fields) by :mod:`.finance_shape`.

Pages are read by the SDK's own loop (``request_records``) with :class:`FinancePaginator` over
the cursors of :mod:`.pagination`. The per-organisation :class:`Pacer` wraps each single attempt
inside the SDK's backoff (:meth:`FinanceStream.each_attempt`), so retries and token refreshes
count against the 100 a minute like any other call (6.3).
"""

from __future__ import annotations

import copy
import functools
import threading
import time
import typing as t
from collections import deque
from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import parse_qs, urlsplit

from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.pagination import BaseAPIPaginator
from singer_sdk.singerlib import ActivateVersionMessage
from typing_extensions import override

from .bookmarks import KeysetBookmarks, saved_boundary
from .client import decode_object
from .errors import ModuleUnavailableError, ZohoApiError
from .finance_shape import rfc3339
from .pagination import ModifiedTimeCursor, PageRequest, PositionCursor, fingerprint
from .reconcile import PENDING as RECONCILE_PENDING
from .reconcile import SETTING as RECONCILE_SETTING
from .reconcile import Listing, Reconciliation
from .schema_finance import CONTACT_SCHEMA, ITEM_SCHEMA, PRICEBOOK_SCHEMA
from .shaped import ShapedStream
from .timeutil import to_epoch, utc_iso

if t.TYPE_CHECKING:
    import requests
    from singer_sdk import Tap
    from singer_sdk.helpers.types import Context, RequestFunc


LAST_MODIFIED = "last_modified_time"
NO_CAP = 10**12
INACTIVE_SINCE = "inactive_bookmark"
INACTIVE_SEEN = "inactive_boundary_ids"  # older states: bare ids
INACTIVE_PRINTS = "inactive_boundary_fingerprints"
ALL_ITEMS = "Status.All"
ALL_PRICEBOOKS = "SalesOrPurchaseType.All"
NOT_FOUND = 404


def organization_ids(value: t.Any) -> list[str]:
    """``"123"``, ``123`` or ``["123", "456"]`` -> ``["123", "456"]``."""
    if value in (None, "", []):
        return []
    values = value if isinstance(value, list) else [value]
    return [str(v).strip() for v in values if str(v).strip()]


class Pacer:
    """Keeps each organisation under Zoho's per-minute request limit (pitfall 14)."""

    def __init__(self, per_minute: int, window_seconds: float = 60.0) -> None:
        """Share one pacer between all finance streams of a run."""
        self.per_minute = max(1, per_minute)
        self.window = window_seconds
        self._calls: dict[str, deque[float]] = {}
        self._lock = threading.Lock()
        self.sent: dict[str, int] = {}  # calls let through per organisation, this run

    def wait(self, organization_id: str) -> None:
        """Sleep until one more call fits in the last minute's budget."""
        with self._lock:
            calls = self._calls.setdefault(organization_id, deque())
            now = time.monotonic()
            while calls and now - calls[0] >= self.window:
                calls.popleft()
            if len(calls) >= self.per_minute:
                time.sleep(max(0.0, self.window - (now - calls[0])))
                calls.popleft()
            calls.append(time.monotonic())
            self.sent[organization_id] = self.sent.get(organization_id, 0) + 1


def organization_of(request: requests.PreparedRequest) -> str:
    """The ``organization_id`` a Books/Inventory call is for (every call carries one, 6.1)."""
    values = parse_qs(urlsplit(request.url or "").query).get("organization_id") or [""]
    return values[0]


@dataclass
class ListPass:
    """One read of a list endpoint for one organisation: which records, planned by which cursor."""

    organization_id: str
    cursor: ModifiedTimeCursor | PositionCursor
    filter_by: str = ""
    paginator: FinancePaginator = field(init=False)

    def __post_init__(self) -> None:
        """The pass pages with one paginator over its cursor."""
        self.paginator = FinancePaginator(self.cursor)


class FinancePaginator(BaseAPIPaginator[PageRequest]):
    """The SDK's paging loop over a cursor of :mod:`.pagination`, driven by ``has_more_page``.

    Items and contacts page by keyset windows (:class:`ModifiedTimeCursor`: each request opens a
    window one second before the newest ``last_modified_time`` emitted), price lists by page
    number (:class:`PositionCursor`). The cursor reads each page in :meth:`take_page`, called by
    the stream's ``parse_response`` before any row of the page is emitted; the SDK then asks
    :meth:`has_more` and :meth:`get_next`, which only report what the cursor planned.
    """

    def __init__(self, cursor: ModifiedTimeCursor | PositionCursor) -> None:
        """Start at the cursor's first request."""
        super().__init__(cursor.next_request())
        self.cursor = cursor
        self.kept_prints: dict[str, str] = {}

    def take_page(
        self,
        response: requests.Response,
        rows: list[dict[str, t.Any]],
        id_key: str,
        *,
        more: bool,
        server_now: int | None = None,
    ) -> list[dict[str, t.Any]]:
        """The one place the cursor reads a page: the rows to emit, in order.

        ``more`` is the page's ``page_context.has_more_page``; ``server_now`` is Zoho's clock by
        the page's ``Date`` header (how far a bookmark may settle). The fingerprints of the rows
        kept, as listed, are left in :attr:`kept_prints` for the stream's bookmark.
        """
        del response  # the cursors plan from the rows and the server's clock (``server_now``)
        cursor = self.cursor
        if isinstance(cursor, PositionCursor):
            cursor.accept([str(row[id_key]) for row in rows], more=more, next_token=None)
            return rows
        prints = [fingerprint(row) for row in rows]  # as listed: the next run compares the same
        pairs = [(str(row[id_key]), modified_epoch(row, id_key)) for row in rows]
        keep = cursor.accept(
            pairs, more=more, next_token=None, fingerprints=prints, server_now=server_now
        )
        kept = [
            (row, print_) for row, print_, wanted in zip(rows, prints, keep, strict=True) if wanted
        ]
        self.kept_prints = {str(row[id_key]): print_ for row, print_ in kept}
        return [row for row, _ in kept]

    @override
    def has_more(self, response: requests.Response) -> bool:
        """True until the cursor has read the last page."""
        return not self.cursor.finished

    @override
    def get_next(self, response: requests.Response) -> PageRequest | None:
        """The request the cursor planned from the page just read."""
        return self.cursor.next_request()

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page whose rows were all emitted before (the boundary second) is not the end."""
        return not self.cursor.finished


def modified_epoch(row: dict[str, t.Any], id_key: str) -> int:
    """The row's ``last_modified_time`` as an epoch second, normalised once for every reader.

    The value is rewritten in RFC 3339 form (``+0530`` -> ``+05:30``, what the SCHEMA promises)
    before it is parsed, so the bookmark and the shaper read the same text and reuse the parse
    (:mod:`.timeutil`). A row without a readable time cannot be paged safely: the organisation
    stops with one line naming the row.
    """
    value = row.get(LAST_MODIFIED)
    try:
        row[LAST_MODIFIED] = text = rfc3339(value) if isinstance(value, str) else ""
        return to_epoch(text)
    except ValueError:
        msg = (
            f"{id_key} {row.get(id_key)} has no valid {LAST_MODIFIED} ({value!r}); "
            "refusing to page past it"
        )
        raise ZohoApiError(msg) from None


class FinanceStream(ShapedStream):
    """A Books or Inventory list endpoint, partitioned by organisation.

    Read on the SDK's hooks: ``request_records`` pages with :meth:`get_new_paginator`, builds
    each query in :meth:`get_url_params` and reads each page in :meth:`parse_response`; every
    attempt, retries included, is paced per organisation in :meth:`each_attempt`. Rows are shaped
    to a SCHEMA that grows with custom fields (:class:`~tap_zoho.shaped.ShapedStream`).
    """

    family: t.ClassVar[str] = ""  # "books" | "inventory"
    base_path: t.ClassVar[str] = ""  # "/books/v3" | "/inventory/v1"
    resource: t.ClassVar[str] = ""  # "items" | "contacts" | "pricebooks"
    id_key = ""  # "item_id" | "contact_id" | "pricebook_id"
    declared_schema: t.ClassVar[dict[str, t.Any]] = {}  # fields every organisation has
    # ``filter_by`` of every list read: Zoho's defaults may hide records (6.5-6.7).
    filter_by: t.ClassVar[str] = ""

    def __init__(self, tap: Tap, organizations: list[str]) -> None:
        """One stream per family and resource; one partition per organisation id."""
        self._organizations = organizations
        self._pass: ListPass | None = None
        # A copy: custom fields grow this stream's schema, never the shared declaration.
        super().__init__(
            tap=tap,
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
            "per_page": self._per_page,
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
        body = decode_object(response, f"GET {path}") or {}
        code = body.get("code", 0)
        if code not in (0, "0"):
            msg = f"GET {path}: Zoho code {code}: {body.get('message')}"
            raise ZohoApiError(msg, code=str(code))
        return body

    # ------------------------------------------------------------------ request path
    @override
    def each_attempt(self, func: RequestFunc) -> RequestFunc:
        """Pace every attempt, retries and token refreshes included, per organisation (6.3)."""
        pacer = self.zoho_tap.finance_pacer

        @functools.wraps(func)
        def paced(prepared: requests.PreparedRequest, context: Context | None) -> requests.Response:
            pacer.wait(organization_of(prepared))
            return func(prepared, context)

        return paced

    def get_envelope(self, org: str, path: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """``GET path`` for the organisation (paced), with the envelope's ``code`` checked."""
        prepared = self.build_prepared_request(
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
        bookmark, seen = self.bookmark_start(context)
        cursor = ModifiedTimeCursor(
            bookmark,
            seen,
            per_page=self._per_page,
            discrete_cap=NO_CAP,
            lag_seconds=self.lag_seconds,
        )
        yield from self.read_pass(context, ListPass(org, cursor, self.list_filter()))

    @override
    def page_taken(self, paginator: FinancePaginator) -> None:
        """Settle the bookmark only as far as Zoho's clock allows; keep the listed fingerprints."""
        if isinstance(paginator.cursor, ModifiedTimeCursor):
            self._read_horizon = paginator.cursor.horizon
        if not self._bookmark_paused:
            for rid, print_ in paginator.kept_prints.items():
                self.remember_fingerprint(rid, print_)

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


class ItemsStream(IncrementalFinanceStream):
    """Items (products) with ``image_url`` and, optionally, active items only."""

    resource = "items"
    id_key = "item_id"
    primary_keys: t.ClassVar[list[str]] = ["item_id"]
    declared_schema = ITEM_SCHEMA

    @override
    def list_filter(self) -> str:
        """Status.Active when ``items_active_only`` is set (filtered at the source)."""
        return "Status.Active" if self.config.get("items_active_only") else ALL_ITEMS

    @override
    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """Active (or all) items; with active-only, then the items that turned inactive.

        When this run reconciles deletions (:mod:`.reconcile`), an incremental organisation then
        gets a listing of every item, and finishing all passes counts as a complete listing.
        """
        org = str((context or {})["organization_id"])
        listing = self._reconciliation.listings.get(org, Listing.NONE)
        cut_short = self.passes_cut_short
        yield from super().rows(context)
        if self.config.get("items_active_only"):
            self._bookmark_paused = True  # deactivations keep their own bookmark
            try:
                yield from self._deactivations(context)
            finally:
                self._bookmark_paused = False
        if listing is Listing.EXTRA:
            self._bookmark_paused = True  # a listing from the start moves no bookmark
            try:
                yield from self._list_all(context, org)
            finally:
                self._bookmark_paused = False
        if listing is not Listing.NONE and self.passes_cut_short == cut_short:
            self._reconciliation.done(org)  # a pass that stopped early listed only part

    def _list_all(self, context: Context | None, org: str) -> t.Iterator[dict[str, t.Any]]:
        """Every item (active ones with active-only), in the keyset windows of the normal pass.

        Keyset windows, not plain pages: an item edited or deleted during the listing never
        shifts another one out of it.
        """
        cursor = ModifiedTimeCursor(None, {}, per_page=self._per_page, discrete_cap=NO_CAP)
        yield from self.read_pass(context, ListPass(org, cursor, self.list_filter()))

    @cached_property
    def _reconciliation(self) -> Reconciliation:
        """This run's decision, taken from every organisation's state before the first is read.

        A reconciling run stamps its records with the listing's version (the SDK writes
        ``self._stream_version`` into every RECORD; pinned, and checked by the tap's tests).
        """
        plan = Reconciliation.plan(
            {org: self.get_context_state(p) for org, p in self._partition_by_org.items()},
            setting=self.config.get(RECONCILE_SETTING),
            start_date=bool(self.config.get("start_date")),
        )
        self._stream_version = plan.version
        return plan

    @property
    def _partition_by_org(self) -> dict[str, dict[str, str]]:
        return {p["organization_id"]: p for p in self.partitions}

    @override
    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        """This organisation's items; after the last organisation, ``ACTIVATE_VERSION``."""
        _ = self._reconciliation  # planned before the first record of the stream
        yield from super().get_records(context)
        if (context or {}).get("organization_id") == self._organizations[-1]:
            self._finish_reconciliation()

    def _finish_reconciliation(self) -> None:
        """Tell targets the listing is complete, or say why this run claims nothing."""
        plan = self._reconciliation
        if plan.version is None:
            return
        if not plan.complete:
            self.logger.warning(
                "%s: deletions not reconciled this run: the listing of organisation(s) %s did "
                "not complete (the next run lists again)",
                self.name,
                ", ".join(plan.missing()),
            )
            return
        for stream_map in self.stream_maps:
            if not isinstance(stream_map, RemoveRecordTransform):
                self._tap.write_message(
                    ActivateVersionMessage(stream=stream_map.stream_alias, version=plan.version)
                )
        for partition in self.partitions:
            self.get_context_state(partition).pop(RECONCILE_PENDING, None)
        self.logger.info(
            "%s: every item of %d organisation(s) listed; ACTIVATE_VERSION %d sent",
            self.name,
            len(plan.listings),
            plan.version,
        )

    def _deactivations(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """Inactive items modified since the last run, so the ERP never keeps them active."""
        state = self.get_context_state(context)
        saved = state.get(INACTIVE_SINCE)
        cursor = ModifiedTimeCursor(
            to_epoch(saved) if saved else None,
            saved_boundary(state, INACTIVE_PRINTS, INACTIVE_SEEN) if saved else {},
            per_page=self._per_page,
            discrete_cap=NO_CAP,
            lag_seconds=self.lag_seconds,
        )
        org = str((context or {})["organization_id"])
        yield from self.read_pass(context, ListPass(org, cursor, "Status.Inactive"))
        settled = cursor.settled  # never past a second that may still change
        if settled.second is not None:
            state[INACTIVE_SINCE] = utc_iso(settled.second)
            state[INACTIVE_PRINTS] = settled.fingerprints
            state.pop(INACTIVE_SEEN, None)

    @override
    def with_org(self, row: dict[str, t.Any], org: str) -> dict[str, t.Any]:
        """Add the organisation and ``image_url`` (as the legacy job built it)."""
        row = super().with_org(row, org)
        image = row.get("image_document_id")
        row["image_url"] = (
            f"{self.url_base}/inventory/v1/items/{row['item_id']}/image?organization_id={org}"
            if image
            else None
        )
        return row


class ContactsStream(IncrementalFinanceStream):
    """Contacts (customers and vendors; ``contact_type`` tells them apart)."""

    resource = "contacts"
    id_key = "contact_id"
    primary_keys: t.ClassVar[list[str]] = ["contact_id"]
    declared_schema = CONTACT_SCHEMA


class PricebooksStream(FinanceStream):
    """Price lists with their per-item rates (``/pricebooks``; 404 means not available).

    List rows carry no ``pricebook_items`` (6.7): a row without them is completed from the
    single price list, ``GET /pricebooks/{id}`` (one call per price list).
    """

    resource = "pricebooks"
    id_key = "pricebook_id"
    primary_keys: t.ClassVar[list[str]] = ["pricebook_id"]
    declared_schema = PRICEBOOK_SCHEMA
    filter_by = ALL_PRICEBOOKS  # sales and purchase price lists alike

    @override
    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """Every price list; a 404 is "price lists not available": skip, do not fail the run."""
        try:
            yield from super().rows(context)
        except ZohoApiError as exc:
            if exc.status != NOT_FOUND or isinstance(exc, ModuleUnavailableError):
                raise
            org = (context or {}).get("organization_id")
            msg = f"price lists are not available for organisation {org} (HTTP 404)"
            raise ModuleUnavailableError(msg, code=exc.code, status=NOT_FOUND) from None

    @override
    def completed(self, row: dict[str, t.Any], org: str) -> dict[str, t.Any] | None:
        """A row without ``pricebook_items`` gets them from the single price list."""
        if row.get("pricebook_items") is not None:
            return row
        book_id = row["pricebook_id"]
        try:
            body = self.get_envelope(org, f"{self.path}/{book_id}", {})
        except ZohoApiError as exc:
            if exc.status == NOT_FOUND:
                self.logger.warning("%s: price list %s no longer exists", self.name, book_id)
                return None
            raise
        detail = body.get("pricebook") or {}
        return {**row, **detail, "pricebook_items": detail.get("pricebook_items") or []}
