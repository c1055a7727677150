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
"""

from __future__ import annotations

import copy
import threading
import time
import typing as t
from collections import deque
from functools import cached_property

from .bookmarks import KeysetBookmarks
from .client import ZohoStream
from .errors import ModuleUnavailableError, ZohoApiError
from .finance_shape import RowShaper
from .pagination import ModifiedTimeCursor, PageRequest
from .schema_finance import CONTACT_SCHEMA, ITEM_SCHEMA, PRICEBOOK_SCHEMA
from .timeutil import to_epoch, utc_iso

if t.TYPE_CHECKING:
    from singer_sdk import Tap

    from .tap import TapZoho

LAST_MODIFIED = "last_modified_time"
NO_CAP = 10**12
INACTIVE_SINCE = "inactive_bookmark"
INACTIVE_SEEN = "inactive_boundary_ids"
ALL_ITEMS = "Status.All"
ALL_PRICEBOOKS = "SalesOrPurchaseType.All"


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


class FinanceStream(ZohoStream):
    """A Books or Inventory list endpoint, partitioned by organisation."""

    family: t.ClassVar[str] = ""  # "books" | "inventory"
    base_path: t.ClassVar[str] = ""  # "/books/v3" | "/inventory/v1"
    resource: t.ClassVar[str] = ""  # "items" | "contacts" | "pricebooks"
    declared_schema: t.ClassVar[dict[str, t.Any]] = {}  # fields every organisation has

    def __init__(self, tap: Tap, organizations: list[str]) -> None:
        """One stream per family and resource; one partition per organisation id."""
        self._organizations = organizations
        # A copy: custom fields grow this stream's schema, never the shared declaration.
        super().__init__(
            tap=tap,
            name=f"{self.family}_{self.resource}",
            schema=copy.deepcopy(self.declared_schema),
        )
        self.path = f"{self.base_path}/{self.resource}"

    @property
    def partitions(self) -> list[dict[str, str]]:
        """One state partition per organisation."""
        return [{"organization_id": org} for org in self._organizations]

    def label(self, context: t.Any) -> str:
        """Name used in the run summary."""
        return f"{self.name}[{(context or {}).get('organization_id')}]"

    def get_records(self, context: t.Any) -> t.Iterable[dict[str, t.Any]]:
        """This organisation's rows; a failing organisation is reported and skipped."""
        yield from self.isolated(self.label(context), self.rows(context))

    def rows(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        """Every row of the resource (full table): overridden by incremental resources."""
        org = context["organization_id"]
        page = 1
        while True:
            body = self.list_page(org, {"page": page, "per_page": self._per_page})
            for row in body.get(self.resource) or []:
                yield self.with_org(row, org)
            if not (body.get("page_context") or {}).get("has_more_page"):
                return
            page += 1

    @property
    def _per_page(self) -> int:
        return int(self.config.get("page_size", 200))

    def list_page(self, org: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """One page of the list, paced, with the envelope's ``code`` checked."""
        body = self.get_envelope(org, self.path, params)
        self._shaper.learn((body.get("page_context") or {}).get("custom_fields"))
        return body

    def get_envelope(self, org: str, path: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """``GET path`` for the organisation, paced, with the envelope's ``code`` checked."""
        t.cast("TapZoho", self._tap).finance_pacer.wait(org)
        body = self.get_json(path, {"organization_id": org, **params}) or {}
        code = body.get("code", 0)
        if code not in (0, "0"):
            msg = f"GET {path}: Zoho code {code}: {body.get('message')}"
            raise ZohoApiError(msg, code=str(code))
        return body

    def with_org(self, row: dict[str, t.Any], org: str) -> dict[str, t.Any]:
        """Every record carries its organisation."""
        row["organization_id"] = org
        return row

    def post_process(self, row: dict[str, t.Any], context: t.Any = None) -> dict[str, t.Any] | None:  # noqa: ARG002
        """Conform the row to the SCHEMA; announce a grown SCHEMA before the record carrying it.

        The tap's mapper re-registers the grown schema (stream maps and flattening are rebuilt
        from it, through its public ``register_raw_stream_schema``) and the SCHEMA message of
        the rebuilt maps is written before the SDK writes this record. That writer is the SDK's
        own ``_write_schema_message`` (no public hook exists); the SDK range is pinned and
        ``test_a_custom_field_created_mid_stream_is_announced_before_its_first_record`` checks
        the order.
        """
        if self._shaper.shape(row):
            self._tap.mapper.register_raw_stream_schema(
                self.name, self._selected_schema(), self.primary_keys
            )
            self._write_schema_message()
        return row

    def _selected_schema(self) -> dict[str, t.Any]:
        """The schema without the properties the catalog deselects (new ones follow the stream)."""
        schema = copy.deepcopy(self.schema)
        mask = self.mask
        schema["properties"] = {
            name: prop for name, prop in schema["properties"].items() if mask[("properties", name)]
        }
        return schema

    @cached_property
    def _prune_nested(self) -> bool:
        """Books/Inventory answer every field whatever was selected: prune any deselection."""
        return any(len(crumb) >= 2 and not selected for crumb, selected in self.mask.items())  # noqa: PLR2004

    @property
    def stream_maps(self) -> list[t.Any]:
        """The mapper's current maps for this stream (rebuilt whenever the schema grows)."""
        return self._tap.mapper.stream_maps[self.name]

    @cached_property
    def _shaper(self) -> RowShaper:
        return RowShaper(self.schema, self.name, self.logger)


class IncrementalFinanceStream(KeysetBookmarks, FinanceStream):
    """Items and contacts: keyset windows on ``last_modified_time``, ascending."""

    replication_key = LAST_MODIFIED
    is_sorted = True
    filter_by = ALL_ITEMS  # without it, inactive records may be hidden (6.5, 6.6)

    def rows(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        """Rows modified since the bookmark, oldest first."""
        org = context["organization_id"]
        bookmark, seen = self.bookmark_start(context)
        cursor = ModifiedTimeCursor(bookmark, seen, per_page=self._per_page, discrete_cap=NO_CAP)
        yield from self._windows(org, cursor, self.filter_by)

    def _windows(
        self, org: str, cursor: ModifiedTimeCursor, filter_by: str
    ) -> t.Iterator[dict[str, t.Any]]:
        while not cursor.finished:
            request = cursor.next_request()
            body = self.list_page(org, self._params(request, filter_by))
            rows = list(body.get(self.resource) or [])
            keep = cursor.accept(
                [(str(r[self.id_key]), to_epoch(r[LAST_MODIFIED])) for r in rows],
                more=bool((body.get("page_context") or {}).get("has_more_page")),
                next_token=None,
            )
            for row, wanted in zip(rows, keep, strict=True):
                if wanted:
                    yield self.with_org(row, org)

    def _params(self, request: PageRequest, filter_by: str) -> dict[str, t.Any]:
        params: dict[str, t.Any] = {
            "page": request.page or 1,
            "per_page": self._per_page,
            "filter_by": filter_by,
            "sort_column": LAST_MODIFIED,
            "sort_order": "A",
        }
        if request.modified_after is not None:
            params[LAST_MODIFIED] = time.strftime(
                "%Y-%m-%dT%H:%M:%S+0000", time.gmtime(request.modified_after)
            )
        return params


class ItemsStream(IncrementalFinanceStream):
    """Items (products) with ``image_url`` and, optionally, active items only."""

    resource = "items"
    id_key = "item_id"
    primary_keys: t.ClassVar[list[str]] = ["item_id"]
    declared_schema = ITEM_SCHEMA

    @property
    def filter_by(self) -> str:  # type: ignore[override]  # a class attribute in the base
        """Status.Active when ``items_active_only`` is set (filtered at the source)."""
        return "Status.Active" if self.config.get("items_active_only") else ALL_ITEMS

    def rows(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        """Active (or all) items; with active-only, then the items that turned inactive."""
        yield from super().rows(context)
        if self.config.get("items_active_only"):
            self._bookmark_paused = True  # deactivations keep their own bookmark
            try:
                yield from self._deactivations(context)
            finally:
                self._bookmark_paused = False

    def _deactivations(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        """Inactive items modified since the last run, so the ERP never keeps them active."""
        state = self.get_context_state(context)
        saved = state.get(INACTIVE_SINCE)
        cursor = ModifiedTimeCursor(
            to_epoch(saved) if saved else None,
            set(state.get(INACTIVE_SEEN) or []),
            per_page=self._per_page,
            discrete_cap=NO_CAP,
        )
        yield from self._windows(context["organization_id"], cursor, "Status.Inactive")
        if cursor.bookmark is not None:
            state[INACTIVE_SINCE] = utc_iso(cursor.bookmark)
            state[INACTIVE_SEEN] = sorted(cursor.seen_at_bookmark)

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
    primary_keys: t.ClassVar[list[str]] = ["pricebook_id"]
    declared_schema = PRICEBOOK_SCHEMA

    def rows(self, context: t.Any) -> t.Iterator[dict[str, t.Any]]:
        """Every price list, sales and purchases, each with its per-item rates."""
        org = context["organization_id"]
        page = 1
        while True:
            params = {"page": page, "per_page": self._per_page, "filter_by": ALL_PRICEBOOKS}
            body = self.list_page(org, params)
            for row in body.get(self.resource) or []:
                complete = row if row.get("pricebook_items") is not None else self._detail(org, row)
                if complete is not None:
                    yield self.with_org(complete, org)
            if not (body.get("page_context") or {}).get("has_more_page"):
                return
            page += 1

    def _detail(self, org: str, row: dict[str, t.Any]) -> dict[str, t.Any] | None:
        """The single price list; None when it was deleted since the list was read."""
        book_id = row["pricebook_id"]
        try:
            body = self.get_envelope(org, f"{self.path}/{book_id}", {})
        except ZohoApiError as exc:
            if exc.status == 404:  # noqa: PLR2004
                self.logger.warning("%s: price list %s no longer exists", self.name, book_id)
                return None
            raise
        detail = body.get("pricebook") or {}
        return {**row, **detail, "pricebook_items": detail.get("pricebook_items") or []}

    def list_page(self, org: str, params: dict[str, t.Any]) -> dict[str, t.Any]:
        """A 404 is "price lists not available for this account": skip, do not fail the run."""
        try:
            return super().list_page(org, params)
        except ZohoApiError as exc:
            if exc.status == 404:  # noqa: PLR2004
                msg = f"price lists are not available for organisation {org} (HTTP 404)"
                raise ModuleUnavailableError(msg, code=exc.code, status=404) from None
            raise


def family_streams(
    tap: Tap, family: str, base_path: str, organizations: list[str]
) -> list[FinanceStream]:
    """The three streams of one product for the given organisations."""
    streams: list[FinanceStream] = []
    for base in (ItemsStream, ContactsStream, PricebooksStream):
        cls = type(
            f"{family.title()}{base.__name__}",
            (base,),
            {"family": family, "base_path": base_path},
        )
        streams.append(cls(tap, organizations))
    return streams
