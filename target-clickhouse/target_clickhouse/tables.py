"""Creating and evolving tables: add new columns, widen changed ones, never drop or narrow."""

from __future__ import annotations

import typing as t

from . import ddl, history
from .errors import SchemaChangeError

if t.TYPE_CHECKING:
    import logging

    from .connection import Connection


__all__ = ["SchemaManager"]


class SchemaManager:
    """Applies DDL through one connection and remembers what each table looks like."""

    def __init__(self, connection: Connection, logger: logging.Logger) -> None:
        """Nothing is created until a stream needs it."""
        self.connection = connection
        self.logger = logger
        self._databases: set[str] = set()

    def run(self, sql: str) -> None:
        """Run one DDL statement."""
        self.connection.command(sql)

    def objects(self, database: str) -> dict[str, tuple[str, str]]:
        """Name -> (engine, comment) of every table and view in ``database``."""
        rows = self.connection.query_rows(
            "SELECT name, engine, comment FROM system.tables WHERE database = {db:String}",
            {"db": database},
        )
        return {str(name): (str(engine), str(comment)) for name, engine, comment in rows}

    def existing_columns(self, database: str, table: str) -> dict[str, str]:
        """Column name -> type of an existing table (empty when it does not exist)."""
        rows = self.connection.query_rows(
            "SELECT name, type FROM system.columns "
            "WHERE database = {db:String} AND table = {tbl:String} ORDER BY position",
            {"db": database, "tbl": table},
        )
        return {str(name): str(kind) for name, kind in rows}

    def ensure_table(self, spec: ddl.TableSpec, *, keep_history: bool = False) -> dict[str, str]:
        """Make the table fit ``spec`` (and its history objects, if asked); return its columns."""
        actual = self._ensure_table(spec)
        if keep_history and spec.keys:
            self._ensure_history(spec, actual)
        return actual

    def _ensure_history(self, spec: ddl.TableSpec, actual: dict[str, str]) -> None:
        """``<table>_versions`` with ``actual``'s columns, fed by ``<table>_versions_mv``.

        A new ``_versions`` table first gets the versions the table holds now; a changed one
        gets the same new or widened columns, and the feed and the view are made again.
        """
        versions = history.versions_spec(spec)
        existing = self.existing_columns(spec.database, versions.table)
        columns = list(actual)
        if not existing:
            self.run(history.create_versions(spec))
            self.run(history.backfill(spec, columns))
            self.logger.info("Created table %s.%s", spec.database, versions.table)
        changed = not existing
        for name, wanted in actual.items():
            if name not in existing:
                if existing:
                    self.run(ddl.add_column(versions, name, wanted))
                changed = True
            elif existing[name] != wanted:
                self.run(ddl.modify_column(versions, name, wanted))
                changed = True
        if changed or not self._feed_exists(spec):
            self.run(history.drop_feed(spec))
            self.run(history.create_feed(spec, columns))
            self.run(history.history_view(spec, actual))

    def _feed_exists(self, spec: ddl.TableSpec) -> bool:
        return bool(
            self.connection.query_rows(
                "SELECT 1 FROM system.tables WHERE database = {db:String} AND name = {t:String}",
                {"db": spec.database, "t": spec.table + history.FEED},
            )
        )

    def _ensure_table(self, spec: ddl.TableSpec) -> dict[str, str]:
        if spec.database not in self._databases:
            self.run(ddl.create_database(spec.database, spec.cluster))
            self._databases.add(spec.database)
        existing = self.existing_columns(spec.database, spec.table)
        if not existing:
            self.run(ddl.create_table(spec))
            self.run(ddl.current_view(spec))
            self.logger.info("Created table %s.%s", spec.database, spec.table)
            return self.existing_columns(spec.database, spec.table)
        if spec.owner is not None:
            self._stamp_if_unowned(spec)
        changed = False
        for name, wanted in spec.columns.items():
            if name not in existing:
                self.run(ddl.add_column(spec, name, wanted))
                self.logger.info("Added column %s.%s %s", spec.table, name, wanted)
                changed = True
                continue
            wider = ddl.widen(existing[name], wanted)
            if wider is None:
                continue
            if name in spec.keys:
                msg = (
                    f"table {spec.table!r}: key column {name!r} is {existing[name]} but the "
                    f"stream now sends {wanted}; key columns cannot change type in place"
                )
                raise SchemaChangeError(msg)
            target_type = ddl.nullable(wider)  # key columns never get here (refused above)
            self.run(ddl.modify_column(spec, name, target_type))
            self.logger.info("Widened column %s.%s to %s", spec.table, name, target_type)
            changed = True
        if changed:
            self.run(ddl.current_view(spec))
            return self.existing_columns(spec.database, spec.table)
        return existing

    def _stamp_if_unowned(self, spec: ddl.TableSpec) -> None:
        """Record the owning stream on a table created before owners were recorded.

        A comment someone else wrote is left as it is.
        """
        rows = self.connection.query_rows(
            "SELECT comment FROM system.tables WHERE database = {db:String} AND name = {t:String}",
            {"db": spec.database, "t": spec.table},
        )
        if rows and not str(rows[0][0]):
            self.run(ddl.stamp_comment(spec))
