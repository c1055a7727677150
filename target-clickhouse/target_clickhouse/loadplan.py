"""How a stream is loaded: its table's layout, and the SQL that turns record JSON into rows.

Both load paths end here. A batch of ``record`` objects (JSON text, one per line: the raw text as
the tap sent it, or a dict the SDK validated or mapped, encoded back to JSON) is read by
ClickHouse as ``JSONEachRow``. Every property is read as ``Nullable(String)`` (numbers keep their
exact JSON text) and converted by a strict expression, so that what cannot be stored stops the
insert instead of being rounded, wrapped or defaulted the way lenient input parsing would:

* decimals are parsed at a wider scale and must equal their value at the column's scale
  (``462.519`` into ``Decimal(18, 2)`` fails; it is never rounded), and must fit its precision;
* integers must fit ``Int64`` (no wrap-around); ``""`` is never 0;
* date-times must start with an ISO date and are parsed with any offset (``+05:30``, ``+0530``,
  ``Z``) into UTC; dates must be real calendar dates;
* a key property must be present and not null;
* objects and arrays in ``String`` columns are stored as the compact text the batch file holds
  (:mod:`.spool`), every number and string in them as the tap sent it.

Each check raises with a message naming the check's column index (``throwIf``), which
:func:`failed_column` reads back; :meth:`LoadPlan.misfit_query` then finds the first record of the
batch that fails that check, so the error can name the stream, column and value.

The version and the deletion flag are computed here too, and only here (the one place these
rules live, for every tap): the version is the bookmark property in microseconds (the load time
when there is none), and a deletion wins: its version is its deletion instant plus one
microsecond, or its bookmark if that is later, so it beats an edit made in the same second, and a
record restored after its deletion still wins over it.
No I/O here: every statement is unit-tested as text.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass
from typing import Any

from . import ddl

DELETED_AT = "_sdc_deleted_at"
CHECK_TAG = "target-clickhouse check #"
_CHECK_RE = re.compile(re.escape(CHECK_TAG) + r"(\d+)")
_NOW_MICROS = "toUnixTimestamp64Micro(now64(6))"

#: Input settings for every fast insert. Numbers, bools, objects and arrays are read as their
#: JSON text into the String input columns; properties the table does not have are skipped.
INPUT_SETTINGS: dict[str, int | str] = {
    "input_format_json_read_numbers_as_strings": 1,
    "input_format_json_read_bools_as_strings": 1,
    "input_format_json_read_objects_as_strings": 1,
    "input_format_json_read_arrays_as_strings": 1,
    "input_format_skip_unknown_fields": 1,
    "input_format_null_as_default": 1,
    "date_time_input_format": "best_effort",
    # Any nesting a tap sends is kept as text (the default stops at 1,000 levels).
    "input_format_json_max_depth": 100_000,
}


sql_string = ddl.literal  # one quoting rule for every literal


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


@dataclass(frozen=True)
class Layout:
    """What a stream asks of its table: the target's settings applied to one SCHEMA message."""

    stream: str
    properties: dict[str, Any]  # the properties that become columns, by property name
    keys: tuple[str, ...]
    bookmark_properties: tuple[str, ...] = ()
    database: str = "default"
    all_strings: bool = False
    json_type: str = "String"
    cluster: str | None = None

    def columns(self) -> dict[str, str]:
        """Full column types by column name (keys never Nullable)."""
        wanted = ddl.column_types(
            {"properties": self.properties},
            self.keys,
            all_strings=self.all_strings,
            json_type=self.json_type,
        )
        if DELETED_AT in self.properties and not self.all_strings:
            wanted[DELETED_AT] = ddl.nullable(ddl.DATETIME_TYPE)
        return wanted

    @property
    def renames(self) -> dict[str, str]:
        """Property -> the JSON key it is written under, for names ``JSONEachRow`` cannot read.

        Only the empty name: its records go through Python, which writes them under a key
        that no other property of the stream has.
        """
        if "" not in self.properties:
            return {}
        key = ddl.SOURCE_PREFIX
        while key in self.properties:
            key += "_"
        return {"": key}

    def spec(self, table: str) -> ddl.TableSpec:
        """The table this layout asks for, named ``table``."""
        return ddl.TableSpec(
            database=self.database,
            table=table,
            columns=self.columns(),
            keys=tuple(ddl.column_name(k) for k in self.keys),
            cluster=self.cluster,
            owner=self.stream,
        )


