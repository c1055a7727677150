"""target-clickhouse: settings, the shared connection, and the command line."""

from __future__ import annotations

import sys
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

from .connection import DEFAULT_EMBEDDED_PATH, ClickHouseUnavailableError, Connection
from .reader import QuietMsgSpecReader, RawRecordReader
from .sinks import BadRecordError, ClickHouseSink
from .tables import SchemaChangeError, SchemaManager

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
            "validate_records",
            th.BooleanType,
            default=False,
            description="Also validate records against JSON Schema (slow). Off: values "
            "are still checked as they are converted to their column types.",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Remember each stream's bookmark properties as SCHEMA messages arrive."""
        self._bookmarks: dict[str, list[str]] = {}
        self._raw_sinks: dict[str, ClickHouseSink] = {}
        self._table_streams: dict[tuple[str, str], str] = {}
        super().__init__(*args, **kwargs)
        if isinstance(self.message_reader, RawRecordReader):
            self.message_reader.raw_record_handler = self.accept_raw_record
            self.message_reader.on_error = self.finish_inserts
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("flush_interval_seconds", 300)) / 60

    @property
    def max_parallelism(self) -> int:
        """Drain streams one at a time on the embedded engine (one engine, one lock)."""
        return 1 if not self.config.get("host") else 4

    @max_parallelism.setter
    def max_parallelism(self, new_value: int) -> None:
        self._max_parallelism = new_value

    @cached_property
    def connection(self) -> Connection:
        """The one client of this run."""
        return Connection(self.config)

    @cached_property
    def schema_manager(self) -> SchemaManager:
        """DDL for every sink."""
        return SchemaManager(self.connection, self.logger)

    def claim_table(self, database: str, table: str, stream: str) -> None:
        """Refuse a second stream whose name sanitises to a table another stream loads."""
        owner = self._table_streams.setdefault((database, table), stream)
        if owner != stream:
            msg = (
                f"streams {owner!r} and {stream!r} both map to table {table!r}; "
                "rename one with a stream map alias"
            )
            raise SchemaChangeError(msg)

    def bookmark_properties(self, stream: str) -> list[str]:
        """The ``bookmark_properties`` of a stream's SCHEMA message (its version source)."""
        return self._bookmarks.get(stream, [])

    def _process_schema_message(self, message_dict: dict[str, t.Any]) -> None:
        stream = message_dict.get("stream")
        if isinstance(stream, str):
            self._bookmarks[stream] = list(message_dict.get("bookmark_properties") or [])
        super()._process_schema_message(message_dict)
        if isinstance(stream, str):
            self._route_records(stream)

    @cached_property
    def rewrites_records(self) -> bool:
        """Stream maps or flattening change records in Python: those need the dict path."""
        return bool(self.config.get("stream_maps") or self.config.get("flattening_enabled"))

    def _route_records(self, stream: str) -> None:
        """Send the stream's RECORDs to its sink raw when its sink can load them that way."""
        self._raw_sinks.pop(stream, None)
        if self.rewrites_records or not self.sink_exists(stream):
            return
        sink = self.get_sink(stream)
        if isinstance(sink, ClickHouseSink) and sink.loads_raw:
            self._raw_sinks[stream] = sink

    def accept_raw_record(self, stream: str, record: msgspec.Raw) -> bool:
        """Buffer one raw RECORD of a fast stream; False hands it to the dict path."""
        sink = self._raw_sinks.get(stream)
        if sink is None:
            return False
        if sink.add_raw_record(record):
            self.logger.info(
                "Target sink for '%s' is full (%d rows). Inserting...", stream, sink.current_size
            )
            sink.submit_batch()
        self._handle_max_record_age()
        return True

    def add_sink(  # type: ignore[misc]  # @final in the SDK: drains a replaced sink first
        self, stream_name: str, schema: dict[str, t.Any], key_properties: t.Any = None
    ) -> Sink:
        """Drain a replaced sink of the same stream first, so its rows keep the old layout."""
        for old in [s for s in self._sinks_to_clear if s.stream_name == stream_name]:
            self.drain_one(old)
            if isinstance(old, ClickHouseSink):
                old.wait_pending()
        if isinstance(replaced := self._sinks_active.get(stream_name), ClickHouseSink):
            replaced.wait_pending()
        return super().add_sink(stream_name, schema, key_properties)

    def finish_inserts(self) -> None:
        """On a fatal error: let inserts in flight finish (their rows were read before it)."""
        for sink in [*self._sinks_to_clear, *self._sinks_active.values()]:
            if isinstance(sink, ClickHouseSink):
                try:
                    sink.wait_pending()
                except Exception as exc:  # noqa: BLE001 - the first error is the one reported
                    self.logger.warning("An insert of %s also failed: %s", sink.stream_name, exc)
                sink.discard_spool()

    def drain_all(self, *, is_endofpipe: bool = False) -> None:  # type: ignore[misc]  # @final: waits for inserts
        """Wait for every insert in flight first: STATE must never run ahead of its rows."""
        try:
            for sink in [*self._sinks_to_clear, *self._sinks_active.values()]:
                if isinstance(sink, ClickHouseSink):
                    sink.wait_pending()
            super().drain_all(is_endofpipe=is_endofpipe)
        except BaseException:
            self.finish_inserts()  # and remove batch files that will not be inserted
            raise


_ONE_LINE_ERRORS = (
    BadRecordError,
    ClickHouseUnavailableError,
    ClickHouseError,
    InvalidRecord,
    MissingKeyPropertiesError,
    SchemaChangeError,
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
