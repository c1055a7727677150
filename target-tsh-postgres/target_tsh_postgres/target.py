"""target-tsh-postgres: settings, when rows and STATE go to the writer, the report, the CLI.

When STATE goes out is decided in two places, both reached through public SDK hooks: the
:class:`.reader.ErpReader` hands each STATE message to the target instead of the SDK, and after
each RECORD asks the target whether to flush (a batch was just handed to the writer, or
``flush_interval_seconds`` passed). A flush drains every sink (SDK), so every row read before
the STATE is in a submitted batch, and hands the STATE to :class:`.writer.ErpWriter`, which
emits it once those batches are committed. The SDK never sees a STATE, so it never writes one.
Before an ACTIVATE_VERSION reaches the SDK, every sink is drained too, so the marking it asks
for follows every row of the listing (also rows a sink replaced by a grown SCHEMA still holds).

The target owns the writer and hands it to its sinks through the sink class it gives the SDK;
no sink calls the target.
"""

from __future__ import annotations

import copy
import json
import sys
import time
import typing as t
from functools import cached_property
from pathlib import Path

import psycopg2
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.exceptions import (
    InvalidInputLine,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)
from singer_sdk.helpers.capabilities import CapabilitiesEnum, PluginCapabilities
from typing_extensions import override

from .errors import ErpError, TooManyFailuresError
from .reader import ErpReader
from .report import Report
from .sinks import ErpSink
from .writer import ErpWriter, WriterSettings

if t.TYPE_CHECKING:
    from psycopg2.extensions import connection
    from singer_sdk.sinks import Sink

__all__ = ["ErpReader", "TargetTshPostgres", "TooManyFailuresError", "main"]


