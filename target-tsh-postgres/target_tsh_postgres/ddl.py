"""The ERP tables' DDL: create what is missing, add the sync's columns an older table lacks.

Existence is checked first, so a role that may write rows but not create objects (a typical ERP
application role) passes when everything is already there. Identifiers are composed with
``psycopg2.sql``; nothing is ever dropped or changed.
"""

from __future__ import annotations

import typing as t

from psycopg2 import sql

if t.TYPE_CHECKING:
    from psycopg2.extensions import connection, cursor

    from .mapping import Table


def create_tables(conn: connection, schema: str, tables: t.Iterable[Table]) -> None:
    """Create the schema and any missing table; add the sync's columns an existing table lacks.

    Columns are only ever added (a table made by an older version lacks ``source_read_at``),
    never changed. Commits.
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
