"""target-tsh-postgres: settings, the ERP connection, the end-of-run report, the command line."""

from __future__ import annotations

import contextlib
import sys
import typing as t
from concurrent.futures import ThreadPoolExecutor
from functools import cached_property
from pathlib import Path

import msgspec
import psycopg2
from singer_sdk import Target
from singer_sdk import typing as th
from singer_sdk.contrib.msgspec import MsgSpecReader
from singer_sdk.exceptions import (
    InvalidInputLine,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
)

from . import erp
from .mapping import TABLES
from .report import Report
from .sinks import BadInputError, ErpSink

if t.TYPE_CHECKING:
    from psycopg2.extensions import connection

    from .mapping import Table


# Floats stay floats: prices and stock have far fewer than 15 significant digits, and str() of a
# float is its shortest round-trip form, so NUMERIC receives exactly the digits Zoho sent.
_DECODER = msgspec.json.Decoder()


class ErpReader(MsgSpecReader):
    """msgspec reader; a line that is not JSON becomes one short error (no traceback)."""

    def deserialize_json(self, line: str) -> dict:
        """Parse one line or raise InvalidInputLine naming what is wrong."""
        try:
            return _DECODER.decode(line)  # type: ignore[no-any-return]
        except msgspec.DecodeError as exc:
            msg = f"invalid JSON on input ({exc}): {line.strip()[:80]!r}"
            raise InvalidInputLine(msg) from None


class TooManyFailuresError(RuntimeError):
    """More rows failed than ``max_failed_rows`` allows (the others were committed)."""


_RUNNING: list[TargetTshPostgres] = []


class TargetTshPostgres(Target):
    """Upserts Zoho items, price lists and customers into the TSH ERP's PostgreSQL."""

    name = "target-tsh-postgres"
    default_sink_class = ErpSink
    message_reader_class = ErpReader

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
            description="Rows the database may refuse before the run exits non-zero "
            "(refused rows never stop the others from being committed).",
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
        """Register the instance so a failing run still finishes its in-flight batch."""
        super().__init__(*args, **kwargs)
        self._MAX_RECORD_AGE_IN_MINUTES = float(self.config.get("flush_interval_seconds", 300)) / 60
        _RUNNING.append(self)

    @property
    def max_parallelism(self) -> int:
        """One connection, one transaction at a time."""
        return 1

    @max_parallelism.setter
    def max_parallelism(self, new_value: int) -> None:
        self._max_parallelism = new_value

    @cached_property
    def report(self) -> Report:
        """Counters of this run."""
        return Report()

    @cached_property
    def schema(self) -> str:
        """Schema holding the ERP tables."""
        return str(self.config.get("schema") or "public")

    @cached_property
    def connection(self) -> connection:
        """The ERP connection; tables are created on first use when asked."""
        config = self.config
        if config.get("url"):
            conn = psycopg2.connect(config["url"], connect_timeout=15)
        else:
            conn = psycopg2.connect(
                host=config.get("host"),
                port=config.get("port"),
                dbname=config.get("database"),
                user=config.get("user"),
                password=config.get("password"),
                sslmode=config.get("sslmode", "prefer"),
                connect_timeout=15,
            )
        if config.get("create_tables", True):
            erp.create_tables(conn, self.schema, TABLES)
        return conn

    # ------------------------------------------------------------------ batch writer
    @cached_property
    def _writer(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-writer")

    def submit(self, sink: ErpSink, table: Table, rows: list, unique: list, data: t.Any) -> None:
        """Write a batch in the background, after the previous one finished (one in flight)."""
        self.wait_for_writes()

        def write() -> tuple:
            return (
                sink,
                table,
                rows,
                unique,
                erp.upsert_batch(self.connection, self.schema, table, unique, data),
            )

        self._pending = self._writer.submit(write)

    def wait_for_writes(self) -> None:
        """Block until the batch in flight is committed, and count it (re-raises its error)."""
        pending, self._pending = getattr(self, "_pending", None), None
        if pending is not None:
            sink, table, rows, unique, result = pending.result()
            sink.record_result(table, rows, unique, result)

    def _write_state_message(self, state: dict) -> None:
        """STATE only after every batch it covers is committed."""
        self.wait_for_writes()
        super()._write_state_message(state)

    def process_endofpipe(self) -> None:
        """Drain and emit state (SDK), then print the report and apply ``max_failed_rows``."""
        super().process_endofpipe()
        self.wait_for_writes()
        line = self.report.to_json()
        sys.stderr.write(line + "\n")
        if self.config.get("report_path"):
            Path(self.config["report_path"]).write_text(line + "\n")
        limit = int(self.config.get("max_failed_rows", 0))
        if self.report.failed > limit:
            msg = (
                f"{self.report.failed} rows were refused by the database (max_failed_rows is "
                f"{limit}); the other rows were committed"
            )
            raise TooManyFailuresError(msg)


_ONE_LINE_ERRORS = (
    BadInputError,
    TooManyFailuresError,
    InvalidInputLine,
    InvalidRecord,
    MissingKeyPropertiesError,
    RecordsWithoutSchemaException,
    psycopg2.OperationalError,
)


def main() -> None:
    """Console entry point: bad input or refused rows end as one line and exit code 1."""
    try:
        TargetTshPostgres.cli()
    except _ONE_LINE_ERRORS as exc:
        for target in _RUNNING:  # commit what was read before the error, as promised
            with contextlib.suppress(Exception):
                target.wait_for_writes()
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        sys.stderr.write(f"target-tsh-postgres: error: {message}\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
