"""target-clickhouse: settings, the shared connection, and the command line."""

from __future__ import annotations

import sys
import time
import typing as t
from functools import cached_property

from clickhouse_connect.driver.exceptions import Error as ClickHouseError
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import (
    InvalidInputLine,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from typing_extensions import override

from .connection import DEFAULT_EMBEDDED_PATH, Connection
from .errors import SchemaChangeError, TargetClickHouseError
from .reader import QuietMsgSpecReader, RawRecordReader
from .sinks import ClickHouseSink
from .tables import SchemaManager

if t.TYPE_CHECKING:
    import msgspec
    from singer_sdk.sinks import Sink

__all__ = ["QuietMsgSpecReader", "TargetClickHouse", "main"]


class TargetClickHouse(Target):
    """Singer target for ClickHouse: ReplacingMergeTree tables, embedded chDB without a host."""

    name = "target-clickhouse"
    default_sink_class = ClickHouseSink
    message_reader_class = RawRecordReader

    config_jsonschema = th.PropertiesList(
        th.Property(
            "host",
            th.StringType,
            description="ClickHouse server host. Unset: the embedded engine (chDB).",
        ),
        th.Property(
            "port", th.IntegerType, description="HTTP(S) port. Default 8123, or 8443 with secure."
        ),
        th.Property("username", th.StringType, default="default", description="User name."),
        th.Property("password", th.StringType, secret=True, description="Password."),
        th.Property(
            "database",
            th.StringType,
            default="default",
            description="Database for the tables (created if missing).",
        ),
        th.Property(
            "secure",
            th.BooleanType,
            default=False,
            description="Use HTTPS (ClickHouse Cloud: true, port 8443).",
        ),
        th.Property(
            "verify",
            th.BooleanType,
            default=True,
            description="Verify the server's TLS certificate.",
        ),
        th.Property(
            "client_settings",
            th.ObjectType(additional_properties=True),
            description="Extra ClickHouse settings for every query and insert, e.g. "
            '{"async_insert": 1, "wait_for_async_insert": 1}.',
        ),
        th.Property(
            "path",
            th.StringType,
            default=DEFAULT_EMBEDDED_PATH,
            description="Data directory of the embedded engine (used without host).",
        ),
        th.Property(
            "table_prefix",
            th.StringType,
            default="",
            description="Prefix of every table name, e.g. zoho_.",
        ),
        th.Property(
            "all_strings",
            th.BooleanType,
            default=False,
            description="Every column Nullable(String), like the legacy tables.",
        ),
        th.Property(
            "json_as",
            th.StringType,
            default="string",
            allowed_values=["string", "json"],
            description="Objects and arrays as JSON text (string) or native JSON columns.",
        ),
        th.Property(
            "cluster",
            th.StringType,
            description="Cluster name: DDL runs ON CLUSTER with Replicated engines.",
        ),
        th.Property(
            "batch_size_bytes",
            th.IntegerType,
            default=64 * 1024 * 1024,
            description="Flush a stream's buffer when its estimated size reaches this.",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=50_000,
            description="Rows per insert for each stream.",
        ),
        th.Property(
            "flush_interval_seconds",
            th.IntegerType,
            default=300,
            description="Longest time rows wait in memory: every interval the buffered rows "
            "are inserted and STATE is emitted (the SDK also does so every 5 minutes).",
        ),
        th.Property(
            "connect_timeout",
            th.IntegerType,
            default=10,
            description="Seconds to wait for a server connection (not used by chDB).",
        ),
        th.Property(
            "send_receive_timeout",
            th.IntegerType,
            default=300,
            description="Seconds a server request (an insert included) may take (not used "
            "by chDB).",
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            description="Also validate records against JSON Schema (slow). Off: values "
            "are still checked as they are converted to their column types.",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Hook into the message loop through the reader (no private SDK member is overridden)."""
        self._bookmarks: dict[str, list[str]] = {}
        self._raw_sinks: dict[str, ClickHouseSink | None] = {}  # None: the stream takes dicts
        self._table_streams: dict[tuple[str, str], str] = {}
        self._clickhouse_sinks: list[ClickHouseSink] = []
        super().__init__(*args, **kwargs)
        self._flush_seconds = float(self.config.get("flush_interval_seconds", 300))
        reader = self.message_reader
        if isinstance(reader, RawRecordReader):
            reader.raw_record_handler = self.accept_raw_record
            reader.schema_handler = self.note_schema
            reader.flush_handler = self.flush
            reader.flush_at = time.monotonic() + self._flush_seconds
            reader.on_error = self.abort

    @property  # type: ignore[explicit-override]  # mypy misses @override on a getter+setter pair
    @override
    def max_parallelism(self) -> int:
        """Drain streams one at a time on the embedded engine (one engine, one lock)."""
        return 1 if not self.config.get("host") else 4

    @max_parallelism.setter
    @override
    def max_parallelism(self, new_value: int) -> None:
        self._max_parallelism = new_value

    @cached_property
    def connection(self) -> Connection:
        """The one client of this run (closed by :meth:`process_endofpipe` or :meth:`abort`)."""
        return Connection(self.config)

    @cached_property
    def schema_manager(self) -> SchemaManager:
        """DDL for every sink."""
        return SchemaManager(self.connection, self.logger)

    def claim_table(self, database: str, table: str, sink: ClickHouseSink) -> None:
        """Refuse a second stream whose name sanitises to a table another stream loads.

        Also remembers the sink, so inserts in flight can be awaited when the run fails.
        """
        stream = sink.stream_name
        owner = self._table_streams.setdefault((database, table), stream)
        if owner != stream:
            msg = (
                f"streams {owner!r} and {stream!r} both map to table {table!r}; "
                "rename one with a stream map alias"
            )
            raise SchemaChangeError(msg)
        self._clickhouse_sinks.append(sink)

    def bookmark_properties(self, stream: str) -> list[str]:
        """The ``bookmark_properties`` of a stream's SCHEMA message (its version source)."""
        return self._bookmarks.get(stream, [])

    def note_schema(self, message: dict[str, t.Any]) -> None:
        """Before the SDK handles a SCHEMA: keep its bookmark properties, re-route its records."""
        stream = message.get("stream")
        if isinstance(stream, str):
            self._bookmarks[stream] = list(message.get("bookmark_properties") or [])
            self._raw_sinks.pop(stream, None)

    @cached_property
    def rewrites_records(self) -> bool:
        """Stream maps or flattening change records in Python: those need the dict path."""
        return bool(self.config.get("stream_maps") or self.config.get("flattening_enabled"))

    def _raw_sink(self, stream: str) -> ClickHouseSink | None:
        """The stream's sink when it loads raw records (see :mod:`.sinks`), else None."""
        sink: ClickHouseSink | None = None
        if not self.rewrites_records and self.sink_exists(stream):
            candidate = self.get_sink(stream)
            if isinstance(candidate, ClickHouseSink) and candidate.loads_raw:
                sink = candidate
        self._raw_sinks[stream] = sink
        return sink

    def accept_raw_record(self, stream: str, record: msgspec.Raw) -> bool:
        """Buffer one raw RECORD of a fast stream; False hands it to the dict path."""
        sink = self._raw_sinks[stream] if stream in self._raw_sinks else self._raw_sink(stream)
        if sink is None:
            return False
        if sink.add_raw_record(record):
            self.logger.info(
                "Target sink for '%s' is full (%d rows). Inserting...", stream, sink.current_size
            )
            sink.submit_batch()
        return True

    def flush(self) -> float:
        """Every ``flush_interval_seconds``: insert what is buffered and emit STATE.

        Returns when the next flush is due. (The SDK also drains every five minutes.)
        """
        self.drain_all()
        return time.monotonic() + self._flush_seconds

    @override
    def get_sink(
        self,
        stream_name: str,
        *,
        record: dict[str, t.Any] | None = None,
        schema: dict[str, t.Any] | None = None,
        key_properties: t.Sequence[str] | None = None,
    ) -> Sink:
        """Drain a sink about to be replaced first, so its rows keep the layout they were read for.

        The SDK replaces a stream's sink when its schema or key properties change, and drains
        the old one only later, after the new one altered the table.
        """
        if schema is not None and self.sink_exists(stream_name):
            current = super().get_sink(stream_name)
            if current.original_schema != schema or current.key_properties != key_properties:
                self.drain_one(current)
                if isinstance(current, ClickHouseSink):
                    current.wait_pending()
        return super().get_sink(
            stream_name, record=record, schema=schema, key_properties=key_properties
        )

    def abort(self) -> None:
        """On a fatal error: let inserts in flight finish (their rows were read before it).

        Batch files that will not be inserted are removed, and the client is closed.
        """
        for sink in self._clickhouse_sinks:
            try:
                sink.wait_pending()
            except Exception as exc:  # noqa: BLE001 - the first error is the one reported
                self.logger.warning("An insert of %s also failed: %s", sink.stream_name, exc)
            sink.discard_spool()
        self.close()

    def close(self) -> None:
        """Close the client, if one was opened."""
        connection = self.__dict__.pop("connection", None)
        if isinstance(connection, Connection):
            connection.close()

    @override
    def process_endofpipe(self) -> None:
        """Drain every sink (STATE only after each insert is acknowledged), then close."""
        try:
            super().process_endofpipe()
        except BaseException:
            self.abort()
            raise
        self.close()


_ONE_LINE_ERRORS = (
    TargetClickHouseError,
    ClickHouseError,
    InvalidRecord,
    MissingKeyPropertiesError,
    InvalidInputLine,
    RecordsWithoutSchemaException,
)


def main() -> None:
    """Console entry point: bad input ends as one line on stderr and exit code 1."""
    try:
        TargetClickHouse.cli()
    except _ONE_LINE_ERRORS as exc:
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        sys.stderr.write(f"target-clickhouse: error: {message}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
