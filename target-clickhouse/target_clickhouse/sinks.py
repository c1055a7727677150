"""One sink per stream: creates or evolves its table, buffers records, inserts them in batches.

Two ways to load, chosen per stream when its table is set up:

* **raw** (the default): each record arrives as its raw JSON text and is spooled to a batch file;
  ClickHouse parses, converts and checks it (:mod:`target_clickhouse.rawload`). Python never
  builds a field, so this runs at the engine's speed.
* **dicts**: records arrive as dicts (``validate_records``, ``add_record_metadata``, or stream
  maps and flattening, which all work on dicts) and are converted column by column in Python.

A batch is inserted at once (tens of thousands of rows, bounded by rows and by bytes).

Where each guarantee lives:

* **STATE only after its rows are written**: the SDK writes STATE only after every sink has
  drained. A drain returns only once ClickHouse acknowledged the insert, and a sink counts the
  rows of its insert in flight in :attr:`ClickHouseSink.current_size`, so the SDK drains (waits
  for) it too.
* **A deletion wins**: here, for any tap (:meth:`ClickHouseSink._versions` and
  :mod:`.rawload`): a record with ``_sdc_deleted_at`` gets a version one microsecond after its
  deletion instant, so it beats every edit up to that instant, even one of the same second.
* **Each value is parsed once**: by ClickHouse on the raw path, by :mod:`.convert` on the dict
  path (the SDK's own date-time parsing is skipped: :meth:`ClickHouseSink._validate_and_parse`).
* **Transient failures are retried** with the same deduplication token (:func:`transient`).
"""

from __future__ import annotations

import contextlib
import hashlib
import tempfile
import threading
import time
import typing as t
from functools import cached_property
from operator import itemgetter
from pathlib import Path

import msgspec
from clickhouse_connect.driver.exceptions import DatabaseError, OperationalError
from singer_sdk.exceptions import MissingKeyPropertiesError
from singer_sdk.sinks import BatchSink
from typing_extensions import override

from . import convert, ddl, rawload
from .convert import BadValueError, convert_column, converter
from .errors import BadRecordError

if t.TYPE_CHECKING:
    from .target import TargetClickHouse

__all__ = ["BadRecordError", "ClickHouseSink", "transient"]

DELETED_AT = "_sdc_deleted_at"
SIZE_SAMPLE_EVERY = 500
INSERT_TRIES = 3
#: ClickHouse error codes a later attempt of the same insert can get past.
TRANSIENT_CODES = frozenset(
    {
        159,  # TIMEOUT_EXCEEDED
        160,  # TOO_SLOW
        164,  # READONLY (a replica restarting)
        202,  # TOO_MANY_SIMULTANEOUS_QUERIES
        203,  # NO_FREE_CONNECTION
        209,  # SOCKET_TIMEOUT
        210,  # NETWORK_ERROR
        236,  # ABORTED
        241,  # MEMORY_LIMIT_EXCEEDED
        242,  # TABLE_IS_READ_ONLY
        252,  # TOO_MANY_PARTS
        279,  # ALL_CONNECTION_TRIES_FAILED
        285,  # TOO_FEW_LIVE_REPLICAS
        319,  # UNKNOWN_STATUS_OF_INSERT
        373,  # SESSION_IS_LOCKED
        394,  # QUERY_WAS_CANCELLED
        425,  # SYSTEM_ERROR
        999,  # KEEPER_EXCEPTION
    }
)
#: The SDK's record metadata properties (``add_record_metadata``), ``_sdc_deleted_at`` aside.
SDC_METADATA = frozenset(
    {
        "_sdc_extracted_at",
        "_sdc_received_at",
        "_sdc_batched_at",
        "_sdc_sequence",
        "_sdc_table_version",
        "_sdc_sync_started_at",
    }
)
SPOOL_BUFFER = 1 << 20  # large writes: one system call per ~600 records, not per 5


