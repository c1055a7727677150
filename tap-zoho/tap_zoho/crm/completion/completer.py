"""Completing the values a list leaves out, by the cheapest route Zoho documents (3.2, 3.3).

One :class:`Completer` per module read. Before the parents of a full read are emitted it reads
each subform and linking module whole (listing it, or by a Bulk Read job beside the parent's during
a backfill, whichever costs fewer credits) into a disk spool; each page of parents then takes its
rows from the spool, in the shape a single-record read gives. What no module holds is read one
record at a time: rich text a list may have cut (the Rich Text API), and every record of a module
whose route Zoho refuses (single-record reads), within ``crm_detail_reads_max_per_run``.

Incremental runs hold back the changed parents until the cheaper route is known: one read each
while they are few, re-listing the modules (their sizes are kept in state) once that is cheaper.

Races: a parent modified since its rows were listed is read whole. A listing pages by position,
so a row removed while it runs (a parent edited or deleted) can shift another out of every page:
the newest parents are probed before and after each listing, and when something changed in
between (or a deletion came at or after it), the lists are read again at the end of the module and
every parent whose rows differ is read whole and emitted again.
"""

from __future__ import annotations

import typing as t

from tap_zoho.crm.limits import ALL_RECORDS, MODIFIED_TIME
from tap_zoho.datetimes import to_epoch

from .budgeted_reads import BudgetedReads
from .linked_rows import LinkedRows, RouteRefused
from .plan import (
    CompletionFields,
    Cost,
    Route,
    Source,
    cheaper_to_export,
    list_cost,
    relist_is_cheaper,
    total,
)
from .record_reads import RecordReads
from .spool import Spool, digest

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_zoho.crm.bulk_read.jobs import BulkJobs

    from .inputs import CompletionRun

SIZES = "completion_sizes"
HOLD_IN_MEMORY = 1000
PROBE_ROWS = 5
PROBE_CALLS = 2


