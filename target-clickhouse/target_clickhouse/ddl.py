"""Pure DDL: JSON Schema -> ClickHouse column types, and the CREATE / ALTER / VIEW statements.

No I/O here, so every mapping and every generated statement (cluster ones included, which chDB
cannot run) is unit-tested as text.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

VERSION_COLUMN = "_sdc_version"
DELETED_COLUMN = "_sdc_is_deleted"
LOAD_TIME_COLUMN = "load_time"
META_COLUMNS = {VERSION_COLUMN, DELETED_COLUMN, LOAD_TIME_COLUMN}
SOURCE_PREFIX = "_source_"
MAX_DECIMAL_PRECISION = 76
DATETIME_TYPE = "DateTime64(6, 'UTC')"


def quote(identifier: str) -> str:
    """Backtick-quote any identifier (spaces, dots, quotes, ``$``, NUL, non-ASCII all survive)."""
    escaped = identifier.replace("\\", "\\\\").replace("`", "\\`").replace("\0", "\\0")
    return "`" + escaped + "`"


#: Names of the objects that go with a table ``t``: ``t_current`` and the history objects.
DERIVED_SUFFIXES = ("_current", "_versions", "_history", "_versions_mv")
#: Longest table name made from a stream name: ClickHouse allows about 200 bytes, and the
#: derived names and a collision suffix must still fit.
MAX_TABLE_NAME = 150


def short_hash(text: str) -> str:
    """Eight hex digits of a name: the same name always gives the same digits."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


def table_name(prefix: str, stream: str) -> str:
    """``<prefix><stream>`` with characters other than letters, digits and ``_`` made ``_``.

    Tables are named for people to type; columns keep the source's exact names (quoted).
    Accents are dropped (``Categorías`` -> ``Categorias``); a name with any non-ASCII character
    also gets a short hash of the exact stream name (``Лиды`` -> ``stream_3f9c2a1b``), so two
    such names never share a table. A name longer than :data:`MAX_TABLE_NAME` is cut and gets
    the hash too. Two ASCII names that still sanitise alike are told apart by :mod:`.claims`.
    """
    name = f"{prefix}{stream}"
    plain = "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))
    cleaned = re.sub(r"[^0-9A-Za-z_]+", "_", plain).strip("_")
    if not name.isascii() or len(cleaned) > MAX_TABLE_NAME:
        cut = cleaned[: MAX_TABLE_NAME - 9].rstrip("_")
        return f"{cut or 'stream'}_{short_hash(stream)}"
    return cleaned or "_stream"


STAMP = "target-clickhouse stream: "


def stamp(stream: str) -> str:
    """The table comment recording which stream owns a table (the stream name as JSON)."""
    return STAMP + json.dumps(stream)


def stamped_stream(comment: str) -> str | None:
    """The stream a table comment names as the table's owner, None if it names none."""
    if not comment.startswith(STAMP):
        return None
    try:
        stream = json.loads(comment[len(STAMP) :])
    except ValueError:
        return None
    return stream if isinstance(stream, str) else None


def json_types(schema: dict[str, Any]) -> list[str]:
    """The JSON types a property allows (anyOf/oneOf included), null aside."""
    raw = schema.get("type", [])
    types = [raw] if isinstance(raw, str) else list(raw)
    for option in schema.get("anyOf", []) or schema.get("oneOf", []):
        types.extend(json_types(option))
    return [t for t in types if t != "null"]


def _decimal(schema: dict[str, Any]) -> tuple[int, int] | None:
    """Precision and scale carried by the schema, if any."""
    props = schema.get("x-sql-datatype-properties") or {}
    if schema.get("x-sql-datatype") == "decimal" and "scale" in props:
        scale = int(props["scale"])
        return min(int(props.get("precision", 38)), MAX_DECIMAL_PRECISION), scale
    if schema.get("format") == "x-singer.decimal" and "scale" in schema:
        scale = int(schema["scale"])
        return min(int(schema.get("precision", 38)), MAX_DECIMAL_PRECISION), scale
    multiple = schema.get("multipleOf")
    if multiple is not None and 0 < float(multiple) < 1:
        scale = len(f"{float(multiple):.12f}".rstrip("0").split(".")[1])
        limit = schema.get("maximum") or schema.get("exclusiveMaximum")
        digits = len(str(int(abs(float(limit))))) if limit else 38 - scale
        return min(digits + scale, MAX_DECIMAL_PRECISION), scale
    return None


