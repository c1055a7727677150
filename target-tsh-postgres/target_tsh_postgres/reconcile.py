"""Items that vanished from Zoho: marked inactive in ``products`` after a complete listing.

A tap that lists every item stamps its records with one ``version`` and, once the listing is
complete, sends ``ACTIVATE_VERSION`` with it (tap-zoho does so per ``items_reconcile_deletions``).
Rows are never deleted. The target:

* records, with every batch of an items stream, which item ids that version contained, in a
  table of its own (:data:`SEEN_TABLE`: stream, organisation, item id, version). It is a real
  table, so a reconnect, a retried batch or a killed run loses nothing of it, and memory holds
  one batch of ids at most;
* on ``ACTIVATE_VERSION``, after every batch before it has committed, sets ``is_active = false``
  on the ``products`` of the organisations that version listed whose ids it did not contain, and
  forgets the ids of older versions, in one transaction. Nothing is marked before the listing is
  written, an interrupted run marks nothing, and replaying the same version changes nothing.

Only organisations present in the listing are touched (and not when a newer listing of theirs was
already written: an old file replayed changes nothing): an organisation another job syncs, or
whose every item was deleted (its listing has no rows to name it), is left as it is. Prices are
left as they are: ``product_prices`` has no active flag, and the ERP reads a product's prices
through the product.
"""

from __future__ import annotations

import typing as t

from psycopg2 import errors, sql

from .storable import clean_text, is_storable

if t.TYPE_CHECKING:
    import logging

    from psycopg2.extensions import connection, cursor

    from .mapping import Table
    from .report import TableStats

SEEN_TABLE = "zoho_item_versions"
VERSION = "_sdc_table_version"  # the RECORD's ``version``, as the SDK hands it to sinks
Seen = tuple[str, str, str, int]  # (stream, organisation, item id, version)


