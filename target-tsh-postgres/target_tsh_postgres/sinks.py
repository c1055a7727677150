"""One sink per stream: Zoho records become ERP rows, handed a batch at a time to the writer.

A sink maps, buffers and de-duplicates; it owns no connection and commits nothing. Writing,
retrying, counting results and releasing STATE belong to :class:`.writer.ErpWriter`.

An item becomes a ``products`` row and its base-price ``product_prices`` row; the two tables are
written as separate batches (transactions), so prices the database refuses never hold products
back.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from singer_sdk.sinks import BatchSink

from . import erp
from .errors import BadInputError
from .mapping import (
    PRODUCT_PRICES,
    PRODUCTS,
    BadRecord,
    SkipRow,
    base_price_row,
    customer_row,
    latest_per_key,
    price_rows,
    product_row,
    table_for,
)

if t.TYPE_CHECKING:
    from .report import TableStats
    from .target import TargetTshPostgres
    from .writer import ErpWriter

__all__ = ["BadInputError", "ErpSink"]


class ErpSink(BatchSink):
    """Maps, buffers and upserts one stream's records into its ERP table."""

    MAX_SIZE_DEFAULT = 5_000

    def __init__(self, target: TargetTshPostgres, *args: t.Any, **kwargs: t.Any) -> None:
        """Route the stream to its table (streams of other shapes are ignored)."""
        self._writer: ErpWriter = target.writer
        super().__init__(target, *args, **kwargs)
        self.table = table_for(self.stream_name)
        self._rows: list[dict[str, t.Any]] = []
        self._prices: list[dict[str, t.Any]] = []  # base prices of the buffered products
        if self.table is None:
            self.logger.warning(
                "Stream %s has no ERP table; its records are ignored.", self.stream_name
            )

    def setup(self) -> None:
        """Connect (and create the tables) before the first record, so errors come early."""
        if self.table is not None:
            self._writer.open()

    @cached_property
    def max_size(self) -> int:
        """Rows per batch (``batch_size_rows``)."""
        return int(self.config.get("batch_size_rows") or self.MAX_SIZE_DEFAULT)

    @cached_property
    def _stock_only(self) -> bool:
        return bool(self.config.get("with_stock_only"))

    @cached_property
    def _stats(self) -> TableStats:
        assert self.table is not None  # noqa: S101 - only called for routed streams
        return self._writer.report.table(self.table.name)

    @cached_property
    def _price_stats(self) -> TableStats:
        """Counters of the base-price rows items write next to their products."""
        return self._writer.report.table(PRODUCT_PRICES.name)

    @property
    def current_size(self) -> int:
        """Buffered rows."""
        return len(self._rows)

    @property
    def is_full(self) -> bool:
        """Full at ``batch_size_rows`` rows."""
        return len(self._rows) >= self.max_size

    @property
    def include_sdc_metadata_properties(self) -> bool:
        """Always: ``_sdc_extracted_at`` (when the tap read a record) breaks same-second ties."""
        return True

    @property
    def validate_schema(self) -> bool:
        """JSON Schema validation only when asked: mapping checks what the ERP needs."""
        return bool(self.config.get("validate_records", False))

    def _validate_and_parse(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Validate when asked; the mapping parses the few times the ERP stores."""
        if self._validator is not None:
            self._validator.validate(record)
        return record

    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:  # noqa: ARG002
        """Map the record to rows and buffer them (skips are counted, not written)."""
        table = self.table
        if table is None:
            return
        stats = self._stats
        try:
            if table is PRODUCTS:
                rows = [product_row(record, with_stock_only=self._stock_only)]
                self._prices.append(base_price_row(record))
                self._price_stats.total_processed += 1
            elif table is PRODUCT_PRICES:
                rows = price_rows(record)
            else:
                rows = [customer_row(record)]
        except SkipRow:
            stats.total_processed += 1
            stats.skipped += 1
            return
        except BadRecord as exc:
            self._writer.wait()  # rows read before the bad one are committed
            msg = f"stream {self.stream_name!r}: {exc}: {str(record)[:200]}"
            raise BadInputError(msg) from None
        stats.total_processed += len(rows)
        self._rows.extend(rows)

    def start_drain(self) -> dict[str, t.Any]:
        """Hand the buffered rows (and products' base prices) to :meth:`process_batch`."""
        rows, self._rows = self._rows, []
        prices, self._prices = self._prices, []
        return {"rows": rows, "prices": prices}

    def process_batch(self, context: dict[str, t.Any]) -> None:
        """De-duplicate by key (newest wins) and hand the batch to the writer.

        The database work of this batch overlaps with reading the next one; the writer holds
        back any STATE until it is committed.
        """
        table = self.table
        if table is None:
            return
        for batch_table, rows in ((table, context["rows"]), (PRODUCT_PRICES, context["prices"])):
            if rows:
                unique = latest_per_key(rows, batch_table)
                self._writer.submit(batch_table, rows, unique, erp.copy_data(unique, batch_table))