_STRING_FORMATS = {"date-time": DATETIME_TYPE, "date": "Date32"}
_SIMPLE = {"integer": "Int64", "boolean": "Bool"}


def base_type(schema: dict[str, Any], *, json_type: str = "String") -> str:
    """The ClickHouse type (without Nullable) of one JSON Schema property."""
    types = set(json_types(schema))
    if "number" in types:
        types.discard("integer")  # integer-or-number is a number
    if len(types) != 1:
        return "String"  # no type, or a union of unrelated types: keep every value as text
    kind = types.pop()
    if kind in _SIMPLE:
        return _SIMPLE[kind]
    if kind in {"object", "array"}:
        return json_type
    decimal = _decimal(schema)
    fmt = schema.get("format")
    if decimal and (kind == "number" or fmt == "x-singer.decimal"):
        return f"Decimal({decimal[0]}, {decimal[1]})"
    if kind == "number":
        return "Float64"
    return _STRING_FORMATS.get(str(fmt), "String") if kind == "string" else "String"


def nullable(ch_type: str) -> str:
    """Wrap in Nullable (JSON cannot be Nullable in ClickHouse)."""
    if ch_type.startswith(("Nullable(", "JSON")):
        return ch_type
    return f"Nullable({ch_type})"


def strip_nullable(ch_type: str) -> str:
    """``Nullable(T)`` -> ``T``."""
    return ch_type[9:-1] if ch_type.startswith("Nullable(") else ch_type


_NUMERIC_RANK = {"Bool": 0, "Int64": 1, "Decimal": 2, "Float64": 3}


def _family(ch_type: str) -> str:
    return ch_type.split("(", 1)[0]


def widen(existing: str, wanted: str) -> str | None:
    """The type a column must become to hold both, or None when ``existing`` already does.

    Numbers widen along Bool < Int64 < Decimal < Float64; anything else that differs becomes
    String, which holds every value. A column never narrows.
    """
    old, new = strip_nullable(existing), strip_nullable(wanted)
    if old in {new, "String"}:
        return None
    old_family, new_family = _family(old), _family(new)
    if old_family in _NUMERIC_RANK and new_family in _NUMERIC_RANK:
        if old_family == new_family == "Decimal":
            return _wider_decimal(old, new)
        return None if _NUMERIC_RANK[new_family] <= _NUMERIC_RANK[old_family] else new
    return "String"


def _wider_decimal(old: str, new: str) -> str | None:
    op, os_ = (int(x) for x in old[8:-1].split(","))
    np_, ns = (int(x) for x in new[8:-1].split(","))
    scale = max(os_, ns)
    integer_digits = max(op - os_, np_ - ns)
    precision = min(integer_digits + scale, MAX_DECIMAL_PRECISION)
    widened = f"Decimal({precision}, {scale})"
    return None if widened == f"Decimal({op}, {os_})" else widened


@dataclass(frozen=True)
class TableSpec:
    """Everything needed to create one table."""

    database: str
    table: str
    columns: dict[str, str]  # name -> full type (Nullable applied)
    keys: tuple[str, ...]
    cluster: str | None = None
    owner: str | None = None  # the stream recorded in the table comment

    @property
    def qualified(self) -> str:
        """``db`.`table`` quoted."""
        return f"{quote(self.database)}.{quote(self.table)}"

    def on_cluster(self) -> str:
        """`` ON CLUSTER `c``` when a cluster is configured."""
        return f" ON CLUSTER {quote(self.cluster)}" if self.cluster else ""


def column_name(prop: str) -> str:
    """The column of a source property: its own name, unless the target already uses it.

    A source property named like one of the target's columns (``load_time``, ``_sdc_version``,
    ``_sdc_is_deleted``) is kept as ``_source_<name>``; a property with an empty name (which
    ClickHouse cannot name a column) as ``_source_``.
    """
    return SOURCE_PREFIX + prop if prop in META_COLUMNS or not prop else prop


