"""One sink per stream: records become JSON lines in its table's spool, handed to the writer.

A sink owns no connection and inserts nothing. It asks the writer for its table when it is set
up (:meth:`.writer.ClickHouseWriter.open_table`), appends each record the SDK gives it to that
table's spool, and hands a full spool over (:meth:`.writer.ClickHouseWriter.submit`). Creating
tables, inserting, retrying and releasing STATE belong to :class:`.writer.ClickHouseWriter`.

Records reach a sink as dicts only when Python must see them (``validate_records``,
``add_record_metadata``, stream maps, flattening). Otherwise the target's reader hands each
record's raw JSON text straight to the writer, and no sink sees it. Either way the spool holds
record JSON and ClickHouse converts it with the same SQL (:mod:`.loadplan`).
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from singer_sdk.sinks import BatchSink
from typing_extensions import override

from .loadplan import Layout, stored_properties

if t.TYPE_CHECKING:
    from .writer import ClickHouseWriter, TableLoad

__all__ = ["ClickHouseSink", "WriterOwner"]


class WriterOwner(t.Protocol):
    """What a sink needs of its target: the writer, and the bookmark properties it was sent."""

    writer: ClickHouseWriter
    #: Whether records skip the SDK (the reader hands their raw JSON to the writer).
    raw_records: bool

    def bookmark_properties(self, stream: str) -> tuple[str, ...]:
        """The ``bookmark_properties`` of the stream's SCHEMA message."""
        ...


class ClickHouseSink(BatchSink):
    """Buffers one stream's records in ``<table_prefix><stream>``'s spool."""

    MAX_SIZE_DEFAULT = 50_000

    def __init__(self, target: WriterOwner, *args: t.Any, **kwargs: t.Any) -> None:
        """Keep the writer and the stream's bookmark properties; the table comes in setup."""
        self._writer = target.writer
        super().__init__(target, *args, **kwargs)  # type: ignore[arg-type]  # a Target at run time
        self._bookmarks = target.bookmark_properties(self.stream_name)
        self._raw = target.raw_records
        self._load: TableLoad | None = None

    @property
    @override
    def max_size(self) -> int:
        """Rows per insert (``batch_size_rows``)."""
        return int(self.config.get("batch_size_rows") or self.MAX_SIZE_DEFAULT)

    @property
    @override
    def is_full(self) -> bool:
        """Full by rows or by bytes of record JSON (``batch_size_bytes``)."""
        return self._load is not None and self._load.spool.full

    @property
    @override
    def current_size(self) -> int:
        """Rows spooled and not yet handed to the writer."""
        return self._load.spool.rows if self._load is not None else 0

    @property
    @override
    def validate_schema(self) -> bool:
        """JSON Schema validation is opt-in (``validate_records``): ClickHouse checks types."""
        return bool(self.config.get("validate_records", False))

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Always on for the dict path: it is how the SDK keeps ``_sdc_deleted_at`` in records.

        The other ``_sdc_*`` properties become columns only with ``add_record_metadata``
        (:func:`.loadplan.stored_properties`).
        """
        return True

    @cached_property
    def _stores_metadata(self) -> bool:
        return bool(self.config.get("add_record_metadata", False))

    @override
    def _validate_and_parse(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Validate only when asked; ClickHouse parses every value once, at insert time.

        The one private SDK member target-clickhouse overrides: the SDK's version also turns
        every date-time string into a ``datetime`` that would only be written back as text, and
        there is no public hook to skip it. The SDK range is pinned in ``pyproject.toml``, and a
        test fails when the SDK stops calling this member or changes what it does.
        """
        if self._validator is not None:
            self._validator.validate(record)
        return record

    @override
    def setup(self) -> None:
        """Ask the writer for this stream's table, created or evolved to fit this schema."""
        config = self.config
        layout = Layout(
            stream=self.stream_name,
            properties=stored_properties(
                self.schema, self.original_schema, store_metadata=self._stores_metadata
            ),
            keys=tuple(self.key_properties or ()),
            bookmark_properties=self._bookmarks,
            database=config.get("database") or "default",
            all_strings=bool(config.get("all_strings", False)),
            json_type="JSON" if config.get("json_as") == "json" else "String",
            cluster=config.get("cluster"),
        )
        self._load = self._writer.open_table(layout)
        if self._raw and not self._load.renames:
            self._load.counted = self._count_raw

    def _count_raw(self, rows: int) -> None:
        """The SDK's record counters for raw records (they never pass through the SDK)."""
        self.tally_record_read(rows)
        self.record_counter_metric.increment(rows)
        self.tally_record_written(rows)

    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        """Append the record, as JSON, to the table's spool."""
        load = self._load
        assert load is not None  # noqa: S101 - set in setup()
        if load.renames:
            record = {load.renames.get(k, k): v for k, v in record.items()}
        load.spool.add_record(record)

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Hand the spooled batch to the writer (inserted in the background)."""
        if self._load is not None:
            self._writer.submit(self._load)
