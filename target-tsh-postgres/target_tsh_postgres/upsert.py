"""Batch upserts into the ERP: "newest wins", written once, and bad rows isolated.

A batch goes in through COPY into a load table and ``INSERT ... SELECT ... ON CONFLICT DO UPDATE
... WHERE <the incoming row is newer>`` (:func:`_newer`, the one place the rule is written).
``ON CONFLICT`` may touch a key once per statement, so a batch holding a key several times is
merged in rounds, the n-th occurrence of each key in round n, in one transaction: a batch ends
exactly as its rows written one by one in the order they were read, under the same rule as rows
of different batches and runs.

The load table is made from the ERP table (``CREATE TABLE ... AS``), so it has the ERP's own
column types: COPY parses each value once, as the ERP will hold it, and says which column it
refuses. When PostgreSQL refuses the batch for its data (:data:`.errors.REFUSALS`), the batch is
replayed row by row, each row under its own SAVEPOINT, so only the rows PostgreSQL refuses fail;
each refused row is copied alone into the load table to name the column PostgreSQL refuses.
Transient errors propagate: the writer retries the whole batch (:mod:`.writer`). Only the sync's
own columns are written. Identifiers are composed with ``psycopg2.sql``; values are always
parameters or COPY data, never pasted into SQL.
"""

from __future__ import annotations

import io
import re
import typing as t
from dataclasses import dataclass, field
from operator import itemgetter

import psycopg2
from psycopg2 import sql

from .errors import REFUSALS
from .storable import preview

if t.TYPE_CHECKING:
    from psycopg2.extensions import connection, cursor

    from .mapping import Table

COPY_CHUNK = 4 * 1024 * 1024
ROUND = "_round"  # load-table column: which occurrence of its key in the batch the row is
_NULL = "\\N"
_SPECIAL = ("\\", "\t", "\n", "\r")
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
# The COPY line of an error's context: ``COPY _load_products, line 3, column price: "1e+20"``.
_COPY_COLUMN = re.compile(r"^COPY [^,]+, line \d+, column ([^:]+):", re.MULTILINE)


@dataclass(frozen=True)
class Refusal:
    """A row PostgreSQL refused: the column it named (when it names one), its value, why."""

    row: dict[str, t.Any]
    column: str | None
    value: str | None
    reason: str


@dataclass
class BatchResult:
    """What one batch did; every row is counted once, under one of the four."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[Refusal] = field(default_factory=list)


@dataclass(frozen=True)
class Prepared:
    """A batch ready to write: its rows, their COPY text, and the rounds its keys need."""

    rows: list[dict[str, t.Any]]
    data: io.StringIO
    rounds: int


def prepare(rows: list[dict[str, t.Any]], table: Table) -> Prepared:
    """The batch in COPY text format, built before the database work (to overlap with it)."""
    key_of = itemgetter(*table.key)
    seen: dict[t.Any, int] = {}
    occurrences: list[int] = []
    for key in map(key_of, rows):
        count = seen.get(key, 0)
        seen[key] = count + 1
        occurrences.append(count)
    rounds = 1 if len(seen) == len(rows) else max(occurrences) + 1
    return Prepared(rows, _copy_text(rows, table, occurrences), rounds)


def _text(kind: str, value: t.Any) -> str:
    """A non-null value as PostgreSQL reads it, the same in COPY and in the row-by-row replay."""
    if kind.startswith("BOOLEAN"):
        return "t" if value else "f"
    return value if type(value) is str else str(value)


def _copy_column(kind: str, values: list[t.Any]) -> list[str]:
    """One column in COPY text; escaping runs only if the column holds a special character.

    Every column is checked, numbers included: a string where a number belongs must not break
    the COPY stream into other rows or columns.
    """
    # Inline for speed, the rule is _text's.
    if kind.startswith("BOOLEAN"):
        return [_NULL if v is None else "t" if v else "f" for v in values]
    texts = [_NULL if v is None else v if type(v) is str else str(v) for v in values]
    joined = "".join(texts)
    if any(mark in joined for mark in _SPECIAL):
        return [
            _NULL if v is None else s.translate(_ESCAPES)
            for v, s in zip(values, texts, strict=True)
        ]
    return texts


def _copy_text(rows: list[dict[str, t.Any]], table: Table, occurrences: list[int]) -> io.StringIO:
    """Rows in COPY text format, built column by column (one cheap pass per column)."""
    getter = itemgetter(*table.column_names)
    columns = zip(*map(getter, rows), strict=True)
    texts = [
        _copy_column(kind, list(values))
        for (_, kind), values in zip(table.columns, columns, strict=True)
    ]
    texts.append(list(map(str, occurrences)))
    return io.StringIO("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n")


def _load_table(table: Table) -> sql.Identifier:
    return sql.Identifier(f"_load_{table.name}")


def _create_load_table(cur: cursor, schema: str, table: Table) -> None:
    """A temporary table with the ERP table's column types (no constraints), once per session."""
    cur.execute(
        sql.SQL(
            "CREATE TEMP TABLE IF NOT EXISTS {load} ON COMMIT DELETE ROWS AS "
            "SELECT {columns}, 0 AS {round} FROM {schema}.{table} WITH NO DATA"
        ).format(
            load=_load_table(table),
            columns=sql.SQL(", ").join(map(sql.Identifier, table.column_names)),
            round=sql.Identifier(ROUND),
            schema=sql.Identifier(schema),
            table=sql.Identifier(table.name),
        )
    )


