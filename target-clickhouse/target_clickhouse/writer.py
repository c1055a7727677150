"""The one owner of the ClickHouse connection and of every write: tables, inserts, retries, STATE.

The guarantees of the target live here, and only here:

* **One table per stream, one stream per table.** :meth:`ClickHouseWriter.open_table` claims the
  stream's table (:mod:`.claims`) before creating or evolving it: distinct stream names always
  get distinct tables, the same ones in every run.
* **One insert in flight per table, in order.** A full batch is inserted on a worker thread
  while the next one is read; :meth:`ClickHouseWriter.submit` first waits for the previous insert
  of the same table. Before a table's layout changes (a new SCHEMA), the batch spooled under the
  old layout is inserted and acknowledged first, so rows keep the layout they were read for.
* **Transient failures are retried** by ClickHouse error code (:func:`.errors.transient`), with
  the same deduplication token each time; a refused batch ends the run with one line naming the
  stream, column and value (:mod:`.explain`).
* **STATE only after the inserts that cover it are acknowledged.** :meth:`ClickHouseWriter.state`
  hands over every spooled batch, then holds the STATE back until every batch submitted before
  it is acknowledged, and emits it from whichever thread sees that. After a failed insert no
  STATE is emitted again.
* **Close and abort.** :meth:`ClickHouseWriter.close` inserts what is left and waits for it;
  :meth:`ClickHouseWriter.abort` lets the inserts in flight finish (their rows were read before
  the error), removes the batch files that will not be inserted, and closes the client.

Sinks only fill a :class:`TableLoad`'s spool and hand it over; nothing here calls a sink or
the target back, except the ``emit_state`` and per-load ``counted`` callbacks they pass in.
"""

from __future__ import annotations

import hashlib
import threading
import time
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from clickhouse_connect.driver.exceptions import DatabaseError

from .claims import TableClaims
from .errors import transient
from .explain import refusal
from .loadplan import LoadPlan
from .spool import Spool, remove
from .tables import SchemaManager

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from .connection import Connection
    from .loadplan import Layout

INSERT_TRIES = 3


@dataclass(frozen=True)
class WriterSettings:
    """What the writer needs of the target's settings."""

    table_prefix: str = ""
    batch_rows: int = 50_000
    batch_bytes: int = 64 * 1024 * 1024
    workers: int = 1  # inserts in flight at once, over all tables
    keep_history: bool = False  # ``history_mode``: see :mod:`.history`


@dataclass
class TableLoad:
    """One sink's way into its table: the plan its rows are read with, and the spool it fills.

    ``counted(rows)`` is called (on a worker thread) once an insert of ``rows`` is acknowledged.
    """

    stream: str
    plan: LoadPlan
    spool: Spool
    counted: Callable[[int], None] = field(default=lambda _rows: None)
    #: Properties written under another JSON key (:attr:`.loadplan.Layout.renames`): records
    #: of this load must go through the sink, which renames them.
    renames: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        """(database, table)."""
        return self.plan.spec.database, self.plan.spec.table


@dataclass
class _Table:
    """A table of this run: the load filling it and the insert in flight."""

    load: TableLoad | None = None
    in_flight: Future[None] | None = None

    def wait(self) -> None:
        """Block until the insert in flight is acknowledged; raise what it raised."""
        in_flight, self.in_flight = self.in_flight, None
        if in_flight is not None:
            in_flight.result()


