"""Rows and values kept on disk while a module is read, so memory stays flat as data grows.

One temporary SQLite file per module read holds

* ``rows``: subform rows and links by parent record id, filled by listing or exporting their
  modules and read back a page of parents at a time (the join), each parent's rows in the order a
  single-record read holds them (their position where :mod:`.row_order` gives one, else by id);
* ``values``: values by record id (fields a Bulk Read export lacks, read by Get Records);
* ``emitted``: a digest of the rows each parent was emitted with, to check them again when a
  listing may have raced an edit;
* ``parents``: listed parents held back until a route is chosen.

Bodies are msgspec JSON; the file is deleted on :meth:`Spool.close`.
"""

from __future__ import annotations

import hashlib
import sqlite3
import tempfile
import typing as t
from pathlib import Path

import msgspec

BATCH = 500
MAX_VARIABLES = 500  # ids per IN (...) query, under SQLite's host-parameter limit


class Spool:
    """A temporary SQLite file; create it lazily, close it when the module is done."""

    def __init__(self) -> None:
        """Nothing is created until first use."""
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._db: sqlite3.Connection | None = None
        self._parents = 0

    @property
    def db(self) -> sqlite3.Connection:
        """The connection, opened (and the tables created) on first use."""
        if self._db is None:
            self._dir = tempfile.TemporaryDirectory(prefix="tap-zoho-spool-")
            # The module's reads may hand rows over from a worker thread.
            self._db = sqlite3.connect(
                str(Path(self._dir.name) / "spool.db"), check_same_thread=False
            )
            self._db.executescript(
                """
                PRAGMA journal_mode = OFF;
                PRAGMA synchronous = OFF;
                CREATE TABLE rows (
                    parent TEXT, field TEXT, row_id TEXT, position INTEGER, body BLOB
                );
                CREATE INDEX rows_parent ON rows (parent);
                CREATE TABLE row_counts (field TEXT PRIMARY KEY, n INTEGER);
                CREATE TABLE vals (id TEXT PRIMARY KEY, body BLOB);
                CREATE TABLE emitted (parent TEXT PRIMARY KEY, digest TEXT);
                CREATE TABLE parents (seq INTEGER PRIMARY KEY, body BLOB);
                """
            )
        return self._db

    def close(self) -> None:
        """Delete the file."""
        if self._db is not None:
            self._db.close()
            self._db = None
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    # ------------------------------------------------------------------ rows by parent
    def add_rows(
        self,
        field: str,
        rows: t.Iterable[tuple[str, dict[str, t.Any]]],
        position: t.Callable[[dict[str, t.Any]], int | None] | None = None,
    ) -> int:
        """Store ``(parent id, element)`` pairs of one field; return how many.

        ``position`` gives an element's place among its parent's (None, or no function: by id).
        """
        count = 0
        batch: list[tuple[str, str, str, int | None, bytes]] = []
        for parent, element in rows:
            place = position(element) if position is not None else None
            row_id = str(element.get("id") or "")
            batch.append((parent, field, row_id, place, msgspec.json.encode(element)))
            count += 1
            if len(batch) >= BATCH:
                self.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?)", batch)
                batch = []
        if batch:
            self.db.executemany("INSERT INTO rows VALUES (?, ?, ?, ?, ?)", batch)
        self.db.execute(
            "INSERT INTO row_counts VALUES (?, ?) ON CONFLICT (field) DO UPDATE SET n = n + ?",
            (field, count, count),
        )
        self.db.commit()
        return count

    def drop_rows(self, field: str | None = None) -> None:
        """Forget the rows of one field (or of every field)."""
        if self._db is None:
            return
        if field is None:
            self.db.execute("DELETE FROM rows")
            self.db.execute("DELETE FROM row_counts")
        else:
            self.db.execute("DELETE FROM rows WHERE field = ?", (field,))
            self.db.execute("DELETE FROM row_counts WHERE field = ?", (field,))
        self.db.commit()

    def row_count(self, field: str) -> int:
        """Rows stored for one field."""
        if self._db is None:
            return 0
        found = self.db.execute("SELECT n FROM row_counts WHERE field = ?", (field,)).fetchone()
        return int(found[0]) if found else 0

    def rows_for(self, parents: t.Sequence[str]) -> dict[str, dict[str, list[dict[str, t.Any]]]]:
        """``{parent: {field: [element, ...]}}``, by position, then in ascending id order."""
        out: dict[str, dict[str, list[dict[str, t.Any]]]] = {}
        if self._db is None:
            return out
        for start in range(0, len(parents), MAX_VARIABLES):
            chunk = list(parents[start : start + MAX_VARIABLES])
            marks = ",".join("?" * len(chunk))
            query = (
                f"SELECT parent, field, body FROM rows WHERE parent IN ({marks}) "  # noqa: S608
                "ORDER BY parent, field, position IS NULL, position, length(row_id), row_id"
            )
            for parent, field, body in self.db.execute(query, chunk):
                out.setdefault(parent, {}).setdefault(field, []).append(msgspec.json.decode(body))
        return out

    # ------------------------------------------------------------------ values by id
    def put_values(self, rows: t.Iterable[tuple[str, dict[str, t.Any]]]) -> None:
        """Store (or merge into) the values of each id."""
        for rid, values in rows:
            old = self.values(rid) or {}
            self.db.execute(
                "INSERT OR REPLACE INTO vals VALUES (?, ?)",
                (rid, msgspec.json.encode({**old, **values})),
            )
        self.db.commit()

    def values(self, rid: str) -> dict[str, t.Any] | None:
        """The stored values of ``rid``."""
        if self._db is None:
            return None
        found = self.db.execute("SELECT body FROM vals WHERE id = ?", (rid,)).fetchone()
        return t.cast("dict[str, t.Any]", msgspec.json.decode(found[0])) if found else None

    # ------------------------------------------------------------------ emitted digests
    def note_emitted(self, digests: t.Iterable[tuple[str, str]]) -> None:
        """Remember the digest of the rows each parent was emitted with."""
        self.db.executemany("INSERT OR REPLACE INTO emitted VALUES (?, ?)", list(digests))
        self.db.commit()

    def emitted(self) -> t.Iterator[tuple[str, str]]:
        """Every ``(parent, digest)`` noted, in parent order."""
        if self._db is None:
            return
        yield from self.db.execute("SELECT parent, digest FROM emitted ORDER BY parent")

    # ------------------------------------------------------------------ parents held back
    def hold(self, rows: t.Iterable[dict[str, t.Any]]) -> None:
        """Keep listed parents until a route is chosen."""
        batch = [(msgspec.json.encode(row),) for row in rows]
        self.db.executemany("INSERT INTO parents (body) VALUES (?)", batch)
        self.db.commit()
        self._parents += len(batch)

    def held(self, page: int, *, forget: bool = True) -> t.Iterator[list[dict[str, t.Any]]]:
        """The held parents in the order held, ``page`` at a time; then (``forget``) drops them."""
        if self._db is None or not self._parents:
            return
        last = 0
        while True:
            found = self.db.execute(
                "SELECT seq, body FROM parents WHERE seq > ? ORDER BY seq LIMIT ?", (last, page)
            ).fetchall()
            if not found:
                break
            last = found[-1][0]
            yield [msgspec.json.decode(body) for _, body in found]
        if forget:
            self.db.execute("DELETE FROM parents")
            self.db.commit()
            self._parents = 0


def digest(values: t.Mapping[str, t.Any]) -> str:
    """A short hash of a parent's completed values (equal values, equal digests)."""
    encoded = msgspec.json.encode(values, order="sorted")
    return hashlib.blake2b(encoded, digest_size=8).hexdigest()