class Listings:
    """One items stream's listings: the ids each version held, and marking what one lacks.

    Each method that takes a connection is one transaction: committed, or rolled back on any
    error (so a retry after a lock timeout starts clean).
    """

    def __init__(  # noqa: PLR0913 - where the ids go, and where the outcome is told
        self,
        schema: str,
        stream: str,
        products: Table,
        stats: TableStats,
        logger: logging.Logger,
        *,
        create: bool = True,
    ) -> None:
        """``create``: the target's ``create_tables``; ``stats`` counts products marked."""
        self.schema = schema
        self.stream = stream
        self._stored_stream = clean_text(stream)  # a stream name is text in the table too
        self._products = products
        self._stats = stats
        self._logger = logger
        self._create = create
        self._ready: bool | None = None  # known once checked: present (or created)

    def row(self, record: dict[str, t.Any]) -> Seen | None:
        """``(stream, organisation, item id, version)`` of a versioned record, else None.

        An id PostgreSQL cannot store is no product either (:mod:`.storable` refuses its row):
        it is not listed. The organisation is cleaned as its product's is.
        """
        version = record.get(VERSION)
        item_id = record.get("item_id")
        if version is None or item_id in (None, ""):
            return None
        item_id = str(item_id)
        if not is_storable(item_id):
            return None
        org = record.get("organization_id") or ""
        org = clean_text(org) if isinstance(org, str) else str(org)
        return (self._stored_stream, org, item_id, int(version))

    def _table(self) -> sql.Composed:
        return sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(SEEN_TABLE))

    def _table_ready(self, conn: connection) -> bool:
        """Whether listed ids can be kept; a role that may not create their table gets a warning.

        Without the table, items are still written; only deletions are not reconciled.
        """
        if self._ready is None:
            self._ready = self._ensure_table(conn)
            if not self._ready:
                self._logger.warning(
                    "%s: table %s.%s is missing and may not be created (create_tables off, or "
                    "no CREATE privilege): items deleted in Zoho are not marked inactive",
                    self.stream,
                    self.schema,
                    SEEN_TABLE,
                )
        return self._ready

    def _ensure_table(self, conn: connection) -> bool:
        """Create the table when missing (checked first: an ERP role may not create objects).

        False when it is missing and may not be created (``create_tables`` off, or a role
        without the privilege).
        """
        try:
            with conn, conn.cursor() as cur:  # commits, or rolls back on any error
                return self._create_table(cur, conn)
        except errors.InsufficientPrivilege:
            return False

    def _create_table(self, cur: cursor, conn: connection) -> bool:
        cur.execute("SELECT to_regclass(%s)", (self._table().as_string(conn),))
        found = cur.fetchone()
        if found is None or found[0] is None:
            if not self._create:
                return False
            cur.execute(
                sql.SQL(
                    "CREATE TABLE IF NOT EXISTS {} (stream TEXT NOT NULL, "
                    "organization_id TEXT NOT NULL, zoho_item_id TEXT NOT NULL, "
                    "version BIGINT NOT NULL, "
                    "PRIMARY KEY (stream, organization_id, zoho_item_id))"
                ).format(self._table())
            )
        return True

    def write(self, conn: connection, rows: list[Seen]) -> None:
        """Upsert one batch of seen ids: the newest version of each id wins. Commits.

        One statement per batch: the ids travel as arrays, unnested and reduced to one row per
        id (``ON CONFLICT`` may touch a key once per statement) by the server.
        """
        if not self._table_ready(conn):
            return
        streams, organizations, item_ids, versions = map(list, zip(*rows, strict=True))
        with conn, conn.cursor() as cur:
            cur.execute(
                sql.SQL(
                    "INSERT INTO {} AS t (stream, organization_id, zoho_item_id, version) "
                    "SELECT s, o, i, max(v) FROM "
                    "unnest(%s::text[], %s::text[], %s::text[], %s::bigint[]) AS u(s, o, i, v) "
                    "GROUP BY s, o, i "
                    "ON CONFLICT (stream, organization_id, zoho_item_id) DO UPDATE "
                    "SET version = GREATEST(t.version, EXCLUDED.version)"
                ).format(self._table()),
                (streams, organizations, item_ids, versions),
            )

    def mark_missing(self, conn: connection, version: int) -> None:
        """After a complete listing: mark inactive the products it lacks, count and log them."""
        if not self._table_ready(conn):
            return
        marked = self._activate(conn, version)
        self._stats.deactivated += marked
        self._logger.info(
            "%s: listing %d complete; %d products no longer in Zoho marked inactive",
            self.stream,
            version,
            marked,
        )

    def _activate(self, conn: connection, version: int) -> int:
        """Mark the products of the listed organisations that ``version`` lacks. Commits.

        Returns how many products this changed (0 when replayed).
        """
        products = self._products
        target = sql.SQL("{}.{}").format(sql.Identifier(self.schema), sql.Identifier(products.name))
        with conn, conn.cursor() as cur:
            # Fresh statistics first: without them PostgreSQL expects one listed row and joins
            # by a nested loop over the whole table (minutes instead of a fraction of a second).
            # A role that does not own the table gets a warning from ANALYZE, not an error.
            cur.execute(sql.SQL("ANALYZE {}").format(self._table()))
            # Organisations this version listed, unless a newer listing of theirs was written
            # (an old file replayed must not undo what a newer listing established).
            cur.execute(
                sql.SQL(
                    "SELECT coalesce(array_agg(organization_id), '{{}}') FROM (SELECT "
                    "organization_id FROM {} WHERE stream = %s GROUP BY organization_id "
                    "HAVING bool_or(version = %s) AND NOT bool_or(version > %s)) AS listed"
                ).format(self._table()),
                (self._stored_stream, version, version),
            )
            row = cur.fetchone()
            organizations = row[0] if row is not None else None
            if not organizations:
                return 0
            cur.execute(
                sql.SQL(
                    "UPDATE {target} AS p SET is_active = false, last_synced = now() "
                    "WHERE coalesce(p.organization_id, '') = ANY(%(orgs)s) "
                    "AND p.is_active IS DISTINCT FROM false "
                    "AND NOT EXISTS (SELECT 1 FROM {seen} AS s WHERE s.stream = %(stream)s "
                    "AND s.organization_id = coalesce(p.organization_id, '') "
                    "AND s.zoho_item_id = p.zoho_item_id AND s.version = %(version)s)"
                ).format(target=target, seen=self._table()),
                {"orgs": organizations, "stream": self._stored_stream, "version": version},
            )
            marked = cur.rowcount
            cur.execute(
                sql.SQL(
                    "DELETE FROM {} WHERE stream = %s AND organization_id = ANY(%s) "
                    "AND version < %s"
                ).format(self._table()),
                (self._stored_stream, organizations, version),
            )
        return int(marked)
