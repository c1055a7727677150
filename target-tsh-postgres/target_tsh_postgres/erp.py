"""SQL against the ERP: table creation, and batch upserts that isolate bad rows.

A batch goes in through COPY into a temporary table and one ``INSERT ... SELECT ... ON CONFLICT
DO UPDATE ... WHERE <incoming is newer>``. If PostgreSQL refuses that statement for the data in it
(:data:`REFUSALS`: a constraint, a row-level security policy, a value out of range...), the batch
is replayed row by row, each row under its own SAVEPOINT, so only the rows PostgreSQL refuses fail.
Transient errors (:func:`is_transient`: lock or statement timeouts, deadlocks, serialization
failures, a lost connection) are not refusals: they propagate, and the writer retries the whole
batch (:mod:`.writer`). Only the sync's own columns are written: columns the ERP adds to these
tables are never touched. Identifiers are composed with ``psycopg2.sql``; values are always
parameters or COPY data, never pasted into SQL.
"""

from __future__ import annotations

import contextlib
import io
import typing as t
from dataclasses import dataclass, field
from operator import itemgetter

import psycopg2
from psycopg2 import errors, sql

if t.TYPE_CHECKING:
    from psycopg2.extensions import connection, cursor

    from .mapping import Table

COPY_CHUNK = 4 * 1024 * 1024
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


# What PostgreSQL refuses because of the rows themselves: replaying the same rows can never
# succeed, so they are isolated and reported. Triggers that refuse a row raise RaiseException.
REFUSALS: tuple[type[Exception], ...] = (
    psycopg2.DataError,  # class 22: out of range, invalid text representation...
    psycopg2.IntegrityError,  # class 23: not null, check, foreign key, unique
    errors.InsufficientPrivilege,  # 42501: row-level security policies
    errors.RaiseException,  # P0001: a trigger's RAISE EXCEPTION
)


def is_transient(exc: BaseException) -> bool:
    """True for errors that a later attempt of the same batch can get past.

    psycopg2 maps SQLSTATE classes 08 (connection), 40 (deadlock, serialization failure),
    53 (insufficient resources), 55 (lock not available), 57 (statement timeout, shutdown) and
    58 to ``OperationalError``; a closed connection raises ``InterfaceError``.
    """
    return isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError))


@dataclass
class BatchResult:
    """What one batch did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[tuple[dict[str, t.Any], str]] = field(default_factory=list)


def create_tables(conn: connection, schema: str, tables: t.Iterable[Table]) -> None:
    """Create the schema and any missing table; add the sync's columns an existing table lacks.

    Existence is checked first, so a role that may write rows but not create objects (a
    typical ERP application role) passes when everything is already there. Columns are only
    ever added (a table made by an older version lacks ``source_read_at``), never changed.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table in tables:
            qualified = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table.name))
            cur.execute("SELECT to_regclass(%s)", (qualified.as_string(conn),))
            if t.cast("tuple[t.Any]", cur.fetchone())[0] is not None:  # one row, always
                _add_missing_columns(cur, schema, table)
                continue
            columns: list[sql.Composable] = [sql.SQL("id BIGSERIAL PRIMARY KEY")]
            columns += [
                sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind))
                for name, kind in table.columns
            ]
            columns.append(sql.SQL("last_synced TIMESTAMPTZ NOT NULL DEFAULT now()"))
            columns.append(
                sql.SQL("UNIQUE ({})").format(sql.SQL(", ").join(map(sql.Identifier, table.key)))
            )
            cur.execute(
                sql.SQL("CREATE TABLE IF NOT EXISTS {}.{} ({})").format(
                    sql.Identifier(schema), sql.Identifier(table.name), sql.SQL(", ").join(columns)
                )
            )
    conn.commit()


def _add_missing_columns(cur: cursor, schema: str, table: Table) -> None:
    cur.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s",
        (schema, table.name),
    )
    present = {name for (name,) in cur.fetchall()}
    for name, kind in table.columns:
        if name not in present:
            cur.execute(
                sql.SQL("ALTER TABLE {}.{} ADD COLUMN IF NOT EXISTS {} {}").format(
                    sql.Identifier(schema),
                    sql.Identifier(table.name),
                    sql.Identifier(name),
                    sql.SQL(kind.replace(" NOT NULL", "")),
                )
            )


_NULL = "\\N"
_SPECIAL = ("\\", "\t", "\n", "\r")


def _text_column(values: list[t.Any]) -> list[str]:
    """A text column in COPY format; escaping runs only if the column holds a special char."""
    texts = [_NULL if v is None else v if type(v) is str else str(v) for v in values]
    joined = "".join(texts)
    if any(mark in joined for mark in _SPECIAL):
        return [
            _NULL if v is None else s.translate(_ESCAPES)
            for v, s in zip(values, texts, strict=True)
        ]
    return texts