def stored_properties(
    schema: dict[str, Any], tap_schema: dict[str, Any], *, store_metadata: bool
) -> dict[str, Any]:
    """The properties that become columns: the tap's, plus the SDK's metadata if asked.

    ``schema`` is the stream's schema as the SDK extended it, ``tap_schema`` as the tap sent it.
    ``_sdc_deleted_at`` is a column when the tap's schema has it (that is how deletions arrive)
    or with ``add_record_metadata``.
    """
    sent = tap_schema.get("properties", {})
    return {
        name: prop
        for name, prop in schema.get("properties", {}).items()
        if store_metadata or (name not in SDC_METADATA and (name != DELETED_AT or name in sent))
    }


@dataclass(frozen=True)
class Column:
    """One table column fed from the record property of the same name."""

    name: str
    ch_type: str  # the table's actual type
    key: bool = False
    source: str = ""  # the record property, when it differs from the column name

    @property
    def prop(self) -> str:
        """The record property (JSON key) this column is read from."""
        return self.source or self.name


Converted = tuple[str, str | None]  # (value expression, "cannot be stored" expression)


def _int64(q: str, _base: str) -> Converted:
    text = f"if(position({q}, '.') > 0, replaceRegexpOne({q}, '\\\\.0+$', ''), {q})"
    value = f"toInt64OrNull({text})"  # NULL (refused) when it does not fit Int64: no wrap-around
    return value, f"isNotNull({q}) AND isNull({value})"


def _float64(q: str, _base: str) -> Converted:
    value = f"toFloat64OrNull({q})"
    return value, f"isNotNull({q}) AND isNull({value})"


def _bool(q: str, _base: str) -> Converted:
    value = f"multiIf(lower({q}) IN ('true', '1'), true, lower({q}) IN ('false', '0'), false, NULL)"
    return value, f"isNotNull({q}) AND isNull({value})"


DECIMAL128_DIGITS = 38


def _decimal(q: str, base: str) -> Converted:
    """Exact or refused: the text is parsed at a wider scale and must equal its stored value.

    ``toDecimal*OrNull`` drops digits beyond the scale it parses at, so the wider scale is what
    makes "more digits than the column keeps" visible. Decimal128 is several times cheaper than
    Decimal256; it is used for texts short enough that every fraction digit fits its wider
    scale (and without an exponent), Decimal256 for the rest.
    """
    precision, scale = (int(x) for x in base[8:-1].split(","))
    integer_digits = precision - scale
    wide256 = f"toDecimal256OrNull({q}, {ddl.MAX_DECIMAL_PRECISION - integer_digits})"
    exact256 = f"accurateCastOrNull({wide256}, {sql_string(base)})"
    wide_scale = DECIMAL128_DIGITS - integer_digits
    if wide_scale <= scale:  # no room for a wider scale in Decimal128
        return exact256, f"isNotNull({q}) AND (isNull({exact256}) OR {exact256} != {wide256})"
    wide128 = f"toDecimal128OrNull({q}, {wide_scale})"
    value = f"accurateCastOrNull({wide128}, {sql_string(base)})"
    short = f"length({q}) <= {wide_scale} AND position({q}, 'e') = 0 AND position({q}, 'E') = 0"
    exact = f"if({short}, {value} = {wide128}, {exact256} = {wide256})"
    return value, f"isNotNull({q}) AND (isNull({value}) OR NOT ifNull({exact}, false))"


def _datetime(q: str, _base: str) -> Converted:
    value = (
        f"if(match({q}, '^\\\\d{{4}}-\\\\d{{2}}-\\\\d{{2}}'), "
        f"parseDateTime64BestEffortOrNull({q}, 6, 'UTC'), NULL)"
    )
    return value, f"isNotNull({q}) AND isNull({value})"