class TargetTshPostgres(Target):
    """Upserts Zoho items, price lists and customers into the TSH ERP's PostgreSQL."""

    name = "target-tsh-postgres"
    default_sink_class = ErpSink
    message_reader_class = ErpReader
    # ACTIVATE_VERSION marks items a complete listing lacks inactive (:mod:`.reconcile`).
    capabilities: t.ClassVar[list[CapabilitiesEnum]] = [
        *Target.capabilities,
        PluginCapabilities.ACTIVATE_VERSION,
    ]

    config_jsonschema = th.PropertiesList(
        th.Property(
            "url",
            th.StringType,
            secret=True,
            description="Connection URL, e.g. postgresql://user:pass@host:5432/erp "
            "(instead of host/port/database/user/password).",
        ),
        th.Property("host", th.StringType, default="localhost", description="Server host."),
        th.Property("port", th.IntegerType, default=5432, description="Server port."),
        th.Property("database", th.StringType, description="Database name."),
        th.Property("user", th.StringType, description="User name."),
        th.Property("password", th.StringType, secret=True, description="Password."),
        th.Property(
            "sslmode",
            th.StringType,
            default="prefer",
            description="libpq sslmode: disable, prefer, require, verify-full...",
        ),
        th.Property("schema", th.StringType, default="public", description="Schema of the tables."),
        th.Property(
            "create_tables",
            th.BooleanType,
            default=True,
            description="Create products, product_prices and customers when missing.",
        ),
        th.Property(
            "with_stock_only",
            th.BooleanType,
            default=False,
            description="Skip items without stock on hand (counted as skipped).",
        ),
        th.Property(
            "batch_size_rows",
            th.IntegerType,
            default=5_000,
            description="Rows per batch statement.",
        ),
        th.Property(
            "max_failed_rows",
            th.IntegerType,
            default=0,
            description="Rows the database may refuse (constraint, row-level security, value "
            "out of range) as accepted losses: STATE moves past them and the run exits 0. "
            "Beyond it every other row is still committed, but no further STATE is emitted "
            "(the next run reads the refused rows again) and the run exits 1.",
        ),
        th.Property(
            "write_retry_seconds",
            th.IntegerType,
            default=120,
            description="How long a batch hit by a transient error (lock or statement "
            "timeout, deadlock, serialization failure, lost connection) is retried, with "
            "backoff, before the run fails (0: no retries).",
        ),
        th.Property(
            "flush_interval_seconds",
            th.IntegerType,
            default=60,
            description="Longest time rows wait in memory: every interval the buffered rows "
            "are written and STATE is emitted (STATE also follows every committed batch).",
        ),
        th.Property(
            "report_path", th.StringType, description="Also write the JSON summary to this file."
        ),
        th.Property(
            "validate_records",
            th.BooleanType,
            default=False,
            description="Also validate records against their JSON Schema (slow).",
        ),
    ).to_dict()

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        """Hook the STATE and flush decisions into the reader (see the module docstring)."""
        super().__init__(*args, **kwargs)
        self._received_state: dict[str, t.Any] | None = None
        self._flush_seconds = float(self.config.get("flush_interval_seconds", 60))
        self._next_flush = time.monotonic() + self._flush_seconds
        reader = self.message_reader
        if isinstance(reader, ErpReader):
            reader.state_handler = self.receive_state
            reader.after_record = self.after_record
            reader.before_activate_version = self.drain_all
            reader.on_error = self.abort

    @property  # type: ignore[explicit-override]  # mypy misses @override on a getter+setter pair
    @override
    def max_parallelism(self) -> int:
        """One connection, one transaction at a time."""
        return 1

    @max_parallelism.setter
    @override
    def max_parallelism(self, new_value: int) -> None:
        self._max_parallelism = new_value

    def receive_state(self, state: dict[str, t.Any]) -> None:
        """Keep the latest STATE until the rows read before it are committed (:meth:`flush`)."""
        self._received_state = state

    def after_record(self) -> None:
        """Flush after each batch handed to the writer, and every ``flush_interval_seconds``."""
        if self.writer.take_unstated_batches() or time.monotonic() >= self._next_flush:
            self.flush()

    def flush(self) -> None:
        """Hand every buffered row to the writer (SDK drain), then the STATE that follows them.

        The writer emits that STATE once every batch submitted before it is committed.
        """
        self.drain_all()
        self._next_flush = time.monotonic() + self._flush_seconds
        if self._received_state is not None:
            self.writer.state(copy.deepcopy(self._received_state))

    @override
    def get_sink_class(self, stream_name: str) -> type[Sink]:
        """The sink class, handing its batches to this target's writer."""
        return self._sink_class

    @cached_property
    def _sink_class(self) -> type[ErpSink]:
        return ErpSink.writing_to(self.writer)

    @cached_property
    def writer(self) -> ErpWriter:
        """The owner of the connection, the writes, their results and STATE."""
        config = self.config
        settings = WriterSettings(
            schema=str(config.get("schema") or "public"),
            create_tables=bool(config.get("create_tables", True)),
            max_failed_rows=int(config.get("max_failed_rows", 0)),
            retry_seconds=float(config.get("write_retry_seconds", 120)),
        )
        return ErpWriter(self._connect, settings, Report(), self.logger, _write_state)

    @property
    def report(self) -> Report:
        """Counters of this run."""
        return self.writer.report

    def _connect(self) -> connection:
        config = self.config
        if config.get("url"):
            return psycopg2.connect(config["url"], connect_timeout=15)
        return psycopg2.connect(
            host=config.get("host"),
            port=config.get("port"),
            dbname=config.get("database"),
            user=config.get("user"),
            password=config.get("password"),
            sslmode=config.get("sslmode", "prefer"),
            connect_timeout=15,
        )

    def abort(self, error: BaseException | None = None) -> None:
        """On a fatal error: commit the batch in flight (its rows were read), then close.

        SIGTERM/SIGINT end the run with ``SystemExit(0)`` after the SDK drained every sink
        (``_handle_termination``): then the last STATE is handed over too, as at the end of input.
        """
        graceful = isinstance(error, SystemExit) and error.code in (0, None)
        try:
            if graceful and self._received_state is not None:
                self.writer.state(copy.deepcopy(self._received_state))
            self.writer.close()
        except Exception as exc:  # noqa: BLE001 - the first error is the one reported
            self.logger.warning("The batch in flight also failed: %s", exc)

    @override
    def process_endofpipe(self) -> None:
        """Drain (SDK), hand over the last STATE, commit, print the report, close.

        Then apply ``max_failed_rows``.
        """
        try:
            super().process_endofpipe()
            if self._received_state is not None:
                self.writer.state(copy.deepcopy(self._received_state))
            self.writer.close()
        except BaseException:
            self.abort()
            raise
        line = self.report.to_json()
        sys.stderr.write(line + "\n")
        if self.config.get("report_path"):
            Path(self.config["report_path"]).write_text(line + "\n")
        limit = int(self.config.get("max_failed_rows", 0))
        if self.report.failed > limit:
            raise TooManyFailuresError(_too_many_failures(self.report, limit))


def _too_many_failures(report: Report, limit: int) -> str:
    """The one line a run with too many refused rows ends with: the first refusal, named."""
    first = report.first_error or {}
    return (
        f"stream {first.get('stream')!r}: {first.get('table')} {first.get('zoho_id')} refused, "
        f"column {first.get('field')}, value {first.get('value')}: {first.get('error')} "
        f"({report.failed} rows refused, max_failed_rows is {limit}; the other rows were "
        "committed, STATE stops before the refused ones)"
    )


def _write_state(state: dict[str, t.Any]) -> None:
    """Emit one STATE line, as the SDK's targets do (the state value itself, as JSON)."""
    sys.stdout.write(json.dumps(state) + "\n")
    sys.stdout.flush()


_ONE_LINE_ERRORS = (
    ErpError,
    InvalidInputLine,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)


def main() -> None:
    """Console entry point: bad input or refused rows end as one line and exit code 1.

    The batch in flight still commits before the process exits (see :mod:`.writer`).
    """
    try:
        TargetTshPostgres.cli()
    except _ONE_LINE_ERRORS as exc:
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"target-tsh-postgres: error: {message}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
