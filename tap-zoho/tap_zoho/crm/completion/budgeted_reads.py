"""Reads of one record at a time within ``crm_detail_reads_max_per_run``, and what waits for them.

Every single-record read and Rich Text API read of a run takes a credit from the run's
:class:`~.budget.DetailBudget`. Records the budget refuses are emitted with what the list
gave, counted as incomplete, and their ids kept in the module's state (``detail_pending``, at most
100,000): a later run reads them whole and emits them again (same ``Modified_Time``, whole values,
so targets keeping the last version of a tie replace the incomplete one).

A single-record read may itself cut an array and say so in ``$has_more`` (3.2). Such a record is
not emitted here: it goes to ``hold`` (:mod:`.truncated` completes it from the subform and linking
lists once the module's reads are done), its id waiting in ``detail_pending`` meanwhile so that a
run killed before then reads it again. Each whole read also shows how Zoho orders a subform's
rows (:mod:`.row_order`).
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .inputs import CompletionRun
    from .plan import CompletionFields
    from .record_reads import RecordReads
    from .row_order import RowOrders

    Hold = Callable[[dict[str, t.Any], tuple[str, ...]], None]

DETAIL_PENDING = "detail_pending"  # ids emitted with list values only, completed on a later run
HAS_MORE = "$has_more"
MAX_DETAIL_PENDING = 100_000


class BudgetedReads:
    """Per-record reads of one module within the run's budget; the rest wait in state."""

    def __init__(
        self,
        reads: RecordReads,
        run: CompletionRun,
        fields: CompletionFields,
        state: dict[str, t.Any],
    ) -> None:
        """``state`` is the module's state, where pending ids live."""
        self.reads = reads
        self.budget = run.budget
        self.fields = fields
        self.state = state
        self.cap = run.cap
        self.logger = run.logger
        self.module = run.module
        self.incomplete = 0
        self._pending_before = [str(i) for i in state.get(DETAIL_PENDING) or []]
        self._waiting = set(self._pending_before)
        self.done: set[str] = set()  # of those waiting: completed by this run's own reads
        self._pending: list[str] = []
        self.hold: Hold | None = None  # where records a read cut ($has_more) go (.truncated)
        self.orders: RowOrders | None = None  # learns each subform's row order (.row_order)

    def read(self, rows: list[dict[str, t.Any]], *, whole: bool) -> set[str]:
        """Complete ``rows`` in place: whole (every field a list leaves out) or rich text only.

        Returns the ids of the rows handed to ``hold`` instead (a read cut an array): not to be
        emitted now.
        """
        held: set[str] = set()
        if not rows:
            return held
        granted = self.budget.take(len(rows))
        if granted < len(rows):
            self.incomplete += len(rows) - granted
            self._remember_pending([str(r["id"]) for r in rows[granted:]])
        rows = rows[:granted]
        ids = [str(r["id"]) for r in rows]
        if whole:
            details = self.reads.whole(ids, self.fields.fields)
        else:
            details = self.reads.rich_text(ids, self.fields.rich_text)
        names = self.fields.fields if whole else self.fields.rich_text
        for row, detail in zip(rows, details, strict=True):
            self.completed(str(row["id"]))
            if detail is None:
                self.incomplete += 1
                self.logger.info("%s record %s vanished before its read.", self.module, row["id"])
                continue
            for name in names:
                if name in detail:
                    row[name] = detail[name]
            if whole and self._held(row, detail):
                held.add(str(row["id"]))
        return held

    def completed(self, rid: str) -> None:
        """Note a record this run completed (so a later run need not read it again)."""
        if rid in self._waiting:
            self.done.add(rid)

    def _held(self, record: dict[str, t.Any], detail: dict[str, t.Any]) -> bool:
        """Hand a record whose read cut an array to ``hold``; True if it went there.

        Without ``hold`` (nothing can complete it), it is counted incomplete and emitted as read.
        """
        self._observe_order(detail)
        cut = truncated_fields(detail, self.fields.omitted)
        if not cut:
            return False
        if self.hold is None:
            self.incomplete += 1
            self.logger.warning(
                "%s record %s: Zoho says %s hold more rows than a single-record read returns.",
                self.module,
                record.get("id"),
                ", ".join(cut),
            )
            return False
        self.wait(str(record["id"]))
        self.hold(record, cut)
        return True

    def _observe_order(self, detail: dict[str, t.Any]) -> None:
        if self.orders is None:
            return
        cut = truncated_fields(detail, self.fields.omitted)
        for source in self.fields.sources:
            if source.kind != "subform" or not source.module or source.field in cut:
                continue
            if self.orders.observe(source.module, detail.get(source.field)):
                self.logger.info(
                    "%s: a single-record read holds %s rows by %s; later joins follow it.",
                    self.module,
                    source.module,
                    self.orders.reading(source.module),
                )

    def wait(self, rid: str) -> None:
        """Keep ``rid`` in ``detail_pending`` until :meth:`release`: a killed run reads it again."""
        if rid in self._pending:
            return
        self._pending.append(rid)
        pending = self.state.setdefault(DETAIL_PENDING, list(self._pending_before))
        if rid not in pending and len(pending) < MAX_DETAIL_PENDING:
            pending.append(rid)

    def release(self, rid: str) -> None:
        """``rid`` was emitted whole: it no longer waits."""
        self.completed(rid)
        self.done.add(rid)
        if rid in self._pending:
            self._pending.remove(rid)
        pending = self.state.get(DETAIL_PENDING)
        if isinstance(pending, list) and rid in pending:
            pending.remove(rid)
            if not pending:
                self.state.pop(DETAIL_PENDING, None)

    def _remember_pending(self, ids: list[str]) -> None:
        """Note records emitted incomplete, in state before any STATE covers them."""
        if self.budget.first_refusal():
            self.logger.warning(
                "crm_detail_reads_max_per_run (%d) reached in %s: the remaining records of this "
                "run keep the list's values (subforms, multi-select and multi-user lookups, line "
                "items empty; rich text cut at 500 characters); later runs complete them.",
                self.cap,
                self.module,
            )
        self._pending += ids
        pending = self.state.setdefault(DETAIL_PENDING, list(self._pending_before))
        room = MAX_DETAIL_PENDING - len(pending)
        pending += ids[: max(room, 0)]
        if room < len(ids):
            self.logger.warning(
                "%s: more than %d records wait for their single-record read; the rest stay "
                "incomplete until they change or a full refresh.",
                self.module,
                MAX_DETAIL_PENDING,
            )

    def catch_up(self, selected: t.Collection[str], *, enabled: bool) -> Iterator[dict[str, t.Any]]:
        """Records an earlier run emitted with list values only, read whole within the budget."""
        pending = set(self._pending)
        todo = [i for i in self._pending_before if i not in self.done and i not in pending]
        still = todo
        if todo and enabled:
            granted = self.budget.take(len(todo))
            still = todo[granted:]
            yield from self.whole_records(todo[:granted], selected)
            self.logger.info(
                "%s: completed %d records an earlier run left incomplete; %d still wait.",
                self.module,
                granted,
                len(still) + len(self._pending),
            )
        waiting = (still + self._pending)[:MAX_DETAIL_PENDING]
        if waiting:
            self.state[DETAIL_PENDING] = waiting
        else:
            self.state.pop(DETAIL_PENDING, None)

    def whole_records(
        self, ids: list[str], selected: t.Collection[str]
    ) -> Iterator[dict[str, t.Any]]:
        """Each record read whole (every field), reduced to the selected ones; none if gone."""
        keep = {"id", *selected}
        for record in self.reads.whole(ids):
            if record is None:
                continue  # deleted since: the deletions pass reports it
            for extra in record.keys() - keep - {HAS_MORE}:
                del record[extra]
            if self._held(record, record):
                continue
            record.pop(HAS_MORE, None)
            yield record


def truncated_fields(detail: t.Mapping[str, t.Any], omitted: t.Iterable[str]) -> tuple[str, ...]:
    """The fields a single-record read says hold more rows than it returned (``$has_more``).

    The shape is not documented: a map of field name to flag, or a list of names.
    """
    has_more = detail.get(HAS_MORE)
    if isinstance(has_more, list):
        has_more = dict.fromkeys((str(name) for name in has_more), True)
    if not isinstance(has_more, dict):
        return ()
    return tuple(name for name in omitted if has_more.get(name))
