"""target-clickhouse: settings, the hooks into the SDK's message loop, and the command line.

Everything the target guarantees about writes lives in :class:`.writer.ClickHouseWriter`. What it
relies on from the Singer SDK, all of it checked by a test that fails when a new SDK release
changes it (the SDK range is pinned in ``pyproject.toml``):

* the public reader hook (``message_reader_class``, ``process_lines(file_input, callbacks)``):
  :class:`.reader.RawRecordReader` hands raw RECORD text to the writer, each STATE to
  :meth:`TargetClickHouse.receive_state` (the SDK never sees a STATE, so it never writes one),
  and runs :meth:`TargetClickHouse.flush` every ``flush_interval_seconds``;
* ``drain_all`` calling ``process_batch`` of every sink whose ``current_size`` is not 0, and
  ``add_sink`` calling ``setup`` of each new sink (a new SCHEMA gives a new sink);
* ``Sink._validate_and_parse``, the one private SDK member overridden (:mod:`.sinks`).
"""

from __future__ import annotations

import copy
import json
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
from .errors import TargetClickHouseError
from .reader import QuietMsgSpecReader, RawRecordReader
from .sinks import ClickHouseSink
from .writer import ClickHouseWriter, WriterSettings

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
            "history_mode",
            th.BooleanType,
            default=False,
            description="Also keep every version of every record of a stream with key "
            "properties: <table>_versions (one row per distinct key and version, deletions "
            "included) and the view <table>_history (valid_from, valid_to, is_current, "
            "is_deleted).",
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
        """Hook the target into the message loop through its reader (see the module docstring)."""
        self._bookmarks: dict[str, tuple[str, ...]] = {}
        self._received_state: dict[str, t.Any] | None = None
        super().__init__(*args, **kwargs)
        self._flush_seconds = float(self.config.get("flush_interval_seconds", 300))
        reader = self.message_reader
        if isinstance(reader, RawRecordReader):
            if self.raw_records:
                reader.raw_record_handler = self.writer.accept_raw
            reader.schema_handler = self.note_schema
            reader.state_handler = self.receive_state
            reader.flush_handler = self.flush
            reader.flush_at = time.monotonic() + self._flush_seconds
            reader.on_error = self.abort

    @property  # type: ignore[explicit-override]  # mypy misses @override on a getter+setter pair
    @override
    def max_parallelism(self) -> int:
        """Sinks are drained one by one: a drain only hands a spool to the writer."""
        return 1

    @max_parallelism.setter
    @override
    def max_parallelism(self, new_value: int) -> None:
        self._max_parallelism = new_value

    @cached_property
    def writer(self) -> ClickHouseWriter:
        """The owner of the connection, the tables, the inserts and STATE."""
        config = self.config
        settings = WriterSettings(
            table_prefix=config.get("table_prefix") or "",
            batch_rows=int(config.get("batch_size_rows") or ClickHouseSink.MAX_SIZE_DEFAULT),
            batch_bytes=int(config.get("batch_size_bytes") or 64 * 1024 * 1024),
            workers=4 if config.get("host") else 1,  # one embedded engine: one insert at a time
            keep_history=bool(config.get("history_mode", False)),
        )
        return ClickHouseWriter(lambda: Connection(config), settings, self.logger, _write_state)

    @cached_property
    def raw_records(self) -> bool:
        """Whether records skip the SDK: only when Python has nothing to do with them.

        Validation, record metadata, stream maps and flattening all work on dicts.
        """
        config = self.config
        return not (
            config.get("validate_records")
            or config.get("add_record_metadata")
            or config.get("stream_maps")
            or config.get("flattening_enabled")
        )

    def bookmark_properties(self, stream: str) -> tuple[str, ...]:
        """The ``bookmark_properties`` of a stream's SCHEMA message (its version source)."""
        return self._bookmarks.get(stream, ())

    def note_schema(self, message: dict[str, t.Any]) -> None:
        """Before the SDK handles a SCHEMA: keep its bookmark properties."""
        stream = message.get("stream")
        if isinstance(stream, str):
            self._bookmarks[stream] = tuple(message.get("bookmark_properties") or ())

    def receive_state(self, state: dict[str, t.Any]) -> None:
        """Keep the latest STATE until the rows read before it are inserted (:meth:`flush`)."""
        self._received_state = state

    def flush(self) -> float:
        """Every ``flush_interval_seconds``: hand every buffered row and the STATE to the writer.

        The writer emits that STATE once the inserts before it are acknowledged. Returns when
        the next flush is due.
        """
        self.drain_all()
        self._hand_over_state()
        return time.monotonic() + self._flush_seconds

    def _hand_over_state(self) -> None:
        if self._received_state is not None:
            self.writer.state(copy.deepcopy(self._received_state))
        else:
            self.writer.hand_over_all()

    def abort(self, error: BaseException | None = None) -> None:
        """On a fatal error: let inserts in flight finish (their rows were read before it).

        SIGTERM/SIGINT end the run with ``SystemExit(0)`` after the SDK drained every sink:
        then the last STATE is handed over too, as at the end of input.
        """
        graceful = isinstance(error, SystemExit) and error.code in (0, None)
        try:
            if graceful:
                self._hand_over_state()
                self.writer.close()
                return
        except Exception as exc:  # noqa: BLE001 - the first error is the one reported
            self.logger.warning("The inserts in flight also failed: %s", exc)
        self.writer.abort()

    @override
    def process_endofpipe(self) -> None:
        """Hand every row and the last STATE to the writer; wait for the inserts; close."""
        try:
            super().process_endofpipe()
            self._hand_over_state()
            self.writer.close()
        except BaseException:
            self.writer.abort()
            raise


def _write_state(state: dict[str, t.Any]) -> None:
    """Emit one STATE line, as the SDK's targets do (the state value itself, as JSON)."""
    sys.stdout.write(json.dumps(state) + "\n")
    sys.stdout.flush()


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
