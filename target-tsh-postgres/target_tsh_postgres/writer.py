"""The one owner of the ERP connection and of every write: batches, retries, results and STATE.

The guarantees of the target live here, and only here:

* **One batch in flight.** A batch is written on a background thread while the next one is read;
  :meth:`ErpWriter.submit` waits for the previous batch first, so batches commit in order.
* **Transient errors are retried.** Lock or statement timeouts, deadlocks, serialization failures
  and lost connections (:func:`.errors.is_transient`) are retried with exponential backoff for up
  to ``write_retry_seconds``, reconnecting when the connection is gone; each retry is a WARNING
  with its attempt number. A batch that still fails ends the run (:class:`.WriteFailedError`).
* **STATE only after the rows it covers are committed.** :meth:`ErpWriter.state` holds a STATE
  back until every batch submitted before it has committed, then emits it (from whichever thread
  sees the commit). After a failed batch no STATE is ever emitted again.
* **Refused rows are counted, reported and decide STATE.** Rows PostgreSQL refuses for good
  (:data:`.errors.REFUSALS`) and rows the sink refused on the way (:mod:`.storable`) are
  reported one by one with their stream, id, column and value, in the order of their batches.
  While at most ``max_failed_rows`` rows were refused, STATE moves past them (they are accepted
  losses, listed in the report); once more were refused, every other row is still written but
  no further STATE is emitted, so the next run reads the refused rows again.

The worker thread is not a daemon: a run that ends with an error still finishes (commits) the
batch in flight before the process exits.
"""

from __future__ import annotations

import contextlib
import threading
import time
import typing as t
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import psycopg2

from . import upsert
from .ddl import create_tables
from .errors import ErpUnavailableError, WriteFailedError, is_transient
from .mapping import TABLES
from .storable import shown

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable

    from psycopg2.extensions import connection

    from .mapping import Table
    from .report import Report

FIRST_RETRY_SECONDS = 1.0
LONGEST_RETRY_SECONDS = 30.0


@dataclass(frozen=True)
class WriterSettings:
    """What the writer needs to know of the target's settings."""

    schema: str
    create_tables: bool
    max_failed_rows: int
    retry_seconds: float


@dataclass(frozen=True)
class Refused:
    """A refused record or row, each part as one printable line (``storable.shown``)."""

    zoho_id: str
    name: t.Any
    field: str
    value: str
    reason: str


@dataclass
class Batch:
    """One stream's rows for one table, as read, and what the sink refused or repaired on the way.

    ``repaired``: the id of each row stored without characters PostgreSQL cannot store, and the
    fields they were removed from (the sink logged the warning when it read the record).
    """

    stream: str
    table: Table
    rows: list[dict[str, t.Any]]
    refused: list[Refused] = field(default_factory=list)
    repaired: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)


@dataclass
class _Prepared:
    batch: Batch
    data: upsert.Prepared | None  # None: no rows, only refusals to count


@dataclass
class _Job:
    """Work in the batch sequence that is not an upsert (:mod:`.reconcile`): retried alike."""

    name: str
    size: int
    run: Callable[[connection], None]


