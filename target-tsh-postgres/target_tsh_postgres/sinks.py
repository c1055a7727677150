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
from typing_extensions import override

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
from .reconcile import SEEN_TABLE, Seen

if t.TYPE_CHECKING:
    from psycopg2.extensions import connection

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
        self._erp_target = target
        super().__init__(target, *args, **kwargs)
        self.table = table_for(self.stream_name)
        self._rows: list[dict[str, t.Any]] = []
        self._prices: list[dict[str, t.Any]] = []  # base prices of the buffered products
        # Items listings (ACTIVATE_VERSION): which ids each version held, see :mod:`.reconcile`.
        self._seen = (
            Seen(
                self._writer.settings.schema,
                self.stream_name,
                create=self._writer.settings.create_tables,
            )
            if self.table is PRODUCTS
            else None
        )
        self._seen_rows: list[tuple[str, str, str, int]] = []
        self._seen_table: bool | None = None  # known once checked: present (or created)
        if self.table is None:
            self.logger.warning(
                "Stream %s has no ERP table; its records are ignored.", self.stream_name
            )

    @override
    def setup(self) -> None:
        """Connect (and create the tables) before the first record, so errors come early."""
        if self.table is not None:
            self._writer.open()

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
        return self._writer.report.table(self.table.name)

    @cached_property
    def _price_stats(self) -> TableStats:
        """Counters of the base-price rows items write next to their products."""
        return self._writer.report.table(PRODUCT_PRICES.name)

    @property
    @override
    def current_size(self) -> int:
        """Buffered rows (and listed ids, which skipped items also leave)."""
        return len(self._rows) + len(self._seen_rows)

    @property
    @override
    def is_full(self) -> bool:
        """Full at ``batch_size_rows`` rows (or listed ids)."""
        return max(len(self._rows), len(self._seen_rows)) >= self.max_size

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
    def _validate_and_parse(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Validate when asked; the mapping checks the few times the ERP stores, as sent.

        The one private SDK member target-tsh-postgres overrides: the SDK's version also turns
        every date-time string of the record into a ``datetime`` (a cost per property per
        record) that the ERP would only turn back into text, and no public hook skips it. The
        SDK range is pinned in ``pyproject.toml``;
        ``tests/unit/target_tsh_postgres/test_sdk_assumptions.py`` fails when the SDK stops
        calling this member or changes what it does.
        """
        if self._validator is not None:
            self._validator.validate(record)
        return record

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        """Map the record to rows and buffer them (skips are counted, not written)."""
        table = self.table
        if table is None:
            return
        stats = self._stats
        if self._seen is not None and (seen := self._seen.row(record)) is not None:
            self._seen_rows.append(seen)  # skipped or not, the item exists in Zoho
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

    @override
    def start_drain(self) -> dict[str, t.Any]:
        """Hand the buffered rows (and products' base prices) to :meth:`process_batch`."""
        rows, self._rows = self._rows, []
        prices, self._prices = self._prices, []
        seen, self._seen_rows = self._seen_rows, []
        return {"rows": rows, "prices": prices, "seen": seen}

    @override
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
        seen_rows = context.get("seen")
        if self._seen is not None and seen_rows:
            seen = self._seen

            def write_seen(conn: connection) -> None:
                if self._seen_table_ready(conn):
                    seen.write(conn, seen_rows)

            self._writer.submit_job(SEEN_TABLE, len(seen_rows), write_seen)

    def _seen_table_ready(self, conn: connection) -> bool:
        """Whether listed ids can be kept; a role that may not create their table gets a warning.

        Without the table, items are still written; only deletions are not reconciled.
        """
        if self._seen_table is None:
            assert self._seen is not None  # noqa: S101 - only called for items streams
            self._seen_table = self._seen.ensure_table(conn)
            if not self._seen_table:
                self.logger.warning(
                    "%s: table %s.%s is missing and may not be created (create_tables off, or "
                    "no CREATE privilege): items deleted in Zoho are not marked inactive",
                    self.stream_name,
                    self._writer.settings.schema,
                    SEEN_TABLE,
                )
        return self._seen_table

    @override
    def activate_version(self, new_version: int) -> None:
        """A complete items listing: mark the products it lacks inactive (never delete them).

        Every buffered row is written first; the marking runs in the writer's sequence after
        them, retried like a batch, and STATE waits for it (:mod:`.reconcile`).
        """
        seen = self._seen
        if seen is None:
            self.logger.info(
                "ACTIVATE_VERSION of %s ignored: only items listings mark rows inactive",
                self.stream_name,
            )
            return
        # The listing's last rows go first, also those an earlier sink of this stream (replaced
        # when a grown SCHEMA arrived) still buffers: the SDK drains it only at its next drain.
        self._erp_target.drain_all()
        stats, logger, stream = self._stats, self.logger, self.stream_name

        def mark(conn: connection) -> None:
            if not self._seen_table_ready(conn):
                return
            marked = seen.activate(conn, PRODUCTS, new_version)
            stats.deactivated += marked
            logger.info(
                "%s: listing %d complete; %d products no longer in Zoho marked inactive",
                stream,
                new_version,
                marked,
            )

        self._writer.submit_job(f"{PRODUCTS.name} (items gone from Zoho)", 0, mark)