def _column(kind: str, values: list[t.Any]) -> list[str]:
    if kind.startswith("BOOLEAN"):
        return [_NULL if v is None else "t" if v else "f" for v in values]
    if kind.startswith(("NUMERIC", "INTEGER")):
        return [_NULL if v is None else str(v) for v in values]
    return _text_column(values)


def _copy_buffer(rows: list[dict[str, t.Any]], table: Table) -> io.StringIO:
    """Rows in COPY text format, built column by column (one cheap pass per column)."""
    names = table.column_names
    getter = itemgetter(*names)
    columns = zip(*map(getter, rows), strict=True)
    texts = [
        _column(kind, list(values))
        for (_, kind), values in zip(table.columns, columns, strict=True)
    ]
    return io.StringIO("\n".join(map("\t".join, zip(*texts, strict=True))) + "\n")


def _upsert(schema: str, table: Table, source: sql.Composable) -> sql.Composed:
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
    return statement + sql.SQL(" RETURNING (xmax = 0) AS inserted")


def _newer(table: Table) -> sql.Composed:
    """``WHERE`` the incoming row is newer than the stored one (``t``).

    Newer means a later ``guard`` (Zoho's modification time, second precision). Two versions of
    one second are told apart by ``tiebreak``, the instant the tap read them: the later read wins
    when its ``content`` differs, so a record edited twice within a second and read in between is
    corrected by the next run, while replaying an older file (read earlier) never restores what
    it held and re-reading an unchanged record writes nothing. Without a read time an equal
    modification time changes nothing. ``content`` includes what the target changes on its own
    (a product a listing lacked is marked inactive): a later read of it, active, restores it.
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


def copy_data(rows: list[dict[str, t.Any]], table: Table) -> io.StringIO:
    """The batch in COPY text format (built before the database work, to overlap with it)."""
    return _copy_buffer(rows, table)


def upsert_batch(
    conn: connection,
    schema: str,
    table: Table,
    rows: list[dict[str, t.Any]],
    data: io.StringIO | None = None,
) -> BatchResult:
    """Write a de-duplicated batch; when a row is refused, replay it row by row. Commits.

    Any other error propagates with the transaction open: the caller, which owns the connection,
    rolls it back (:func:`rollback_quietly`) before it retries or gives up.
    """
    names = table.column_names
    result = BatchResult()
    try:
        with conn.cursor() as cur:
            cur.execute(
                sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {} ({}) ON COMMIT DELETE ROWS").format(
                    sql.Identifier(f"_load_{table.name}"),
                    sql.SQL(", ").join(
                        sql.SQL("{} {}").format(
                            sql.Identifier(name), sql.SQL(kind.replace(" NOT NULL", ""))
                        )
                        for name, kind in table.columns
                    ),
                )
            )
            cur.copy_expert(
                sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(f"_load_{table.name}"),
                    sql.SQL(", ").join(map(sql.Identifier, names)),
                ),
                data if data is not None else _copy_buffer(rows, table),
                size=COPY_CHUNK,  # few large reads: each read runs Python code under the GIL
            )
            source = sql.SQL("SELECT {} FROM {}").format(
                sql.SQL(", ").join(map(sql.Identifier, names)),
                sql.Identifier(f"_load_{table.name}"),
            )
            # Count inserts and updates in the database: no row-per-row result to the client.
            cur.execute(
                sql.SQL(
                    "WITH written AS ({}) SELECT count(*) FILTER (WHERE inserted), count(*) "
                    "FROM written"
                ).format(_upsert(schema, table, source))
            )
            inserted, written = t.cast("tuple[int, int]", cur.fetchone())  # one row, always
        conn.commit()
    except REFUSALS:  # some row is refused: find which, one by one
        conn.rollback()
    else:
        result.inserted = inserted
        result.updated = written - inserted
        result.unchanged = len(rows) - written
        return result
    return _row_by_row(conn, schema, table, rows)


def rollback_quietly(conn: connection) -> None:
    """Roll back after a failure; a connection that is gone needs no rollback."""
    if not conn.closed:
        with contextlib.suppress(psycopg2.OperationalError, psycopg2.InterfaceError):
            conn.rollback()


def _row_by_row(
    conn: connection, schema: str, table: Table, rows: list[dict[str, t.Any]]
) -> BatchResult:
    names = table.column_names
    values = sql.SQL("VALUES ({})").format(sql.SQL(", ").join(sql.Placeholder() * len(names)))
    statement = _upsert(schema, table, values)
    result = BatchResult()
    with conn.cursor() as cur:
        for row in rows:
            cur.execute("SAVEPOINT row_upsert")
            try:
                cur.execute(statement, [row[n] for n in names])
                returned = cur.fetchall()
            except REFUSALS as exc:  # the database's refusal is the report
                cur.execute("ROLLBACK TO SAVEPOINT row_upsert")
                result.failed.append((row, str(exc).strip().splitlines()[0]))
                continue
            cur.execute("RELEASE SAVEPOINT row_upsert")
            if not returned:
                result.unchanged += 1
            elif returned[0][0]:
                result.inserted += 1
            else:
                result.updated += 1
    conn.commit()
    return result
