"""One sink per stream: Zoho records become ERP rows, buffered and handed to the writer.

A sink maps and buffers; it owns no connection, commits nothing and never calls its target.
Writing, retrying, de-duplicating by "newest wins", counting results and releasing STATE belong
to :class:`.writer.ErpWriter`, which the target hands to its sinks through the class it gives
the SDK (:meth:`ErpSink.writing_to`).

An item becomes a ``products`` row and its base-price ``product_prices`` row; the two tables are
written as separate batches (transactions), so prices the database refuses never hold products
back.
"""

from __future__ import annotations

import typing as t
from functools import cached_property, partial

from singer_sdk.sinks import BatchSink
from typing_extensions import override

from .errors import BadInputError, BadRecord, RecordRefusedError, SkipRow
from .mapping import (
    PRODUCT_PRICES,
    PRODUCTS,
    REPAIRED,
    Table,
    customer_row,
    item_rows,
    price_rows,
    table_for,
)
from .reconcile import Listings, Seen
from .storable import preview, shown
from .writer import Batch, ErpWriter, Refused

if t.TYPE_CHECKING:
    from .report import TableStats

__all__ = ["BadInputError", "ErpSink"]

_DATE_FORMATS = frozenset({"date-time", "date", "time"})

_ID_FIELDS = {"products": "item_id", "customers": "contact_id", "product_prices": "pricebook_id"}


def without_date_formats(schema: dict[str, t.Any]) -> dict[str, t.Any]:
    """``schema`` whose top-level properties (and their ``anyOf`` choices) carry no date format."""

    def plain(prop: dict[str, t.Any]) -> dict[str, t.Any]:
        prop = (
            {key: value for key, value in prop.items() if key != "format"}
            if (prop.get("format") in _DATE_FORMATS)
            else prop
        )
        if isinstance(prop.get("anyOf"), list):
            prop = {**prop, "anyOf": [plain(choice) for choice in prop["anyOf"]]}
        return prop

    properties = schema.get("properties") or {}
    return {**schema, "properties": {name: plain(prop) for name, prop in properties.items()}}