def _date(q: str, _base: str) -> Converted:
    day = f"substring({q}, 1, 10)"
    value = f"toDate32OrNull({day})"  # must print back as the same day: no 2024-02-30
    # Anything after the day must make a date-time: "2024-02-29T10:00:00Z", not "2024-02-29x".
    rest = f"length({q}) = 10 OR isNotNull(parseDateTime64BestEffortOrNull({q}, 6, 'UTC'))"
    return value, (
        f"isNotNull({q}) AND (isNull({value}) OR toString({value}) != {day} OR NOT ({rest}))"
    )


_BY_FAMILY: dict[str, t.Callable[[str, str], Converted]] = {
    "Int64": _int64,
    "Float64": _float64,
    "Bool": _bool,
    "Decimal": _decimal,
    "DateTime64": _datetime,
    "Date32": _date,
}


def _converted(column: Column) -> Converted:
    """How one column's value is computed from its JSON text, and when it cannot be stored."""
    q = ddl.quote(column.prop)
    base = ddl.strip_nullable(column.ch_type)
    family = base.split("(", 1)[0]
    if family in _BY_FAMILY:
        return _BY_FAMILY[family](q, base)
    # String (an object or array: its compact JSON text, see .spool), JSON, or any other
    # type ClickHouse casts the text into.
    return q, None


def _micros(column: Column, value: str) -> str | None:
    """Microseconds since the epoch of a converted bookmark value, if it has a time."""
    base = ddl.strip_nullable(column.ch_type)
    if base.startswith("DateTime64"):
        return f"toUnixTimestamp64Micro({value})"
    if base == "Int64":
        return f"if({value} >= 0, {value}, NULL)"
    if base == "String":
        return f"toUnixTimestamp64Micro(parseDateTime64BestEffortOrNull({value}, 6, 'UTC'))"
    return None