class Completer:
    """Completes the parents of one module read; see the module docstring."""

    def __init__(
        self, run: CompletionRun, fields: CompletionFields, state: dict[str, t.Any]
    ) -> None:
        """Nothing is read until a full read is prepared or the first page arrives."""
        self.run = run
        self.fields = fields
        self.state = state
        self.reads = RecordReads(run.get_json, run.path, run.module, run.logger)
        self.budgeted = BudgetedReads(self.reads, run, fields, state)
        self.linked = LinkedRows(run.get_json, run.per_page)
        self.spool = Spool()
        self.whole_reads = False  # the single-record route: every parent read whole
        self.decided = not (run.enabled and fields.sources)  # rich text alone: nothing to list
        self.since: int | None = None  # parents modified after this second are read whole
        self.listed: list[Source] = []  # listed (not exported): checked again after a race
        self.exported: list[Source] = []
        self.raced = False

    # ------------------------------------------------------------------ choosing a route
    def prepare_full(self, parents: int | None, jobs: BulkJobs | None = None) -> None:
        """Before a full read of ``parents`` records: read every source whole into the spool."""
        if self.decided:
            return
        self.decided = True
        missing = next((s for s in self.fields.sources if s.module is None), None)
        if missing is not None:
            self._single_reads(f"the field metadata of {missing.field} names no module")
            return
        exports = [
            s
            for s in self.fields.sources
            if jobs is not None and self._cheaper_to_export(s, parents)
        ]
        try:
            self._read_sources(exports, jobs, limit=parents)
        except RouteRefused as exc:
            self._save_sizes(whole=False)
            self._single_reads(str(exc))
            return
        self._report(
            f"listed instead of {parents:,} single-record reads"
            if parents is not None
            else "listed instead of a single-record read per record",
        )

    def _cheaper_to_export(self, source: Source, parents: int | None) -> bool:
        rows = self._size(source)
        rows = parents if rows is None else rows  # unknown: about a row per parent
        try:
            fields = self.linked.fields(source)
        except RouteRefused:
            return False
        return cheaper_to_export(source, rows, fields)

    def _size(self, source: Source) -> int | None:
        sizes = self.state.get(SIZES) or {}
        value = sizes.get(str(source.module))
        return int(value) if isinstance(value, int) else None

    def _read_sources(
        self, exports: list[Source], jobs: BulkJobs | None, limit: int | None
    ) -> None:
        """Exports run beside the listings: create the jobs, list the rest, then download.

        A job Bulk Read refuses (or that fails) leaves its module to be listed instead.
        """
        self.spool.drop_rows()
        self.listed, self.exported = [], []
        listed = [s for s in self.fields.sources if s not in exports]
        for source in listed:
            self.linked.fields(source)  # a module Zoho does not know is refused before any probe
        started = []
        for source in exports:
            try:
                started.append((source, self.linked.start_export(t.cast("BulkJobs", jobs), source)))
            except RouteRefused as exc:
                self._export_refused(source, exc)
                listed.append(source)
        budget = self._list_sources(listed, limit)
        for source, job in started:
            try:
                self.linked.finish_export(t.cast("BulkJobs", jobs), self.spool, source, job)
            except RouteRefused as exc:
                self._export_refused(source, exc)
                self.spool.drop_rows(source.field)
                budget = self._list_sources([source], budget)
                continue
            self.exported.append(source)
            created = to_epoch(str(job["created_time"])) - 1  # the export's snapshot
            self.since = created if self.since is None else min(self.since, created)
        self._save_sizes(whole=True)

    def _save_sizes(self, *, whole: bool) -> None:
        """Keep each module's row count for the next run's choice (``completion_sizes``).

        A listing cut short (refused, or dearer than the reads it would replace) leaves what it
        reached as a lower bound: the next run does not start it again on a guess.
        """
        sizes = dict(self.state.get(SIZES) or {})
        for source in self.fields.sources:
            rows = self.spool.row_count(source.field)
            module = str(source.module)
            if whole:
                sizes[module] = rows
            elif rows:
                sizes[module] = max(rows, int(sizes.get(module) or 0))
        self.state[SIZES] = sizes

    def _list_sources(self, sources: list[Source], budget: int | None) -> int | None:
        """List ``sources`` between two probes of the newest parents; the call budget left."""
        if not sources:
            return budget
        before = self._newest()
        for source in sources:
            calls = self.linked.list_into(self.spool, source, budget)
            budget = None if budget is None else budget - calls
        self.raced = self.raced or self._newest() != before
        listed_at = _epoch_of(before)
        if listed_at is not None:
            self.since = listed_at if self.since is None else min(self.since, listed_at)
        self.listed += sources
        return budget

    def _export_refused(self, source: Source, exc: RouteRefused) -> None:
        self.run.logger.info("%s: %s; listing %s instead.", self.run.module, exc, source.module)

    def _newest(self) -> tuple[tuple[str, str], ...]:
        """The newest parents (id, Modified_Time): what changed while the lists were read."""
        if not self.run.has_modified_time:
            return ()
        params = {
            "fields": MODIFIED_TIME,
            "per_page": PROBE_ROWS,
            "sort_by": MODIFIED_TIME,
            "sort_order": "desc",
            **ALL_RECORDS,
        }
        body = self.run.get_json(self.run.path, params, None) or {}
        return tuple((str(r.get("id")), str(r.get(MODIFIED_TIME))) for r in body.get("data") or [])

    def _single_reads(self, why: str) -> None:
        self.spool.drop_rows()
        self.whole_reads = True
        self.listed, self.exported = [], []
        self.run.logger.info(
            "%s: %s; every record is read whole (GET /%s/{id}), one credit each.",
            self.run.module,
            why,
            self.run.module,
        )
        for source in self.fields.sources:
            self.run.summary.completion(
                self.run.module, source.module or source.field, Route.SINGLE_RECORD_READS, why
            )

    def _report(self, why: str) -> None:
        parts = []
        for source in self.fields.sources:
            exported = source in self.exported
            route = Route.EXPORT if exported else source.list_route
            rows = self.spool.row_count(source.field)
            reason = f"{rows:,} rows {'exported' if exported else why}"
            self.run.summary.completion(self.run.module, str(source.module), route, reason)
            parts.append(f"{source.module} {route.value} ({rows:,} rows)")
        if parts:
            self.run.logger.info(
                "%s: values lists leave out: %s.", self.run.module, ", ".join(parts)
            )

    # ------------------------------------------------------------------ pages of parents
    def pages(self, pages: Iterator[list[dict[str, t.Any]]]) -> Iterator[list[dict[str, t.Any]]]:
        """Completed pages; while no route is chosen (incremental runs) parents are held back."""
        held: list[dict[str, t.Any]] = []
        count = rich = 0
        missing = next((s for s in self.fields.sources if s.module is None), None)
        if not self.decided and missing is not None:  # nothing to list: no reason to wait
            self.decided = True
            self._single_reads(f"the field metadata of {missing.field} names no module")
        for page in pages:
            if self.decided:
                self.complete(page)
                yield page
                continue
            count += len(page)
            rich += sum(1 for row in page if self.fields.rich_cut(row))
            held += page
            if len(held) > HOLD_IN_MEMORY:
                self.spool.hold(held)
                held = []
            if self._relist_is_cheaper(count, rich):
                self._relist(count)
                yield from self._release(held)
                held = []
        if not self.decided:
            self._one_read_each(count)
        yield from self._release(held)

    def _listing_cost(self) -> Cost:
        per_page = self.linked.per_page
        costs = [list_cost(self._size(s), per_page) for s in self.fields.sources]
        return total([*costs, Cost(PROBE_CALLS, PROBE_CALLS)])

    def _relist_is_cheaper(self, changed: int, rich: int) -> bool:
        return relist_is_cheaper(changed, rich, self._listing_cost())

    def _relist(self, changed: int) -> None:
        self.decided = True
        try:
            self._read_sources([], None, limit=changed)
        except RouteRefused as exc:
            self._save_sizes(whole=False)
            self._single_reads(str(exc))
            return
        cost = self._listing_cost()
        self._report(f"re-listed ({cost.calls} calls): {changed:,}+ changed parents")

    def _one_read_each(self, changed: int) -> None:
        self.decided = True
        self.whole_reads = True
        why = (
            f"{changed:,} changed parents: one read each, cheaper than re-listing "
            f"({self._listing_cost().calls} calls)"
            if changed
            else "no parent changed"
        )
        for source in self.fields.sources:
            module = source.module or source.field
            self.run.summary.completion(self.run.module, module, Route.SINGLE_RECORD_READS, why)
        if changed and self.fields.sources:
            self.run.logger.info("%s: %s.", self.run.module, why)

    def _release(self, held: list[dict[str, t.Any]]) -> Iterator[list[dict[str, t.Any]]]:
        pages = [*self.spool.held(self.run.per_page), *_chunks(held, self.run.per_page)]
        for page in pages:
            self.complete(page)
            yield page

    def complete(self, rows: list[dict[str, t.Any]], *, hidden: bool = False) -> None:
        """Fill in, in place, what a list (or export) left out of these parents.

        ``hidden``: converted or unapproved parents an export may have left out, and with them
        their rows in exported modules: those without exported rows are read whole.
        """
        for row in rows:
            for name in self.fields.omitted:
                row.setdefault(name, None)
        if not rows or not self.fields:
            return
        needing = [r for r in rows if self.fields.sources or self.fields.rich_cut(r)]
        if not self.run.enabled:
            self.budgeted.incomplete += len(needing)
            return
        whole = [r for r in needing if self._is_whole(r, hidden=hidden)]
        read_whole = {id(r) for r in whole}
        joined = [r for r in rows if id(r) not in read_whole]
        if joined and self.fields.sources:
            self._join(joined)
        self.budgeted.read(whole, whole=True)
        self.budgeted.read([r for r in joined if self.fields.rich_cut(r)], whole=False)

    def _is_whole(self, row: dict[str, t.Any], *, hidden: bool) -> bool:
        """Whether to read this parent whole.

        Yes on the single-record route, for a parent modified after its rows were read, and for
        a hidden parent an export may have left out with its rows.
        """
        if not self.fields.sources:
            return False
        if self.whole_reads:
            return True
        modified = row.get(MODIFIED_TIME)
        if self.since is not None and isinstance(modified, str) and to_epoch(modified) > self.since:
            return True
        return hidden and bool(self.exported) and not self._has_exported_rows(str(row["id"]))

    def _has_exported_rows(self, rid: str) -> bool:
        rows = self.spool.rows_for([rid]).get(rid, {})
        return any(rows.get(s.field) for s in self.exported)

    def _join(self, rows: list[dict[str, t.Any]]) -> None:
        found = self.spool.rows_for([str(r["id"]) for r in rows])
        digests = []
        for row in rows:
            mine = found.get(str(row["id"]), {})
            for source in self.fields.sources:
                row[source.field] = mine.get(source.field, [])
            self.budgeted.completed(str(row["id"]))
            if self.listed:
                digests.append(
                    (str(row["id"]), digest({s.field: row[s.field] for s in self.listed}))
                )
        if digests:
            self.spool.note_emitted(digests)

    # ------------------------------------------------------------------ after the module
    def note_deletion(self, rid: str, deleted_time: str) -> None:
        """A parent deleted while its rows were listed may have shifted others out of a page.

        Only a row already listed can shift the rest: so only a deletion at or after the listing
        of a parent whose rows the spool holds counts.
        """
        if not self.listed or self.since is None or to_epoch(deleted_time) < self.since:
            return
        if self.spool.rows_for([str(rid)]):
            self.raced = True

    def check_again(self, selected: t.Collection[str]) -> Iterator[dict[str, t.Any]]:
        """After a race: list again; parents emitted with other rows are read whole and emitted."""
        if not (self.raced and self.listed):
            return
        again = Spool()
        changed: list[str] = []
        try:
            for source in self.listed:
                self.linked.list_into(again, source, None)
            emitted = list(self.spool.emitted())
            for start in range(0, len(emitted), self.run.per_page):
                batch = emitted[start : start + self.run.per_page]
                found = again.rows_for([parent for parent, _ in batch])
                for parent, known in batch:
                    rows = found.get(parent, {})
                    if digest({s.field: rows.get(s.field, []) for s in self.listed}) != known:
                        changed.append(parent)
        except RouteRefused as exc:
            self.run.logger.warning("%s: could not list again (%s).", self.run.module, exc)
            return
        finally:
            again.close()
        self.run.logger.info(
            "%s: rows changed while listed; %d parents read again.", self.run.module, len(changed)
        )
        yield from self.budgeted.whole_records(changed, selected)

    def catch_up(self, selected: t.Collection[str]) -> Iterator[dict[str, t.Any]]:
        """Records an earlier run left incomplete (:mod:`.budgeted_reads`)."""
        return self.budgeted.catch_up(selected, enabled=self.run.enabled)

    def finish(self) -> None:
        """Report what stayed incomplete; release the spool and the read workers."""
        if self.budgeted.incomplete:
            self.run.summary.incomplete(self.run.module, self.budgeted.incomplete)
        if self.fields.rich_text and self.run.enabled and self.reads.rich_text_api is not None:
            route = Route.RICH_TEXT_API if self.reads.rich_text_api else Route.SINGLE_RECORD_READS
            why = self.reads.rich_text_refusal or "rich text a list may have cut, just those fields"
            self.run.summary.completion(self.run.module, "rich text", route, why)
        self.spool.close()
        self.reads.close()


def _epoch_of(probe: tuple[tuple[str, str], ...]) -> int | None:
    times = [to_epoch(modified) for _, modified in probe if modified and modified != "None"]
    return max(times) if times else None


def _chunks(rows: list[dict[str, t.Any]], size: int) -> Iterator[list[dict[str, t.Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