def _copy(cur: cursor, table: Table, data: io.StringIO) -> None:
    data.seek(0)
    cur.copy_expert(
        sql.SQL("COPY {} ({}) FROM STDIN").format(
            _load_table(table),
            sql.SQL(", ").join(map(sql.Identifier, [*table.column_names, ROUND])),
        ),
        data,
        size=COPY_CHUNK,  # few large reads: each read runs Python code under the GIL
    )


def _newer(table: Table) -> sql.Composed:
    """``WHERE`` the incoming row is newer than the stored one (``t``): "newest wins".

    Newer means a later ``guard`` (Zoho's modification time, second precision). Two versions of
    one second are told apart by ``tiebreak``, the instant the tap read them: the later read wins
    when its ``content`` differs, so a record edited twice within a second and read in between is
    corrected by the next run, while replaying an older file (read earlier) never restores what
    it held and re-reading an unchanged record writes nothing. Without a read time an equal
    modification time changes nothing; a stored row without a modification time takes any
    incoming one. ``content`` includes what the target changes on its own (a product a listing
    lacked is marked inactive): a later read of it, active, restores it.
    """
    guard = sql.Identifier(str(table.guard))
    newer = sql.SQL(
        " WHERE t.{g} IS NULL OR (EXCLUDED.{g} IS NOT NULL AND (EXCLUDED.{g} > t.{g}"
    ).format(g=guard)
    if table.tiebreak is None or not table.content:
        return newer + sql.SQL("))")
    incoming = sql.SQL(", ").join(
        sql.SQL("EXCLUDED.{}").format(sql.Identifier(c)) for c in table.content
    )
    stored = sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(c)) for c in table.content)
    return newer + sql.SQL(
        " OR (EXCLUDED.{g} = t.{g} AND EXCLUDED.{r} IS NOT NULL"
        " AND (t.{r} IS NULL OR EXCLUDED.{r} > t.{r}) AND ROW({i}) IS DISTINCT FROM ROW({s}))))"
    ).format(g=guard, r=sql.Identifier(table.tiebreak), i=incoming, s=stored)


def _upsert(schema: str, table: Table, source: sql.Composable, *, keys: bool) -> sql.Composed:
    """The upsert of ``source``'s rows; returns per row whether it was inserted (and its key)."""
    names = table.column_names
    updates: list[sql.Composable] = [
        sql.SQL("{} = EXCLUDED.{}").format(sql.Identifier(n), sql.Identifier(n))
        for n in names
        if n not in table.key
    ]
    updates.append(sql.SQL("last_synced = now()"))
    target = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table.name))
    statement = sql.SQL(
        "INSERT INTO {target} AS t ({cols}) {source} ON CONFLICT ({keys}) DO UPDATE SET {updates}"
    ).format(
        target=target,
        cols=sql.SQL(", ").join(map(sql.Identifier, names)),
        source=source,
        keys=sql.SQL(", ").join(map(sql.Identifier, table.key)),
        updates=sql.SQL(", ").join(updates),
    )
    if table.guard:
        statement += _newer(table)
    # xmax = 0 on the returned row means it was inserted rather than updated.
    returned: list[sql.Composable] = (
        [sql.SQL("t.{}").format(sql.Identifier(k)) for k in table.key] if keys else []
    )
    returned.append(sql.SQL("(xmax = 0) AS inserted"))
    return statement + sql.SQL(" RETURNING ") + sql.SQL(", ").join(returned)


