"""Pure DDL of ``history_mode``: every version of every record, and when each was true.

For a table ``t`` with key columns (a stream with key properties):

* ``t_versions``: the same columns as ``t``, one row per distinct (key, ``_sdc_version``).
  A ``ReplacingMergeTree`` ordered by the key and the version, without a deletion flag: merges
  only fold a version received twice into one row, never two versions, and a deletion is a
  version of its own (``_sdc_is_deleted = 1``) that ``FINAL`` keeps.
* ``t_versions_mv``: a materialized view copying every block inserted into ``t`` into
  ``t_versions``, so both load paths, the embedded engine and a server feed it in the same
  insert, and ``t`` and ``t_current`` stay exactly as without history.
* ``t_history``: a view with the stream's columns plus ``valid_from`` (the version's instant:
  the bookmark property, which ``_sdc_version`` holds in microseconds, or ``_sdc_deleted_at``
  for a deletion), ``valid_to`` (the next version's ``valid_from``, NULL for the newest),
  ``is_current`` (1 on a key's newest row only) and ``is_deleted``.

No I/O here: every statement is unit-tested as text (cluster ones included).
"""

from __future__ import annotations

import json

from . import ddl

VERSIONS = "_versions"
FEED = "_versions_mv"
HISTORY = "_history"
HISTORY_COLUMNS = ("valid_from", "valid_to", "is_current", "is_deleted")
STAMP = "target-clickhouse history of stream: "


def _object(spec: ddl.TableSpec, suffix: str) -> str:
    return f"{ddl.quote(spec.database)}.{ddl.quote(spec.table + suffix)}"


def versions_spec(spec: ddl.TableSpec) -> ddl.TableSpec:
    """The ``_versions`` table as a spec (for its ALTER statements)."""
    return ddl.TableSpec(
        database=spec.database,
        table=spec.table + VERSIONS,
        columns=spec.columns,
        keys=spec.keys,
        cluster=spec.cluster,
    )


def create_versions(spec: ddl.TableSpec) -> str:
    """CREATE TABLE ``t_versions`` with ``t``'s columns as they are now."""
    path = "'/clickhouse/tables/{shard}/{database}/{table}', '{replica}'" if spec.cluster else ""
    engine = f"{'Replicated' if spec.cluster else ''}ReplacingMergeTree({path})"
    order = ", ".join(ddl.quote(k) for k in (*spec.keys, ddl.VERSION_COLUMN))
    comment = ddl.literal(STAMP + json.dumps(spec.owner or ""))
    return (
        f"CREATE TABLE IF NOT EXISTS {_object(spec, VERSIONS)}{spec.on_cluster()} "
        f"AS {spec.qualified}\nENGINE = {engine}\nORDER BY ({order})\nCOMMENT {comment}"
    )


def backfill(spec: ddl.TableSpec, columns: list[str]) -> str:
    """Copy the versions ``t`` holds now (those not merged away yet) into a new ``t_versions``."""
    listed = ", ".join(ddl.quote(c) for c in columns)
    return (  # identifiers only, each quoted
        f"INSERT INTO {_object(spec, VERSIONS)} ({listed}) "  # noqa: S608
        f"SELECT {listed} FROM {spec.qualified}"
    )


def drop_feed(spec: ddl.TableSpec) -> str:
    """DROP the materialized view (before it is created again with new columns)."""
    return f"DROP VIEW IF EXISTS {_object(spec, FEED)}{spec.on_cluster()} SYNC"


def create_feed(spec: ddl.TableSpec, columns: list[str]) -> str:
    """The materialized view copying each insert into ``t`` to ``t_versions``."""
    listed = ", ".join(ddl.quote(c) for c in columns)
    feed, versions = _object(spec, FEED), _object(spec, VERSIONS)
    return (  # identifiers only, each quoted
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS {feed}{spec.on_cluster()} TO {versions}\n"  # noqa: S608
        f"AS SELECT {listed} FROM {spec.qualified}"
    )


def _instant(column: str, ch_type: str) -> str:
    """A column's value as DateTime64(6, 'UTC') (parsed when it is text: ``all_strings``)."""
    q = ddl.quote(column)
    if ddl.strip_nullable(ch_type).startswith("DateTime64"):
        return f"toDateTime64({q}, 6, 'UTC')"
    return f"parseDateTime64BestEffortOrNull(toString({q}), 6, 'UTC')"


def history_view(spec: ddl.TableSpec, actual: dict[str, str]) -> str:
    """``t_history``: every version of every key with its validity window.

    A stream column named like one of :data:`HISTORY_COLUMNS` is shown as ``_source_<name>``.
    """
    stream_columns = [c for c in actual if c not in ddl.META_COLUMNS]
    keys = ", ".join(ddl.quote(k) for k in spec.keys)
    version_column = ddl.quote(ddl.VERSION_COLUMN)
    version = f"fromUnixTimestamp64Micro(toInt64({version_column}), 'UTC')"
    deleted = ddl.quote(ddl.DELETED_COLUMN)
    if "_sdc_deleted_at" in actual:
        deleted_at = _instant("_sdc_deleted_at", actual["_sdc_deleted_at"])
        valid_from = f"if({deleted} = 1, ifNull({deleted_at}, {version}), {version})"
    else:
        valid_from = version
    listed = ", ".join(ddl.quote(c) for c in stream_columns)
    shown = ", ".join(
        f"{ddl.quote(c)} AS {ddl.quote(ddl.SOURCE_PREFIX + c)}"
        if c in HISTORY_COLUMNS
        else ddl.quote(c)
        for c in stream_columns
    )
    window = (
        f"PARTITION BY {keys} ORDER BY {version_column} ROWS BETWEEN CURRENT ROW AND 1 FOLLOWING"
    )
    return (  # identifiers only, each quoted: no value is pasted into SQL
        f"CREATE OR REPLACE VIEW {_object(spec, HISTORY)}{spec.on_cluster()} AS\n"  # noqa: S608
        f"SELECT {shown}, `_h_from` AS `valid_from`, `_h_to` AS `valid_to`, "
        f"toUInt8(isNull(`_h_to`)) AS `is_current`, `_h_deleted` AS `is_deleted`\nFROM (\n"
        f"  SELECT {listed}, `_h_from`, "
        f"leadInFrame(toNullable(`_h_from`)) OVER ({window}) AS `_h_to`, `_h_deleted`\n"
        f"  FROM (SELECT {listed}, {valid_from} AS `_h_from`, {deleted} AS `_h_deleted`, "
        f"{version_column} FROM {_object(spec, VERSIONS)} FINAL)\n)"
    )
