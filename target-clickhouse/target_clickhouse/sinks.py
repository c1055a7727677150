"""One sink per stream: creates or evolves its table, buffers records, inserts them by column.

A batch is converted and inserted at once (tens of thousands of rows, bounded by rows and by an
estimate of bytes). The SDK writes STATE only after every sink has drained, and a drain returns
only once ClickHouse acknowledged the insert, so state never covers unwritten rows.
"""

from __future__ import annotations

import hashlib
import time
import typing as t
from datetime import UTC, datetime, timedelta
from operator import itemgetter

import msgspec
from singer_sdk.sinks import BatchSink

from . import ddl
from .convert import BadValueError, convert_column

if t.TYPE_CHECKING:
    from .target import TargetClickHouse

DELETED_AT = "_sdc_deleted_at"
EPOCH = datetime(1970, 1, 1)  # noqa: DTZ001 - naive UTC, as converted datetimes are
MICROSECOND = timedelta(microseconds=1)
SIZE_SAMPLE_EVERY = 500
INSERT_TRIES = 3


class BadRecordError(ValueError):
    """A record that cannot be stored: the message names stream, column and value."""


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
        self._spec: ddl.TableSpec | None = None

    # ------------------------------------------------------------------ settings
    @property
    def target(self) -> TargetClickHouse:
        """The target owning this sink."""
        return self._target

    @property
    def max_size(self) -> int:
        """Rows per insert (``batch_size_rows``)."""
        return int(self.config.get("batch_size_rows") or self.MAX_SIZE_DEFAULT)

    @property
    def is_full(self) -> bool:
        """Full by rows, or by the estimated bytes of the buffer (``batch_size_bytes``)."""
        if len(self._buffer) >= self.max_size:
            return True
        limit = int(self.config.get("batch_size_bytes") or 64 * 1024 * 1024)
        return self._row_bytes * len(self._buffer) >= limit

    @property
    def current_size(self) -> int:
        """Buffered rows."""
        return len(self._buffer)

    @property
    def validate_schema(self) -> bool:
        """JSON Schema validation is opt-in (``validate_records``): conversion checks types."""
        return bool(self.config.get("validate_records", False))

    # ------------------------------------------------------------------ SDK hooks
    def _remove_sdc_metadata_from_schema(self) -> None:
        """Keep ``_sdc_deleted_at``: it is how deletions arrive."""
        deleted = self.schema["properties"].get(DELETED_AT)
        super()._remove_sdc_metadata_from_schema()
        if deleted is not None:
            self.schema["properties"][DELETED_AT] = deleted

    def _remove_sdc_metadata_from_record(self, record: dict) -> None:
        """Keep ``_sdc_deleted_at``; drop the other ``_sdc`` keys."""
        deleted = record.get(DELETED_AT)
        super()._remove_sdc_metadata_from_record(record)
        if deleted is not None:
            record[DELETED_AT] = deleted

    def _validate_and_parse(self, record: dict) -> dict:
        """Validate only when asked; timestamps are parsed per column at insert time."""
        if self._validator is not None:
            self._validator.validate(record)
        return record

    def setup(self) -> None:
        """Create the table, or add and widen its columns to fit this schema."""
        config = self.config
        keys = tuple(self.key_properties or ())
        wanted = ddl.column_types(
            self.schema,
            keys,
            all_strings=bool(config.get("all_strings", False)),
            json_type="JSON" if config.get("json_as") == "json" else "String",
        )
        if DELETED_AT in self.schema["properties"] and not config.get("all_strings"):
            wanted[DELETED_AT] = ddl.nullable(ddl.DATETIME_TYPE)
        spec = ddl.TableSpec(
            database=config.get("database") or "default",
            table=ddl.table_name(config.get("table_prefix") or "", self.stream_name),
            columns=wanted,
            keys=keys,
            cluster=config.get("cluster"),
        )
        self._spec = spec
        actual = self.target.schema_manager.ensure_table(spec)
        self._insert_columns = [(name, actual[name]) for name in wanted]
        self._bookmark = next(
            (b for b in self.target.bookmark_properties(self.stream_name) if b in actual), None
        )

    # ------------------------------------------------------------------ records
    def process_record(self, record: dict, context: dict) -> None:  # noqa: ARG002
        """Buffer the record; sample its size now and then to bound the buffer by bytes."""
        buffer = self._buffer
        if len(buffer) % SIZE_SAMPLE_EVERY == 0:
            sample = len(msgspec.json.encode(record, enc_hook=str))
            self._row_bytes = max(self._row_bytes, sample * 2)
        buffer.append(record)

    def start_drain(self) -> dict:
        """Hand the buffer to :meth:`process_batch` and start a new one."""
        records, self._buffer = self._buffer, []
        return {"records": records}

    def process_batch(self, context: dict) -> None:
        """Convert the batch column by column and insert it in one statement."""
        records: list[dict[str, t.Any]] = context["records"]
        if not records or self._spec is None:
            return
        names = [name for name, _ in self._insert_columns]
        columns: list[list[t.Any]] = []
        try:
            for (name, ch_type), values in zip(
                self._insert_columns, _columns_of(records, names), strict=True
            ):
                columns.append(convert_column(name, ch_type, values))
        except BadValueError as exc:
            msg = f"stream {self.stream_name!r}: {exc}"
            raise BadRecordError(msg) from None
        deleted = [0 if r.get(DELETED_AT) is None else 1 for r in records]
        names += [ddl.VERSION_COLUMN, ddl.DELETED_COLUMN]
        columns += [self._versions(names, columns, deleted), deleted]
        settings: dict[str, t.Any] = {}
        if not self._spec.keys:
            digest = hashlib.blake2b(msgspec.json.encode(records, enc_hook=str), digest_size=16)
            settings["insert_deduplication_token"] = f"{self._spec.table}-{digest.hexdigest()}"
        self._insert(names, columns, settings)
        self.tally_record_written(len(records))

    def _versions(
        self, names: list[str], columns: list[list[t.Any]], deleted: list[int]
    ) -> list[int]:
        """Source version per row: the bookmark (e.g. ``Modified_Time``) in microseconds.

        A deletion gets its deletion instant plus one microsecond, so it beats a live version
        stamped in the same second. Without a bookmark property the load time is the version.
        """
        now = int(time.time() * 1_000_000)
        count = len(deleted)
        if self._bookmark is not None:
            base = [_as_version(v, now) for v in columns[names.index(self._bookmark)]]
        else:
            base = [now] * count
        if DELETED_AT in names and any(deleted):
            deleted_at = columns[names.index(DELETED_AT)]
            for i in range(count):
                if deleted[i]:
                    base[i] = max(base[i], _as_version(deleted_at[i], now) + 1)
        return base

    def _insert(self, names: list[str], columns: list[list[t.Any]], settings: dict) -> None:
        spec = self._spec
        assert spec is not None  # noqa: S101 - set in setup()
        for attempt in range(1, INSERT_TRIES + 1):
            try:
                self.target.connection.insert(spec.table, spec.database, columns, names, settings)
            except Exception as exc:
                if attempt == INSERT_TRIES or not _transient(exc):
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


def _as_version(value: t.Any, fallback: int) -> int:
    if isinstance(value, datetime):
        return (
            (value.replace(tzinfo=None) - EPOCH) // MICROSECOND
            if value.tzinfo is None
            else (value.astimezone(UTC).replace(tzinfo=None) - EPOCH) // MICROSECOND
        )
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    return fallback


def _transient(exc: Exception) -> bool:
    """Network-level failures are retried (with the same deduplication token)."""
    text = type(exc).__name__
    return "Operational" in text or "Timeout" in text or "Connection" in text