class ClickHouseSink(BatchSink):
    """Loads one stream into ``<table_prefix><stream>``."""

    MAX_SIZE_DEFAULT = 50_000

    def __init__(self, target: TargetClickHouse, *args: t.Any, **kwargs: t.Any) -> None:
        """Prepare the buffer; the table is created in :meth:`setup`."""
        self._target = target
        super().__init__(target, *args, **kwargs)
        self._buffer: list[dict[str, t.Any]] = []
        self._row_bytes = 0
        self._insert_columns: list[tuple[str, str]] = []
        self._insert_sources: list[str] = []  # the record property of each insert column
        self._spec: ddl.TableSpec | None = None
        self._plan: rawload.LoadPlan | None = None
        self._spool: t.BinaryIO | None = None
        self._spool_name = ""
        self._spool_rows = 0
        self._spool_bytes = 0
        self._row_limit = self._byte_limit = 0
        self._pending: _BackgroundInsert | None = None
        self._bookmark: str | None = None

    # ------------------------------------------------------------------ settings
    @property
    def target(self) -> TargetClickHouse:
        """The target owning this sink."""
        return self._target

    @property
    @override
    def max_size(self) -> int:
        """Rows per insert (``batch_size_rows``)."""
        return int(self.config.get("batch_size_rows") or self.MAX_SIZE_DEFAULT)

    @property
    @override
    def is_full(self) -> bool:
        """Full by rows, or by the estimated bytes of the buffer (``batch_size_bytes``)."""
        limit = int(self.config.get("batch_size_bytes") or 64 * 1024 * 1024)
        if self._spool_rows:
            return self._spool_rows >= self.max_size or self._spool_bytes >= limit
        if len(self._buffer) >= self.max_size:
            return True
        return self._row_bytes * len(self._buffer) >= limit

    @property
    @override
    def current_size(self) -> int:
        """Rows not yet acknowledged: buffered, spooled, or in the insert in flight.

        Counting the insert in flight makes the SDK drain this sink (wait for that insert)
        before it writes STATE, even when nothing new is buffered.
        """
        pending = self._pending
        return len(self._buffer) + self._spool_rows + (pending.rows if pending else 0)

    @property
    def loads_raw(self) -> bool:
        """Whether records can skip Python and be parsed by ClickHouse (see module docstring)."""
        return self._plan is not None and not self.validate_schema and not self._stores_metadata

    @cached_property
    def _stores_metadata(self) -> bool:
        """``add_record_metadata``: the ``_sdc_*`` columns are stored too."""
        return bool(self.config.get("add_record_metadata", False))

    @property
    @override
    def validate_schema(self) -> bool:
        """JSON Schema validation is opt-in (``validate_records``): conversion checks types."""
        return bool(self.config.get("validate_records", False))

    @property
    @override
    def include_sdc_metadata_properties(self) -> bool:
        """Always on for the dict path: it is how the SDK keeps ``_sdc_deleted_at`` in records.

        The other ``_sdc_*`` properties become columns only with ``add_record_metadata``
        (:meth:`_stored_properties`).
        """
        return True

    # ------------------------------------------------------------------ SDK hooks
    @override
    def _validate_and_parse(self, record: dict[str, t.Any]) -> dict[str, t.Any]:
        """Validate only when asked; values are parsed once, per column, at insert time.

        The one private SDK member target-clickhouse overrides: the SDK's version also turns
        every date-time string into a ``datetime`` that :mod:`.convert` would turn into
        microseconds again, and there is no public hook to skip it. The SDK range is pinned in
        ``pyproject.toml``; ``tests/unit/target_clickhouse/test_sdk_assumptions.py`` fails when
        the SDK stops calling this member or changes what it does.
        """
        if self._validator is not None:
            self._validator.validate(record)
        return record

    def _stored_properties(self) -> dict[str, t.Any]:
        """The properties that become columns: the tap's, plus the SDK's metadata if asked.

        ``_sdc_deleted_at`` is a column when the tap's schema has it (that is how deletions
        arrive) or with ``add_record_metadata``.
        """
        tap_schema = self.original_schema["properties"]
        return {
            name: prop
            for name, prop in self.schema["properties"].items()
            if self._stores_metadata
            or (name not in SDC_METADATA and (name != DELETED_AT or name in tap_schema))
        }

    @override
    def setup(self) -> None:
        """Create the table, or add and widen its columns to fit this schema."""
        config = self.config
        keys = tuple(self.key_properties or ())
        properties = self._stored_properties()
        wanted = ddl.column_types(
            {"properties": properties},
            keys,
            all_strings=bool(config.get("all_strings", False)),
            json_type="JSON" if config.get("json_as") == "json" else "String",
        )
        if DELETED_AT in properties and not config.get("all_strings"):
            wanted[DELETED_AT] = ddl.nullable(ddl.DATETIME_TYPE)
        spec = ddl.TableSpec(
            database=config.get("database") or "default",
            table=ddl.table_name(config.get("table_prefix") or "", self.stream_name),
            columns=wanted,
            keys=tuple(ddl.column_name(k) for k in keys),
            cluster=config.get("cluster"),
        )
        self.target.claim_table(spec.database, spec.table, self)
        self._spec = spec
        actual = self.target.schema_manager.ensure_table(spec)
        self._insert_columns = [(name, actual[name]) for name in wanted]
        sources = {ddl.column_name(p): p for p in properties}
        self._insert_sources = [sources.get(name, name) for name in wanted]
        self._bookmark = next(
            (
                ddl.column_name(b)
                for b in self.target.bookmark_properties(self.stream_name)
                if ddl.column_name(b) in actual
            ),
            None,
        )
        self._plan = rawload.LoadPlan(
            spec=spec,
            columns=tuple(
                rawload.Column(
                    name=name,
                    ch_type=ch_type,
                    key=name in spec.keys,
                    json_text=bool(
                        {"object", "array"} & set(ddl.json_types(properties.get(prop, {})))
                    ),
                    source="" if prop == name else prop,
                )
                for (name, ch_type), prop in zip(
                    self._insert_columns, self._insert_sources, strict=True
                )
            ),
            bookmark=self._bookmark,
        )

    # ------------------------------------------------------------------ records
    @override
    def process_record(self, record: dict[str, t.Any], context: dict[str, t.Any]) -> None:
        """Buffer the record; sample its size now and then to bound the buffer by bytes."""
        buffer = self._buffer
        if len(buffer) % SIZE_SAMPLE_EVERY == 0:
            sample = len(msgspec.json.encode(record, enc_hook=str))
            self._row_bytes = max(self._row_bytes, sample * 2)
        buffer.append(record)

    def add_raw_record(self, record: msgspec.Raw) -> bool:
        """Spool one record's raw JSON text to the batch file; True when the batch is full.

        The record is never parsed here: this is the whole per-record cost of the raw path.
        """
        spool = self._spool
        if spool is None:
            fd, name = tempfile.mkstemp(prefix="target-clickhouse-", suffix=".jsonl")
            spool = self._spool = open(  # noqa: PTH123, SIM115 - closed by start_drain
                fd, "wb", buffering=SPOOL_BUFFER
            )
            self._spool_name = name
            self._row_limit = self.max_size
            self._byte_limit = int(self.config.get("batch_size_bytes") or 64 * 1024 * 1024)
        spool.write(record)
        spool.write(b"\n")
        self._spool_rows += 1
        self._spool_bytes += len(record) + 1
        return self._spool_rows >= self._row_limit or self._spool_bytes >= self._byte_limit

    def submit_batch(self) -> None:
        """Insert the full raw batch in the background while the next one is read.

        The engine works while Python reads on (chDB and HTTP both release the GIL). At most
        one insert per stream is in flight: the previous one must be acknowledged first, and
        the target waits for every one before it writes STATE (:meth:`wait_pending`).
        """
        self.wait_pending()
        context = self.start_drain()
        self._pending = _BackgroundInsert(self, context)
        self._pending.start()
        self.mark_drained()

    def wait_pending(self) -> None:
        """Wait for the insert in flight, if any; raise what it raised."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.join()
            if pending.error is not None:
                raise pending.error

    def discard_spool(self) -> None:
        """Remove the batch file of records that will not be inserted (the run is failing)."""
        spool, self._spool = self._spool, None
        if spool is not None:
            spool.close()
            with contextlib.suppress(OSError):
                Path(self._spool_name).unlink()
            self._spool_rows = self._spool_bytes = 0

    @override
    def start_drain(self) -> dict[str, t.Any]:
        """Hand the buffer (or the spooled batch file) to :meth:`process_batch`; start anew."""
        records, self._buffer = self._buffer, []
        context: dict[str, t.Any] = {"records": records}
        if self._spool is not None:
            self._spool.close()
            context["spool"], context["spool_rows"] = self._spool_name, self._spool_rows
            self._spool, self._spool_rows, self._spool_bytes = None, 0, 0
        return context

    @override
    def process_batch(self, context: dict[str, t.Any]) -> None:
        """Insert the batch: spooled raw records through ClickHouse, dicts column by column."""
        if threading.current_thread() is not self._pending:
            self.wait_pending()  # batches of a stream are acknowledged in order
        if "spool" in context:
            try:
                self._insert_raw(context["spool"], context["spool_rows"])
            finally:
                with contextlib.suppress(OSError):
                    Path(context["spool"]).unlink()
        records: list[dict[str, t.Any]] = context["records"]
        if not records or self._spec is None:
            return
        names = [name for name, _ in self._insert_columns]
        columns: list[list[t.Any]] = []
        try:
            for (name, ch_type), values in zip(
                self._insert_columns, _columns_of(records, self._insert_sources), strict=True
            ):
                columns.append(convert_column(name, ch_type, values))
        except BadValueError as exc:
            msg = f"stream {self.stream_name!r}: {exc}"
            raise BadRecordError(msg) from None
        settings: dict[str, t.Any] = {}
        if not self._spec.keys:  # the same rows give the same token, in this run or the next
            digest = hashlib.blake2b(msgspec.json.encode(columns, enc_hook=str), digest_size=16)
            settings["insert_deduplication_token"] = f"{self._spec.table}-{digest.hexdigest()}"
        deleted = [0 if r.get(DELETED_AT) is None else 1 for r in records]
        names += [ddl.VERSION_COLUMN, ddl.DELETED_COLUMN]
        columns += [self._versions(names, columns, deleted, records), deleted]
        self._insert(names, columns, settings)
        self.tally_record_written(len(records))

    def _insert_raw(self, path: str, rows: int) -> None:
        """Insert a spooled batch in one ``INSERT ... SELECT``; bad values become one line."""
        plan = self._plan
        assert plan is not None  # noqa: S101 - set in setup()
        settings: dict[str, t.Any] = {}
        if not plan.spec.keys:
            digest = hashlib.blake2b(digest_size=16)
            with Path(path).open("rb") as batch:
                for chunk in iter(lambda: batch.read(1 << 20), b""):
                    digest.update(chunk)
            settings["insert_deduplication_token"] = f"{plan.spec.table}-{digest.hexdigest()}"
        self.tally_record_read(rows)
        self.record_counter_metric.increment(rows)
        try:
            self._retrying(
                lambda: self.target.connection.insert_raw_batch(plan, path, settings), plan.spec
            )
        except DatabaseError as exc:
            if transient(exc):
                raise
            self._explain(plan, path, str(exc))
        self.tally_record_written(rows)

    def _explain(self, plan: rawload.LoadPlan, path: str, message: str) -> t.NoReturn:
        """Raise one line naming stream, column and value for an insert ClickHouse refused.

        ClickHouse names the failed check (so the column); the value is found by re-checking
        that column of the batch in Python. Input-format errors name the row and the key.
        """
        prefix = f"stream {self.stream_name!r}: "
        index = rawload.failed_column(message)
        if index is not None:
            column = plan.columns[index]
            value = _first_misfit(path, column)
            if value is _MISSING:
                msg = f"{prefix}a record is missing key property {column.name!r}"
                raise MissingKeyPropertiesError(msg)
            if value is _NOTHING:
                msg = f"{prefix}column {column.name!r} ({column.ch_type}): a value does not fit"
                raise BadRecordError(msg)
            raise BadRecordError(prefix + str(BadValueError(column.name, column.ch_type, value)))
        row, key = rawload.failed_row(message)
        if row is not None and key is not None:
            record = _record_at(path, row)
            value = record.get(key) if isinstance(record, dict) else record
            types = {c.prop: c.ch_type for c in plan.columns}
            raise BadRecordError(prefix + str(BadValueError(key, types.get(key, "?"), value)))
        if row is not None:
            msg = f"{prefix}record {row + 1} of the batch is not a JSON object"
            raise BadRecordError(msg)
        first = message.strip().splitlines()[0] if message.strip() else "unknown error"
        msg = f"{prefix}ClickHouse refused the batch: {first[:300]}"
        raise BadRecordError(msg)

    def _versions(
        self,
        names: list[str],
        columns: list[list[t.Any]],
        deleted: list[int],
        records: list[dict[str, t.Any]],
    ) -> list[int]:
        """Source version per row: the bookmark (e.g. ``Modified_Time``) in microseconds.

        Without a bookmark property (or value) the load time is the version. "A deletion wins"
        lives here, and in :meth:`.rawload.LoadPlan.select` (its SQL twin), for any tap: a
        deleted row's version is its deletion instant plus one microsecond, or its bookmark if
        that is later. So it beats a live version stamped in the same second, and a tombstone
        without a bookmark value still loses to a later edit (a record restored from the bin).
        """
        now = int(time.time() * 1_000_000)
        count = len(deleted)
        marks = (
            [_micros(v) for v in columns[names.index(self._bookmark)]]
            if self._bookmark is not None
            else [None] * count
        )
        versions = [now if m is None else m for m in marks]
        if any(deleted):
            deleted_at = (
                columns[names.index(DELETED_AT)]
                if DELETED_AT in names
                else [r.get(DELETED_AT) for r in records]
            )
            for i in range(count):
                if deleted[i]:
                    floor = now if self._bookmark is None else marks[i] or 0
                    instant = _micros(deleted_at[i])
                    versions[i] = max(floor, (now if instant is None else instant) + 1)
        return versions

    def _insert(
        self, names: list[str], columns: list[list[t.Any]], settings: dict[str, t.Any]
    ) -> None:
        spec = self._spec
        assert spec is not None  # noqa: S101 - set in setup()
        self._retrying(
            lambda: self.target.connection.insert(
                spec.table, spec.database, columns, names, settings
            ),
            spec,
        )

    def _retrying(self, insert: t.Callable[[], None], spec: ddl.TableSpec) -> None:
        """Run an insert, retrying network failures (the same deduplication token each time)."""
        for attempt in range(1, INSERT_TRIES + 1):
            try:
                insert()
            except Exception as exc:
                if attempt == INSERT_TRIES or not transient(exc):
                    raise
                self.logger.warning("Insert into %s failed (%s); retrying", spec.table, exc)
                time.sleep(attempt)
            else:
                return


def _columns_of(records: list[dict[str, t.Any]], names: list[str]) -> list[list[t.Any]]:
    """Transpose records into columns with C-level helpers (``itemgetter`` and ``zip``)."""
    if not names:
        return []
    getter = itemgetter(*names)
    try:
        rows = list(map(getter, records))
    except KeyError:  # some records lack some properties: fill them with None first
        template = dict.fromkeys(names)
        rows = [getter({**template, **record}) for record in records]
    if len(names) == 1:
        return [list(rows)]
    return [list(column) for column in zip(*rows, strict=True)]


class _BackgroundInsert(threading.Thread):
    """One batch's insert on its own thread; its error is raised by ``wait_pending``."""

    def __init__(self, sink: ClickHouseSink, context: dict[str, t.Any]) -> None:
        super().__init__(name=f"insert-{sink.stream_name}", daemon=True)
        self.sink = sink
        self.context = context
        self.rows: int = len(context["records"]) + int(context.get("spool_rows", 0))
        self.error: BaseException | None = None

    @override
    def run(self) -> None:
        try:
            self.sink.process_batch(self.context)
        except BaseException as exc:  # noqa: BLE001 - handed to the reading thread
            self.error = exc