class ClickHouseWriter:
    """Creates the tables, inserts batches in the background, retries them, releases STATE."""

    def __init__(
        self,
        connect: Callable[[], Connection],
        settings: WriterSettings,
        logger: logging.Logger,
        emit_state: Callable[[dict[str, t.Any]], None],
    ) -> None:
        """``connect`` opens the client (on first use); ``emit_state`` writes one STATE."""
        self._connect = connect
        self.settings = settings
        self._logger = logger
        self._emit_state = emit_state
        self._connection: Connection | None = None
        self._schema: SchemaManager | None = None
        self._claims = TableClaims(settings.table_prefix, self._objects, logger)
        self._tables: dict[tuple[str, str], _Table] = {}
        self._loads: dict[str, TableLoad] = {}  # by stream: where its raw records go
        self._executor = ThreadPoolExecutor(
            max_workers=max(1, settings.workers), thread_name_prefix="clickhouse-insert"
        )
        self._lock = threading.RLock()  # counters, held STATE, STATE output
        self._submitted = 0
        self._outstanding: set[int] = set()
        self._held: list[tuple[int, dict[str, t.Any]]] = []
        self._last_state: dict[str, t.Any] | None = None
        self._failed: BaseException | None = None

    # ------------------------------------------------------------------ tables
    @property
    def connection(self) -> Connection:
        """The client of this run, opened on first use (a bad host or path fails early)."""
        if self._connection is None:
            self._connection = self._connect()
        return self._connection

    @property
    def schema(self) -> SchemaManager:
        """DDL through the connection."""
        if self._schema is None:
            self._schema = SchemaManager(self.connection, self._logger)
        return self._schema

    def _objects(self, database: str) -> dict[str, tuple[str, str]]:
        return self.schema.objects(database)

    def open_table(self, layout: Layout) -> TableLoad:
        """Claim, create or evolve the stream's table; return the load its sink fills.

        A stream's earlier load (an earlier SCHEMA) is inserted and acknowledged first.
        """
        self._raise_failure()
        name = self._claims.claim(layout.database, layout.stream)
        table = self._tables.setdefault((layout.database, name), _Table())
        if table.load is not None:
            self.submit(table.load)
        table.wait()
        spec = layout.spec(name)
        actual = self.schema.ensure_table(spec, keep_history=self.settings.keep_history)
        load = TableLoad(
            stream=layout.stream,
            plan=LoadPlan.build(spec, layout, actual),
            spool=Spool(self.settings.batch_rows, self.settings.batch_bytes),
            renames=layout.renames,
        )
        table.load = load
        self._loads[layout.stream] = load
        return load

    def accept_raw(self, stream: str, record: bytes | memoryview) -> bool:
        """Spool one record's raw JSON text for ``stream``; False to send it through the SDK.

        That is for a stream without a table yet (the SDK reports it), or with properties
        ClickHouse cannot read by name (:attr:`TableLoad.renames`).
        """
        load = self._loads.get(stream)
        if load is None or load.renames:
            return False
        if load.spool.add(record):
            self._logger.info(
                "Target sink for '%s' is full (%d rows). Inserting...", stream, load.spool.rows
            )
            self.submit(load)
        return True

    # ------------------------------------------------------------------ inserts
    def submit(self, load: TableLoad) -> None:
        """Insert the load's spooled batch in the background, after its table's previous one."""
        self._raise_failure()
        taken = load.spool.take()
        if taken is None:
            return
        path, rows = taken
        table = self._tables[load.key]
        try:
            table.wait()
        except BaseException:
            remove(path)
            raise
        with self._lock:
            self._submitted += 1
            sequence = self._submitted
            self._outstanding.add(sequence)
        table.in_flight = self._executor.submit(self._insert, sequence, load, path, rows)

    def hand_over_all(self) -> None:
        """Submit every spooled batch of every table."""
        for table in list(self._tables.values()):
            if table.load is not None:
                self.submit(table.load)

    def _insert(self, sequence: int, load: TableLoad, path: str, rows: int) -> None:
        try:
            self._insert_with_retries(load, path)
        except BaseException as exc:
            with self._lock:
                self._failed = self._failed or exc
                self._held.clear()
            raise
        finally:
            remove(path)
        load.counted(rows)
        with self._lock:
            self._outstanding.discard(sequence)
            self._release()

    def _insert_with_retries(self, load: TableLoad, path: str) -> None:
        """One ``INSERT ... SELECT`` of the batch; transient failures retried with one token."""
        plan = load.plan
        settings: dict[str, t.Any] = {}
        if not plan.spec.keys:  # the same rows give the same token, in this run or the next
            digest = hashlib.blake2b(digest_size=16)
            with Path(path).open("rb") as batch:
                for chunk in iter(lambda: batch.read(1 << 20), b""):
                    digest.update(chunk)
            settings["insert_deduplication_token"] = f"{plan.spec.table}-{digest.hexdigest()}"
        for attempt in range(1, INSERT_TRIES + 1):
            try:
                self.connection.insert_batch(plan, path, settings)
            except Exception as exc:
                if transient(exc) and attempt < INSERT_TRIES:
                    self._logger.warning(
                        "Insert into %s failed (%s); retrying", plan.spec.table, exc
                    )
                    time.sleep(attempt)
                    continue
                if isinstance(exc, DatabaseError) and not transient(exc):
                    raise refusal(load.stream, plan, path, str(exc), self.connection) from None
                raise
            return

    def _raise_failure(self) -> None:
        """End the run as soon as any insert failed, whichever table it was for."""
        failed = self._failed
        if failed is not None:
            raise failed

    # ------------------------------------------------------------------ STATE
    def state(self, state: dict[str, t.Any]) -> None:
        """Hand over every spooled batch; emit ``state`` once all submitted are acknowledged."""
        self.hand_over_all()
        with self._lock:
            if self._failed is not None:
                return
            self._held.append((self._submitted, state))
            self._release()

    def _release(self) -> None:
        """Emit the newest held STATE whose batches are all acknowledged (lock held)."""
        if self._failed is not None:
            return
        oldest = min(self._outstanding, default=self._submitted + 1)
        ready = [held for held in self._held if held[0] < oldest]
        if not ready:
            return
        del self._held[: len(ready)]
        state = ready[-1][1]
        if state != self._last_state:
            self._last_state = state
            self._emit_state(state)

    # ------------------------------------------------------------------ end of run
    def close(self) -> None:
        """Insert what is left, wait for every insert, then close the client."""
        try:
            self.hand_over_all()
            for table in self._tables.values():
                table.wait()
        finally:
            self._shutdown()

    def abort(self) -> None:
        """On a fatal error: let inserts in flight finish, drop unsent batches, close."""
        for table in self._tables.values():
            try:
                table.wait()
            except Exception as exc:  # noqa: BLE001 - the first error is the one reported
                self._logger.warning("An insert also failed: %s", exc)
            if table.load is not None:
                table.load.spool.discard()
        self._shutdown()

    def _shutdown(self) -> None:
        self._executor.shutdown(wait=True)
        connection, self._connection = self._connection, None
        if connection is not None:
            connection.close()