class _Written:
    """Keys written across rounds: a key counts once, as inserted if it was new to the table."""

    def __init__(self) -> None:
        self.inserted: set[tuple[t.Any, ...]] = set()
        self.written: set[tuple[t.Any, ...]] = set()

    def add(self, returned: list[tuple[t.Any, ...]]) -> None:
        for *key, inserted in returned:
            self.written.add(tuple(key))
            if inserted:
                self.inserted.add(tuple(key))

    def result(self, total: int, failed: list[Refusal]) -> BatchResult:
        inserted, updated = len(self.inserted), len(self.written - self.inserted)
        return BatchResult(inserted, updated, total - inserted - updated - len(failed), failed)


def _merge(cur: cursor, schema: str, table: Table, rounds: int, total: int) -> BatchResult:
    """Upsert the load table's rows into the ERP table, round by round."""
    columns = sql.SQL(", ").join(map(sql.Identifier, table.column_names))
    if rounds == 1:  # each key once: count in the database, no row-per-row result to the client
        source = sql.SQL("SELECT {} FROM {}").format(columns, _load_table(table))
        cur.execute(
            sql.SQL(
                "WITH written AS ({}) SELECT count(*) FILTER (WHERE inserted), count(*) "
                "FROM written"
            ).format(_upsert(schema, table, source, keys=False))
        )
        inserted, count = t.cast("tuple[int, int]", cur.fetchone())  # one row, always
        return BatchResult(inserted, count - inserted, total - count)
    written = _Written()
    for occurrence in range(rounds):
        source = sql.SQL("SELECT {} FROM {} WHERE {} = {}").format(
            columns, _load_table(table), sql.Identifier(ROUND), sql.Literal(occurrence)
        )
        cur.execute(_upsert(schema, table, source, keys=True))
        written.add(cur.fetchall())
    return written.result(total, [])


def upsert_batch(conn: connection, schema: str, table: Table, batch: Prepared) -> BatchResult:
    """Write a batch; when PostgreSQL refuses some row, replay it row by row. Commits.

    Any other error propagates with the transaction open: the caller, which owns the connection,
    rolls it back before it retries or gives up.
    """
    try:
        with conn.cursor() as cur:
            _create_load_table(cur, schema, table)
            _copy(cur, table, batch.data)
            result = _merge(cur, schema, table, batch.rounds, len(batch.rows))
        conn.commit()
    except REFUSALS:  # some row is refused: find which, one by one
        conn.rollback()
        return _row_by_row(conn, schema, table, batch.rows)
    return result


def _row_by_row(
    conn: connection, schema: str, table: Table, rows: list[dict[str, t.Any]]
) -> BatchResult:
    kinds = table.columns
    values = sql.SQL("VALUES ({})").format(sql.SQL(", ").join(sql.Placeholder() * len(kinds)))
    statement = _upsert(schema, table, values, keys=True)
    written = _Written()
    failed: list[Refusal] = []
    with conn.cursor() as cur:
        for row in rows:
            cur.execute("SAVEPOINT row_upsert")
            try:
                cur.execute(
                    statement,
                    [None if row[n] is None else _text(kind, row[n]) for n, kind in kinds],
                )
                returned = cur.fetchall()
            except REFUSALS as exc:  # the database's refusal is the report
                cur.execute("ROLLBACK TO SAVEPOINT row_upsert")
                failed.append(_refusal(cur, schema, table, row, t.cast("psycopg2.Error", exc)))
                continue
            cur.execute("RELEASE SAVEPOINT row_upsert")
            written.add(returned)
    conn.commit()
    return written.result(len(rows), failed)


def _refusal(
    cur: cursor, schema: str, table: Table, row: dict[str, t.Any], exc: psycopg2.Error
) -> Refusal:
    """The refusal of ``row``, with the column PostgreSQL refuses when it names one.

    A value PostgreSQL cannot read as its column's type is found by copying the row alone into
    the load table (COPY names the column); a constraint names its column itself (not null);
    a policy or a trigger names none.
    """
    column = _column_refused_by_copy(cur, schema, table, row)
    if column is None:
        column = exc.diag.column_name
    value = preview(row[column]) if column in row else None
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return Refusal(row, column, value, reason)


def _column_refused_by_copy(
    cur: cursor, schema: str, table: Table, row: dict[str, t.Any]
) -> str | None:
    cur.execute("SAVEPOINT diagnose")
    try:
        _create_load_table(cur, schema, table)
        _copy(cur, table, _copy_text([row], table, [0]))
    except REFUSALS as exc:  # an error here is the answer, not a failure
        found = _COPY_COLUMN.search(t.cast("psycopg2.Error", exc).diag.context or "")
        return found.group(1) if found else None
    finally:
        cur.execute("ROLLBACK TO SAVEPOINT diagnose")
    return None