_NOTHING = object()  # no misfit found
_MISSING = object()  # a key property absent from a record
_RECORD = msgspec.json.Decoder()


def _records(path: str) -> t.Iterator[t.Any]:
    with Path(path).open("rb") as batch:
        for line in batch:
            yield _RECORD.decode(line)


def _record_at(path: str, row: int) -> t.Any:
    for index, record in enumerate(_records(path)):
        if index == row:
            return record
    return None


def _first_misfit(path: str, column: rawload.Column) -> t.Any:
    """Re-check one column of a refused batch in Python: its first value that does not fit."""
    convert = converter(column.ch_type)
    for record in _records(path):
        if column.key and isinstance(record, dict) and column.prop not in record:
            return _MISSING
        value = record.get(column.prop) if isinstance(record, dict) else None
        if value is None:
            if column.key:
                return None
            continue
        try:
            convert(value)
        except (TypeError, ValueError, ArithmeticError):
            return value
    return _NOTHING


def _micros(value: object) -> int | None:
    """Microseconds (at least 0) of a converted bookmark or deletion value, None if it has none.

    Date-time columns hold integer microseconds already (:mod:`.convert`); a String column
    (``all_strings``) holds ISO text. The same rules as :func:`.rawload._micros`.
    """
    if type(value) is int:
        return max(value, 0)
    if isinstance(value, str):
        try:
            return max(convert.to_microseconds(value), 0)
        except ValueError:
            return None
    return None


def transient(exc: BaseException) -> bool:
    """True for failures a later attempt of the same insert can get past (network, overload).

    Decided by clickhouse-connect's exception types and ClickHouse's error codes: a server
    error carries its code (:data:`TRANSIENT_CODES`); without a code, an ``OperationalError``
    is a transport failure (connection refused or dropped, read timeout).
    """
    if isinstance(exc, (ConnectionError, TimeoutError)):
        return True
    if not isinstance(exc, DatabaseError):
        return False
    code = exc.code
    if code is not None:
        return code in TRANSIENT_CODES
    return isinstance(exc, OperationalError)
