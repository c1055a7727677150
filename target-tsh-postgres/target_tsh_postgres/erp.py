"""SQL against the ERP: table creation, and batch upserts that isolate bad rows.

A batch goes in through COPY into a temporary table and one ``INSERT ... SELECT ... ON CONFLICT
DO UPDATE ... WHERE <incoming is newer>``. If that statement fails (a constraint, a row-level
security policy...), the batch is replayed row by row, each row under its own SAVEPOINT, so only
the rows PostgreSQL refuses fail. Only the sync's own columns are written: columns the ERP adds to
these tables are never touched. Identifiers are composed with ``psycopg2.sql``; values are always
parameters or COPY data, never pasted into SQL.
"""

from __future__ import annotations

import io
import typing as t
from dataclasses import dataclass, field
from operator import itemgetter

from psycopg2 import sql

if t.TYPE_CHECKING:
    from psycopg2.extensions import connection

    from .mapping import Table

COPY_CHUNK = 4 * 1024 * 1024
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class BatchResult:
    """What one batch did."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[tuple[dict[str, t.Any], str]] = field(default_factory=list)


def create_tables(conn: connection, schema: str, tables: t.Iterable[Table]) -> None:
    """Create the schema and any missing table (existing tables are left as they are).

    Existence is checked first, so a role that may write rows but not create objects (a
    typical ERP application role) passes when everything is already there.
    """
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
        if cur.fetchone() is None:
            cur.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
        for table in tables:
            qualified = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table.name))
            cur.execute("SELECT to_regclass(%s)", (qualified.as_string(conn),))
            if cur.fetchone()[0] is not None:
                continue
            columns = [sql.SQL("id BIGSERIAL PRIMARY KEY")]
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
    updates = [
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
        guard = sql.Identifier(table.guard)
        statement += sql.SQL(
            " WHERE t.{g} IS NULL OR (EXCLUDED.{g} IS NOT NULL AND EXCLUDED.{g} > t.{g})"
        ).format(g=guard)
    # xmax = 0 on the returned row means it was inserted rather than updated.
    return statement + sql.SQL(" RETURNING (xmax = 0) AS inserted")


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
    """Write a de-duplicated batch; on failure, replay it row by row. Commits."""
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
            inserted, written = cur.fetchone()
        conn.commit()
    except Exception:  # noqa: BLE001 - any refusal: find the bad rows one by one
        conn.rollback()
        return _row_by_row(conn, schema, table, rows)
    result.inserted = inserted
    result.updated = written - inserted
    result.unchanged = len(rows) - written
    return result


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
            except Exception as exc:  # noqa: BLE001 - the database's refusal is the report
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