_R = t.TypeVar("_R")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class ErpWriter:
    """Writes batches into the ERP in the background, counts them, and releases STATE."""

    def __init__(
        self,
        connect: Callable[[], connection],
        settings: WriterSettings,
        report: Report,
        logger: logging.Logger,
        emit_state: Callable[[dict[str, t.Any]], None],
    ) -> None:
        """``connect`` opens a new connection; ``emit_state`` writes one STATE message."""
        self._connect = connect
        self.settings = settings
        self.report = report
        self._logger = logger
        self._emit_state = emit_state
        self._conn: connection | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="erp-writer")
        self._pending: Future[None] | None = None
        self._lock = threading.Lock()  # guards the counters below and the STATE output
        self._submitted = 0
        self._committed = 0
        self._held_state: tuple[int, dict[str, t.Any]] | None = None
        self._failed: BaseException | None = None
        self._unstated_batches = False

    # ------------------------------------------------------------------ connection
    def open(self) -> None:
        """Connect (and create or extend the tables) before the first batch: errors come early."""
        self.wait()
        if self._conn is None:
            try:
                self._conn = self._open()
            except psycopg2.Error as exc:
                msg = f"cannot connect to the ERP database or prepare its tables: {_one_line(exc)}"
                raise ErpUnavailableError(msg) from None

    def _open(self) -> connection:
        conn = self._connect()
        if self.settings.create_tables:
            create_tables(conn, self.settings.schema, TABLES)
        return conn

    def _drop_broken_connection(self) -> None:
        conn = self._conn
        if conn is not None and conn.closed:
            self._conn = None

    # ------------------------------------------------------------------ batches
    def submit(self, batch: Batch) -> None:
        """Write a batch in the background once the previous one is committed.

        Its COPY text is built here, on the caller's thread, while the previous batch is written.
        """
        prepared = _Prepared(batch, upsert.prepare(batch.rows, batch.table) if batch.rows else None)
        self.wait()
        with self._lock:
            self._submitted += 1
            sequence = self._submitted
        self._unstated_batches = True
        self._pending = self._executor.submit(self._write, sequence, prepared)

    def submit_job(self, name: str, size: int, run: Callable[[connection], None]) -> None:
        """Run ``run(connection)`` once the batches before it are committed; STATE waits for it.

        ``run`` commits its own transaction; transient errors retry it as they retry a batch.
        """
        self.wait()
        with self._lock:
            self._submitted += 1
            sequence = self._submitted
        self._unstated_batches = True
        self._pending = self._executor.submit(self._write, sequence, _Job(name, size, run))

    def wait(self) -> None:
        """Block until the batch in flight is committed; re-raise the error that stopped it."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def _write(self, sequence: int, batch: _Prepared | _Job) -> None:
        try:
            if isinstance(batch, _Job):
                self._with_retries(batch.name, batch.size, batch.run)
            else:
                self._count(batch.batch, self._upsert_with_retries(batch))
        except BaseException as exc:
            with self._lock:
                self._failed = exc
                self._held_state = None
            raise
        with self._lock:
            self._committed = sequence
            held = self._held_state
            if held is not None and held[0] <= sequence:
                self._held_state = None
                self._release(held[1])

    def _upsert_with_retries(self, prepared: _Prepared) -> upsert.BatchResult:
        table, data = prepared.batch.table, prepared.data
        if data is None:
            return upsert.BatchResult()

        def attempt(conn: connection) -> upsert.BatchResult:
            return upsert.upsert_batch(conn, self.settings.schema, table, data)

        return self._with_retries(table.name, len(data.rows), attempt)

    def _with_retries(self, name: str, size: int, attempt: Callable[[connection], _R]) -> _R:
        deadline = time.monotonic() + self.settings.retry_seconds
        delay = FIRST_RETRY_SECONDS
        attempts = 1
        while True:
            try:
                if self._conn is None:
                    self._conn = self._open()
                return attempt(self._conn)
            except psycopg2.Error as exc:
                if self._conn is not None:
                    _rollback_quietly(self._conn)
                if not is_transient(exc):
                    msg = f"table {name}: the database failed the batch: {_one_line(exc)}"
                    raise WriteFailedError(msg) from None
                self._drop_broken_connection()
                if time.monotonic() + delay > deadline:
                    msg = (
                        f"table {name}: {size} rows not written after {attempts} "
                        f"attempts: {_one_line(exc)}"
                    )
                    self._logger.error("%s", msg)  # noqa: TRY400 - the cause is in the message
                    raise WriteFailedError(msg) from None
                self._logger.warning(
                    "table %s: batch of %d rows not written (attempt %d): %s; retrying in %.0f s",
                    name,
                    size,
                    attempts,
                    _one_line(exc),
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, LONGEST_RETRY_SECONDS)
                attempts += 1

    def _count(self, batch: Batch, result: upsert.BatchResult) -> None:
        table, stream = batch.table, batch.stream
        stats = self.report.table(table.name)
        stats.inserted += result.inserted
        stats.updated += result.updated
        stats.unchanged += result.unchanged
        stats.successful += len(batch.rows) - len(result.failed)
        refusals = [
            Refused(
                shown("/".join(str(r.row[k]) for k in table.key)),
                r.row.get("name") or r.row.get("pricebook_name"),
                shown(r.column) if r.column else "(none named)",
                r.value or "(not shown)",
                r.reason,
            )
            for r in result.failed
        ]
        for zoho_id, fields in batch.repaired:
            self.report.repair(table.name, stream, zoho_id, fields)
        for refused in [*batch.refused, *refusals]:
            self.report.failure(
                table=table.name,
                stream=stream,
                zoho_id=refused.zoho_id,
                name=refused.name,
                column=refused.field,
                value=refused.value,
                error=refused.reason,
            )
            self._logger.error(
                "stream %r: %s %s (%s) refused: column %s, value %s: %s",
                stream,
                table.name,
                refused.zoho_id,
                refused.name,
                refused.field,
                refused.value,
                refused.reason,
            )

    # ------------------------------------------------------------------ STATE
    def state(self, state: dict[str, t.Any]) -> None:
        """Emit ``state`` once every batch submitted so far is committed (now, if they are)."""
        self._unstated_batches = False
        with self._lock:
            if self._failed is not None:
                return
            if self._committed == self._submitted:
                self._held_state = None
                self._release(state)
            else:
                self._held_state = (self._submitted, state)

    def take_unstated_batches(self) -> bool:
        """Whether a batch was submitted since STATE was last asked for (and forget it)."""
        unstated, self._unstated_batches = self._unstated_batches, False
        return unstated

    def _release(self, state: dict[str, t.Any]) -> None:
        """Emit (lock held), unless more rows were refused than ``max_failed_rows`` allows."""
        if self.report.failed <= self.settings.max_failed_rows:
            self._emit_state(state)

    # ------------------------------------------------------------------ end of run
    def close(self) -> None:
        """Finish the batch in flight, then close the connection and the worker thread."""
        try:
            self.wait()
        finally:
            self._executor.shutdown(wait=True)
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _rollback_quietly(conn: connection) -> None:
    """Roll back after a failure; a connection that is gone needs no rollback."""
    if not conn.closed:
        with contextlib.suppress(psycopg2.OperationalError, psycopg2.InterfaceError):
            conn.rollback()
