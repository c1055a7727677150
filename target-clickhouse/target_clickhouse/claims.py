"""Which stream loads which table: distinct stream names always get distinct tables.

A stream's table is named after it (:func:`.ddl.table_name`), so names such as ``le-ads``,
``le;ads``, ``le_ads`` and ``le ads`` all sanitise to ``le_ads``. The first of them to load that
table owns it, and every table records its owner in its comment (:func:`.ddl.stamp`). Any other
stream that sanitises alike gets the name with a short hash of its exact name
(``le_ads_1a2b3c4d``), in this run and every later one, whatever order the streams arrive in.
A table created before owners were recorded belongs to the first stream that claims it, and
is stamped then. A name is also taken when it would clash with another stream's derived objects
(``<table>_current`` and the history objects) or with any other object of the database.
"""

from __future__ import annotations

import typing as t

from . import ddl

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator

#: name -> (engine, comment) of every table and view in a database.
Objects = dict[str, tuple[str, str]]


def candidates(base: str, stream: str) -> Iterator[str]:
    """The names ``stream`` may get, in order: the plain one, then hashed ones."""
    yield base
    yield f"{base}_{ddl.short_hash(stream)}"
    attempt = 1
    while True:  # only when even the hashed name is taken (another stream chose it)
        yield f"{base}_{ddl.short_hash(f'{stream}#{attempt}')}"
        attempt += 1


def _names(table: str) -> tuple[str, ...]:
    return (table, *(table + suffix for suffix in ddl.DERIVED_SUFFIXES))


class TableClaims:
    """Names each stream's table, once per run; the database's existing owners come first."""

    def __init__(
        self, prefix: str, existing: Callable[[str], Objects], logger: logging.Logger
    ) -> None:
        """``existing(database)`` lists the database's tables and views (read once)."""
        self.prefix = prefix
        self._existing = existing
        self._logger = logger
        self._objects: dict[str, Objects] = {}
        self._tables: dict[tuple[str, str], str] = {}  # (database, stream) -> table
        self._users: dict[tuple[str, str], str] = {}  # (database, any name) -> stream

    def claim(self, database: str, stream: str) -> str:
        """The table of ``stream`` in ``database``: the same one for every call."""
        known = self._tables.get((database, stream))
        if known is not None:
            return known
        if database not in self._objects:
            self._objects[database] = objects = self._existing(database)
            for name, (_engine, comment) in objects.items():
                owner = ddl.stamped_stream(comment)
                if owner is not None:  # its derived objects are its stream's too
                    for derived in _names(name)[1:]:
                        self._users.setdefault((database, derived), owner)
        base = ddl.table_name(self.prefix, stream)
        table = next(c for c in candidates(base, stream) if self._free(database, c, stream))
        if table != base:
            self._logger.warning(
                "Stream %r loads table %r: %r belongs to another stream", stream, table, base
            )
        self._tables[database, stream] = table
        for name in _names(table):
            self._users[database, name] = stream
        return table

    def _free(self, database: str, table: str, stream: str) -> bool:
        objects = self._objects[database]
        for name in _names(table):
            user = self._users.get((database, name))
            if user is not None and user != stream:
                return False
            found = objects.get(name)
            if found is None:
                continue
            engine, comment = found
            owner = ddl.stamped_stream(comment)
            if owner is not None and owner != stream:
                return False  # another stream's table
            if name == table and "MergeTree" not in engine:
                return False  # a view or another kind of object, not a table to load
        return True