class _Buffer:
    """One table's rows waiting for the next batch, with what was refused or repaired on the way."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self.rows: list[dict[str, t.Any]] = []
        self.refused: list[Refused] = []
        self.repaired: list[tuple[str, tuple[str, ...]]] = []

    def take(self, stream: str) -> Batch | None:
        """The buffered batch (None when empty), leaving the buffer empty."""
        if not (self.rows or self.refused):
            return None
        batch = Batch(stream, self.table, self.rows, self.refused, self.repaired)
        self.rows, self.refused, self.repaired = [], [], []
        return batch


class ErpSink(BatchSink):
    """Maps and buffers one stream's records for its ERP table."""

    MAX_SIZE_DEFAULT = 5_000
    writer: t.ClassVar[ErpWriter]  # set on the class the target hands the SDK

    @classmethod
    def writing_to(cls, writer: ErpWriter) -> type[ErpSink]:
        """This sink class, handing its batches to ``writer``."""
        return t.cast("type[ErpSink]", type(cls.__name__, (cls,), {"writer": writer}))

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Route the stream to its table (streams of other shapes are ignored)."""
        super().__init__(*args, **kwargs)
        # The SDK turns every value its sink's schema calls a date, time or date-time into a
        # Python object before ``process_record``: a cost per property per record, for values
        # the ERP would only turn back into text. The mapping checks the few times the ERP
        # stores, as sent, so the schema the SDK parses by leaves those formats out; the
        # validator (built from the stream's schema) and ``original_schema`` keep them.
        self.schema = without_date_formats(self.schema)
        self.table = table_for(self.stream_name)
        self._main = _Buffer(self.table) if self.table is not None else None
        self._prices = _Buffer(PRODUCT_PRICES)  # base prices of the buffered products
        settings = self.writer.settings
        # Items listings (ACTIVATE_VERSION): which ids each version held, see :mod:`.reconcile`.
        self._listings = (
            Listings(
                settings.schema,
                self.stream_name,
                PRODUCTS,
                self.writer.report.table(PRODUCTS.name),
                self.logger,
                create=settings.create_tables,
            )
            if self.table is PRODUCTS
            else None
        )
        self._seen: list[Seen] = []
        if self.table is None:
            self.logger.warning(
                "Stream %s has no ERP table; its records are ignored.", self.stream_name
            )

    @override
    def setup(self) -> None:
        """Connect (and create the tables) before the first record, so errors come early."""
        if self.table is not None:
            self.writer.open()

    @cached_property
    @override
    def max_size(self) -> int:
        """Rows per batch (``batch_size_rows``)."""
        return int(self.config.get("batch_size_rows") or self.MAX_SIZE_DEFAULT)

    @cached_property
    def _stock_only(self) -> bool:
        return bool(self.config.get("with_stock_only"))

    @cached_property
    def _stats(self) -> TableStats:
        assert self.table is not None  # noqa: S101 - only called for routed streams
        return self.writer.report.table(self.table.name)

    @cached_property
    def _price_stats(self) -> TableStats:
        """Counters of the base-price rows items write next to their products."""
        return self.writer.report.table(PRODUCT_PRICES.name)

    @property
    @override
    def current_size(self) -> int:
        """Buffered rows, refused records and listed ids (which skipped items also leave)."""
        main = self._main
        buffered = len(main.rows) + len(main.refused) if main is not None else 0
        return buffered + len(self._seen)

    @property
    @override
    def is_full(self) -> bool:
        """Full at ``batch_size_rows`` rows (or listed ids)."""
        rows = len(self._main.rows) if self._main is not None else 0
        return max(rows, len(self._seen)) >= self.max_size

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Always: ``_sdc_extracted_at`` (when the tap read a record) breaks same-second ties."""
        return True

    @property
    @override
    def validate_schema(self) -> bool:
        """JSON Schema validation only when asked: mapping checks what the ERP needs."""
        return bool(self.config.get("validate_records", False))

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        """Map the record to rows and buffer them (skips are counted, refusals handed over)."""
        table, main = self.table, self._main
        if table is None or main is None:
            return
        if self._listings is not None and (seen := self._listings.row(record)) is not None:
            self._seen.append(seen)  # skipped or not, the item exists in Zoho
        try:
            if table is PRODUCTS:
                product, base_price = item_rows(record, with_stock_only=self._stock_only)
                rows = [product]
                self._prices.rows.append(base_price)
                self._price_stats.total_processed += 1
            elif table is PRODUCT_PRICES:
                rows = price_rows(record)
            else:
                rows = [customer_row(record)]
        except SkipRow:
            self._stats.total_processed += 1
            self._stats.skipped += 1
            return
        except RecordRefusedError as refusal:
            self._refuse(record, refusal, main)
            return
        except BadRecord as exc:
            self.writer.wait()  # rows read before the bad one are committed
            msg = f"stream {self.stream_name!r}: {exc}: {preview(record)}"
            raise BadInputError(msg) from None
        self._stats.total_processed += len(rows)
        main.rows.extend(rows)
        if rows and REPAIRED in rows[0]:
            self._repaired(rows[0], main)

    def _refuse(self, record: dict[str, t.Any], refusal: RecordRefusedError, main: _Buffer) -> None:
        """Hand a refused record to the writer with the batch (an item's base price too)."""
        zoho_id = shown(record.get(_ID_FIELDS[main.table.name]))
        name = record.get("name") or record.get("item_name") or record.get("contact_name")
        shown_name = None if name is None else shown(name)
        field = shown(refusal.field)
        refused = Refused(zoho_id, shown_name, field, refusal.value, refusal.reason)
        self._stats.total_processed += 1
        main.refused.append(refused)
        if main.table is PRODUCTS:  # its base price is refused with it
            self._price_stats.total_processed += 1
            self._prices.refused.append(refused)

    def _repaired(self, row: dict[str, t.Any], main: _Buffer) -> None:
        fields = row.pop(REPAIRED)
        zoho_id = shown("/".join(str(row[k]) for k in main.table.key))
        main.repaired.append((zoho_id, fields))
        self.logger.warning(
            "stream %r: %s %s (%s) stored without characters PostgreSQL cannot store (NUL, "
            "lone surrogates), removed from: %s",
            self.stream_name,
            main.table.name,
            zoho_id,
            shown(row.get("name") or row.get("pricebook_name")),
            ", ".join(shown(f) for f in fields),
        )

    @override
    def start_drain(self) -> dict[str, t.Any]:
        """Hand the buffered rows (and products' base prices) to :meth:`process_batch`."""
        stream = self.stream_name
        main = self._main.take(stream) if self._main is not None else None
        seen, self._seen = self._seen, []
        return {"batches": [main, self._prices.take(stream)], "seen": seen}

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Hand the batches to the writer: it writes each in the background, in order."""
        for batch in context["batches"]:
            if batch is not None:
                self.writer.submit(batch)
        seen = context.get("seen")
        if self._listings is not None and seen:
            self.writer.submit_job(SEEN_JOB, len(seen), partial(self._listings.write, rows=seen))

    @override
    def activate_version(self, new_version: int) -> None:
        """A complete items listing: mark the products it lacks inactive (never delete them).

        The target drained every sink before this message reached the SDK, so the listing's
        rows are submitted; the marking runs in the writer's sequence after them, retried like
        a batch, and STATE waits for it (:mod:`.reconcile`).
        """
        listings = self._listings
        if listings is None:
            self.logger.info(
                "ACTIVATE_VERSION of %s ignored: only items listings mark rows inactive",
                self.stream_name,
            )
            return
        self.writer.submit_job(
            f"{PRODUCTS.name} (items gone from Zoho)",
            0,
            partial(listings.mark_missing, version=new_version),
        )


SEEN_JOB = "zoho_item_versions"