def column_types(
    schema: dict[str, Any], keys: tuple[str, ...], *, all_strings: bool, json_type: str
) -> dict[str, str]:
    """Full column types for a stream's properties, by column name (keys are never Nullable)."""
    columns: dict[str, str] = {}
    for name, prop in schema.get("properties", {}).items():
        ch_type = "String" if all_strings else base_type(prop, json_type=json_type)
        columns[column_name(name)] = ch_type if name in keys else nullable(ch_type)
    return columns


def create_table(spec: TableSpec) -> str:
    """CREATE TABLE: ReplacingMergeTree(version, is_deleted) by keys, or MergeTree if keyless."""
    cols = [f"{quote(name)} {ch_type}" for name, ch_type in spec.columns.items()]
    cols += [
        f"{quote(VERSION_COLUMN)} UInt64",
        f"{quote(DELETED_COLUMN)} UInt8 DEFAULT 0",
        f"{quote(LOAD_TIME_COLUMN)} DateTime64(3, 'UTC') DEFAULT now64(3)",
    ]
    replicated = "Replicated" if spec.cluster else ""
    path = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'" if spec.cluster else ""
    if spec.keys:
        args = ", ".join(a for a in (path, quote(VERSION_COLUMN), quote(DELETED_COLUMN)) if a)
        engine = f"{replicated}ReplacingMergeTree({args})"
        order = ", ".join(quote(k) for k in spec.keys)
        settings = ""
    else:
        engine = f"{replicated}MergeTree({path})"
        order = ""
        # Lets a retried insert with the same deduplication token be ignored (no duplicates).
        settings = " SETTINGS non_replicated_deduplication_window = 1000"
    body = ",\n  ".join(cols)
    comment = f"\nCOMMENT {literal(stamp(spec.owner))}" if spec.owner is not None else ""
    return (
        f"CREATE TABLE IF NOT EXISTS {spec.qualified}{spec.on_cluster()} (\n  {body}\n)\n"
        f"ENGINE = {engine}\nORDER BY ({order}){settings}{comment}"
    )


def literal(text: str) -> str:
    """A single-quoted ClickHouse string literal (NUL escaped: chDB reads queries as C strings)."""
    escaped = text.replace("\\", "\\\\").replace("'", "\\'").replace("\0", "\\0")
    return "'" + escaped + "'"


def stamp_comment(spec: TableSpec) -> str:
    """ALTER TABLE MODIFY COMMENT: record the owning stream on a table created without it."""
    owner = stamp(spec.owner or "")
    return f"ALTER TABLE {spec.qualified}{spec.on_cluster()} MODIFY COMMENT {literal(owner)}"


def add_column(spec: TableSpec, name: str, ch_type: str) -> str:
    """ALTER TABLE ADD COLUMN."""
    return (
        f"ALTER TABLE {spec.qualified}{spec.on_cluster()} "
        f"ADD COLUMN IF NOT EXISTS {quote(name)} {ch_type}"
    )


def modify_column(spec: TableSpec, name: str, ch_type: str) -> str:
    """ALTER TABLE MODIFY COLUMN (widening only)."""
    return f"ALTER TABLE {spec.qualified}{spec.on_cluster()} MODIFY COLUMN {quote(name)} {ch_type}"


def current_view(spec: TableSpec) -> str:
    """``<table>_current``: the latest version of every live row, no FINAL to remember."""
    view = f"{quote(spec.database)}.{quote(spec.table + '_current')}"
    source = f"{spec.qualified} FINAL" if spec.keys else spec.qualified
    return (  # identifiers only, each quoted: no value is pasted into SQL
        f"CREATE OR REPLACE VIEW {view}{spec.on_cluster()} AS "  # noqa: S608
        f"SELECT * FROM {source} WHERE {quote(DELETED_COLUMN)} = 0"
    )


def create_database(database: str, cluster: str | None) -> str:
    """CREATE DATABASE IF NOT EXISTS."""
    on = f" ON CLUSTER {quote(cluster)}" if cluster else ""
    return f"CREATE DATABASE IF NOT EXISTS {quote(database)}{on}"
