"""The three list resources of Books and Inventory: items, contacts and price lists.

What differs between them lives here: items may be read active-only and are reconciled against
deletions (:mod:`.reconcile`), contacts are a plain incremental list, and price lists are read
whole with their per-item rates completed from the single price list.

Every read asks for all records: ``filter_by=Status.All`` on items and contacts and
``filter_by=SalesOrPurchaseType.All`` on price lists, whose defaults are undocumented or may
hide inactive records and purchase price lists (``shared/zoho-api.md`` 6.5-6.7).
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from singer_sdk.mapper import RemoveRecordTransform
from singer_sdk.singerlib import ActivateVersionMessage
from typing_extensions import override

from tap_zoho.datetimes import to_epoch, utc_iso
from tap_zoho.errors import ModuleUnavailableError, ZohoApiError
from tap_zoho.keyset import ModifiedTimeCursor
from tap_zoho.sdk.bookmarks import saved_boundary

from .paging import ListPass
from .reconcile import PENDING as RECONCILE_PENDING
from .reconcile import SETTING as RECONCILE_SETTING
from .reconcile import Listing, Reconciliation
from .schemas import CONTACT_SCHEMA, ITEM_SCHEMA, PRICEBOOK_SCHEMA
from .stream import ALL_ITEMS, NO_CAP, FinanceStream, IncrementalFinanceStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

INACTIVE_SINCE = "inactive_bookmark"
INACTIVE_SEEN = "inactive_boundary_ids"  # older states: bare ids
INACTIVE_PRINTS = "inactive_boundary_fingerprints"
ALL_PRICEBOOKS = "SalesOrPurchaseType.All"
NOT_FOUND = 404


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
            with self.bookmark_paused():  # deactivations keep their own bookmark
                yield from self._deactivations(context)
        if listing is Listing.EXTRA:
            with self.bookmark_paused():  # a listing from the start moves no bookmark
                yield from self._list_all(context, org)
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
                self.run_context.output.write_message(
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