@dataclass(frozen=True)
class LoadPlan:
    """How one table is loaded from raw records."""

    spec: ddl.TableSpec
    columns: tuple[Column, ...]
    bookmark: str | None = None

    @classmethod
    def build(cls, spec: ddl.TableSpec, layout: Layout, actual: dict[str, str]) -> LoadPlan:
        """The plan loading ``layout``'s properties into a table whose columns are ``actual``."""
        wanted = layout.columns()
        renames = layout.renames
        sources = {ddl.column_name(p): p for p in layout.properties}
        columns = tuple(
            Column(
                name=name,
                ch_type=actual[name],
                key=name in spec.keys,
                source=_json_key(name, sources.get(name, name), renames),
            )
            for name in wanted
        )
        bookmark = next(
            (
                ddl.column_name(b)
                for b in layout.bookmark_properties
                if ddl.column_name(b) in actual and ddl.column_name(b) in wanted
            ),
            None,
        )
        return cls(spec=spec, columns=columns, bookmark=bookmark)

    def structure(self) -> str:
        """The input structure: every property (and ``_sdc_deleted_at``) as JSON text."""
        names = [c.prop for c in self.columns]
        types = [
            c.ch_type if ddl.strip_nullable(c.ch_type).startswith("JSON") else "Nullable(String)"
            for c in self.columns
        ]
        if DELETED_AT not in names:  # read to mark deletions even when the table lacks it
            names.append(DELETED_AT)
            types.append("Nullable(String)")
        return ", ".join(f"{ddl.quote(n)} {t}" for n, t in zip(names, types, strict=True))

    def select(self) -> str:
        """Column values, then ``_sdc_version`` and ``_sdc_is_deleted`` (carrying the checks)."""
        values: list[str] = []
        checks: list[str] = []
        by_name: dict[str, str] = {}
        for index, column in enumerate(self.columns):
            value, bad = _converted(column)
            if column.key:
                bad = f"isNull({ddl.quote(column.prop)})" + (f" OR ({bad})" if bad else "")
                value = f"assumeNotNull({value})"
            by_name[column.name] = value
            values.append(value)
            if bad:
                checks.append(f"throwIf({bad}, {sql_string(f'{CHECK_TAG}{index}')})")
        deleted_at = ddl.quote(DELETED_AT)
        base = floor = _NOW_MICROS  # the version of a live row, and the least of a deleted one
        if self.bookmark is not None:
            column = next(c for c in self.columns if c.name == self.bookmark)
            micros = _micros(column, by_name[column.name])
            if micros is not None:
                # ifNull first: greatest() skips a NULL argument in recent ClickHouse versions
                base = f"greatest(ifNull({micros}, {_NOW_MICROS}), 0)"
                floor = f"greatest(ifNull({micros}, 0), 0)"
        deleted_micros = (
            f"ifNull(toUnixTimestamp64Micro(parseDateTime64BestEffortOrNull("
            f"toString({deleted_at}), 6, 'UTC')), {_NOW_MICROS})"
        )
        deleted_version = f"greatest({floor}, {deleted_micros} + 1)"
        version = f"toUInt64(if(isNotNull({deleted_at}), {deleted_version}, {base}))"
        is_deleted = " + ".join([f"toUInt8(isNotNull({deleted_at}))", *checks])
        return ",\n  ".join([*values, version, f"toUInt8({is_deleted})"])

    def _insert_head(self) -> str:
        names = [c.name for c in self.columns] + [ddl.VERSION_COLUMN, ddl.DELETED_COLUMN]
        listed = ", ".join(ddl.quote(n) for n in names)
        return f"INSERT INTO {self.spec.qualified} ({listed})\nSELECT\n  {self.select()}\n"

    def insert_from_file(self, path: str) -> str:
        """The insert for the embedded engine, reading the batch from a local file."""
        return f"{self._insert_head()}FROM {self.file_source(path)}"

    def insert_from_body(self) -> str:
        """The insert for a server: the batch is the request body (``input()``)."""
        structure = sql_string(self.structure())
        return f"{self._insert_head()}FROM input({structure})\nFORMAT JSONEachRow"

    def checked_columns(self) -> list[int]:
        """Indexes of the columns whose values are checked (keys, and every converted type)."""
        return [i for i, c in enumerate(self.columns) if c.key or _converted(c)[1] is not None]

    def misfit_query(self, index: int, source: str) -> str:
        """(0-based line, JSON text) of the first value of ``source`` failing column ``index``.

        ``source`` is a ``file(...)`` or an external table read with :meth:`structure`; the
        query must run single-threaded (``MISFIT_SETTINGS``) so line numbers follow the file.
        """
        column = self.columns[index]
        _, bad = _converted(column)
        q = ddl.quote(column.prop)
        if column.key:
            bad = f"isNull({q})" + (f" OR ({bad})" if bad else "")
        return (  # identifiers quoted, the file name a literal: no value pasted in
            f"SELECT line, text FROM (SELECT rowNumberInAllBlocks() AS line, "  # noqa: S608
            f"toString({q}) AS text, {bad} AS bad FROM {source}) WHERE bad LIMIT 1"
        )

    def file_source(self, path: str) -> str:
        """A batch file on the engine's own disk as a table (the embedded engine)."""
        return f"file({sql_string(path)}, 'JSONEachRow', {sql_string(self.structure())})"


def _json_key(column: str, prop: str, renames: dict[str, str]) -> str:
    """``Column.source``: the JSON key a column is read from, if not the column's own name."""
    key = renames.get(prop, prop)
    return "" if key == column else key


#: Settings for :meth:`LoadPlan.misfit_query`: one thread, no parallel parsing, so the row
#: numbers are the batch file's line numbers.
MISFIT_SETTINGS: dict[str, int | str] = {
    **INPUT_SETTINGS,
    "max_threads": 1,
    "input_format_parallel_parsing": 0,
}


def failed_column(message: str) -> int | None:
    """The index of the column whose check stopped an insert, from ClickHouse's message."""
    found = _CHECK_RE.search(message)
    return int(found.group(1)) if found else None


_ROW_RE = re.compile(r"\(at row (\d+)\)")
_KEY_RE = re.compile(r"while reading the value of key ([^)]+)\)")


def failed_row(message: str) -> tuple[int | None, str | None]:
    """(0-based row, key) of an input-format parse error, from ClickHouse's message."""
    row = _ROW_RE.search(message)
    key = _KEY_RE.search(message)
    return (int(row.group(1)) - 1 if row else None), (key.group(1) if key else None)
