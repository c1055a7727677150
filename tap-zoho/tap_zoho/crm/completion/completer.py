"""Completing the values a list leaves out, by the cheapest route Zoho documents (3.2, 3.3).

One :class:`Completer` per module read. Before the parents of a full read are emitted it reads
each subform and linking module whole (listing it, or by a Bulk Read job beside the parent's during
a backfill, whichever costs fewer credits) into a disk spool (:mod:`.sources`); each page of
parents then takes its rows from the spool, in the shape and order a single-record read gives.
What no module holds is read one record at a time: rich text a list may have cut (the Rich Text
API), and every record of a module whose route Zoho refuses (single-record reads), within
``crm_detail_reads_max_per_run``.

Incremental runs hold back the changed parents (on disk) until the cheaper route is known: one read
each while they are few, re-listing the modules once that is cheaper. With the modules' sizes known
from an earlier listing (state) that is decided as soon as it is clear; without them, at the end of
the module's listing, when the number of changed parents is known: re-listing is tried within what
the reads would cost, so a run never pays both routes in full. A listing Zoho refuses for good is
remembered (:mod:`.refusals`) and later runs go straight to the reads.

A single-record read that cuts an array (``$has_more``) does not end the matter: its parent is
held and completed from the lists after the module's other records (:mod:`.truncated`).

Races: a parent modified since its rows were listed is read whole. A listing pages by position,
so a row removed while it runs (a parent edited or deleted) can shift another out of every page:
the newest parents are probed before and after each listing, and when something changed in
between (or a deletion came at or after it), the lists are read again at the end of the module and
every parent whose rows differ is read whole and emitted again.
"""

from __future__ import annotations

import typing as t

from tap_zoho.crm.limits import MODIFIED_TIME
from tap_zoho.datetimes import to_epoch
from tap_zoho.errors import RouteRefused

from .budgeted_reads import BudgetedReads
from .linked_rows import LinkedRows
from .plan import CompletionFields, Route, Source, listing_budget, relist_is_cheaper
from .probes import PROBE_CALLS
from .record_reads import RecordReads
from .row_order import RowOrders
from .sources import SourceReads
from .spool import Spool, digest
from .truncated import TruncatedParents

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from tap_zoho.crm.bulk_read.jobs import BulkJobs

    from .inputs import CompletionRun

HOLD_IN_MEMORY = 1000
OFF = "crm_detail_reads is false"


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
        self.linked = LinkedRows(run.get_json, run.per_page, RowOrders(state))
        self.spool = Spool()
        self.sources = SourceReads(run, fields, state, self.linked, self.spool)
        self.truncated = TruncatedParents(
            run, fields, self.linked, self.budgeted, self.sources.refusals
        )
        self.budgeted.hold = self.truncated.hold
        self.budgeted.orders = self.linked.orders
        self.whole_reads = False  # the single-record route: every parent read whole
        self.decided = not (run.enabled and fields.sources)  # rich text alone: nothing to list
        self.routes: dict[str, tuple[Route, str]] = {}
        if not run.enabled:
            self._report_off()

    # ------------------------------------------------------------------ the run summary
    def _route(self, source: Source, route: Route, why: str) -> None:
        values = source.module or source.field
        self.routes[values] = (route, why)
        self.run.summary.completion(self.run.module, values, route, why)

    def _note(self, source: Source, note: str) -> None:
        """Add to what the summary says of a source's route."""
        if not note:
            return
        route, why = self.routes.get(source.module or source.field, (Route.NOT_COMPLETED, ""))
        self._route(source, route, f"{why}; {note}" if why else note)

    def _decline(self, sources: t.Iterable[Source]) -> None:
        """Linking modules this completion will not list: their streams need not wait or probe."""
        if self.run.links is not None:
            linking = [str(s.module) for s in sources if s.kind == "linking" and s.module]
            self.run.links.decline(linking)

    def _report_off(self) -> None:
        """With ``crm_detail_reads`` off, the summary names the route not taken, per source."""
        for source in self.fields.sources:
            self._route(source, Route.NOT_COMPLETED, f"{OFF}: lists leave these values out")
        if self.fields.rich_text:
            why = f"{OFF}: rich text of 500 characters or more may be cut"
            self.run.summary.completion(self.run.module, "rich text", Route.NOT_COMPLETED, why)

    def _report(self, why: str) -> None:
        parts = []
        for source in self.fields.sources:
            exported = source in self.sources.exported
            route = Route.EXPORT if exported else source.list_route
            rows = self.spool.row_count(source.field)
            self._route(source, route, f"{rows:,} rows {'exported' if exported else why}")
            parts.append(f"{source.module} {route.value} ({rows:,} rows)")
        if parts:
            self.run.logger.info(
                "%s: values lists leave out: %s.", self.run.module, ", ".join(parts)
            )

    # ------------------------------------------------------------------ choosing a route
    def _blocked(self) -> str | None:
        """Why no source can be listed this run (no module named, a refusal remembered)."""
        missing = next((s for s in self.fields.sources if s.module is None), None)
        if missing is not None:
            return f"the field metadata of {missing.field} names no module"
        refused = self.sources.refused()
        if refused is not None:
            return f"{refused[0].module}: {refused[1].describe()}"
        return None

    def prepare_full(self, parents: int | None, jobs: BulkJobs | None = None) -> None:
        """Before a full read of ``parents`` records: read every source whole into the spool."""
        if self.decided:
            return
        self.decided = True
        blocked = self._blocked()
        if blocked is not None:
            self._single_reads(blocked)
            return
        exports = [
            s
            for s in self.fields.sources
            if jobs is not None and self.sources.cheaper_to_export(s, parents)
        ]
        self._decline(exports)
        try:
            self.sources.read(exports, jobs, limit=parents)
        except RouteRefused as exc:
            self._single_reads(str(exc))
            return
        self._report(
            f"listed instead of {parents:,} single-record reads"
            if parents is not None
            else "listed instead of a single-record read per record",
        )

    def _single_reads(self, why: str) -> None:
        self.sources.forget_rows()
        self.whole_reads = True
        self._decline(self.fields.sources)
        self.run.logger.info(
            "%s: %s; every record is read whole (GET /%s/{id}), one credit each.",
            self.run.module,
            why,
            self.run.module,
        )
        for source in self.fields.sources:
            self._route(source, Route.SINGLE_RECORD_READS, why)

    # ------------------------------------------------------------------ pages of parents
    def pages(self, pages: Iterator[list[dict[str, t.Any]]]) -> Iterator[list[dict[str, t.Any]]]:
        """Completed pages; while no route is chosen (incremental runs) parents are held back."""
        held: list[dict[str, t.Any]] = []
        count = rich = 0
        if not self.decided and (blocked := self._blocked()) is not None:
            self.decided = True  # nothing to list: no reason to wait
            self._single_reads(blocked)
        for page in pages:
            if self.decided:
                yield self.complete(page)
                continue
            count += len(page)
            rich += sum(1 for row in page if self.fields.rich_cut(row))
            held += page
            if len(held) > HOLD_IN_MEMORY:
                self.spool.hold(held)
                held = []
            known = self.sources.sizes_known()
            if known and relist_is_cheaper(count, rich, self.sources.listing_cost()):
                self._relist(count, limit=count)
                yield from self._release(held)
                held = []
        if not self.decided:
            self._decide(count, rich)
        yield from self._release(held)

    def _decide(self, changed: int, rich: int) -> None:
        """At the end of the module's listing: the cheaper route for ``changed`` parents.

        Unknown sizes count a page each (the least a listing costs); re-listing is then tried
        within what the reads would cost, and given up past it.
        """
        if changed and relist_is_cheaper(changed, rich, self.sources.listing_cost()):
            known = self.sources.sizes_known()
            budget = changed if known else listing_budget(changed, rich, PROBE_CALLS)
            self._relist(changed, limit=budget)
        else:
            self._one_read_each(changed)

    def _relist(self, changed: int, *, limit: int) -> None:
        self.decided = True
        try:
            self.sources.read([], None, limit=limit)
        except RouteRefused as exc:
            self._single_reads(str(exc))
            return
        cost = self.sources.listing_cost()
        self._report(f"re-listed ({cost.calls} calls): {changed:,}+ changed parents")

    def _one_read_each(self, changed: int) -> None:
        self.decided = True
        self.whole_reads = True
        self._decline(self.fields.sources)
        cost = self.sources.listing_cost()
        known = "" if self.sources.sizes_known() else "at least "
        why = (
            f"{changed:,} changed parents: one read each, cheaper than re-listing "
            f"({known}{cost.calls} calls)"
            if changed
            else "no parent changed"
        )
        for source in self.fields.sources:
            self._route(source, Route.SINGLE_RECORD_READS, why)
        if changed and self.fields.sources:
            self.run.logger.info("%s: %s.", self.run.module, why)

    def _release(self, held: list[dict[str, t.Any]]) -> Iterator[list[dict[str, t.Any]]]:
        pages = [*self.spool.held(self.run.per_page), *_chunks(held, self.run.per_page)]
        for page in pages:
            yield self.complete(page)

    def complete(
        self, rows: list[dict[str, t.Any]], *, hidden: bool = False
    ) -> list[dict[str, t.Any]]:
        """Fill in what a list (or export) left out of these parents; the rows to emit now.

        Rows whose single-record read cut an array are held back (:mod:`.truncated`).
        ``hidden``: converted or unapproved parents an export may have left out, and with them
        their rows in exported modules: those without exported rows are read whole.
        """
        for row in rows:
            for name in self.fields.omitted:
                row.setdefault(name, None)
        if not rows or not self.fields:
            return rows
        needing = [r for r in rows if self.fields.sources or self.fields.rich_cut(r)]
        if not self.run.enabled:
            self.budgeted.incomplete += len(needing)
            return rows
        whole = [r for r in needing if self._is_whole(r, hidden=hidden)]
        read_whole = {id(r) for r in whole}
        joined = [r for r in rows if id(r) not in read_whole]
        if joined and self.fields.sources:
            self._join(joined)
        held = self.budgeted.read(whole, whole=True)
        self.budgeted.read([r for r in joined if self.fields.rich_cut(r)], whole=False)
        return [r for r in rows if str(r["id"]) not in held] if held else rows

    def _is_whole(self, row: dict[str, t.Any], *, hidden: bool) -> bool:
        """Whether to read this parent whole.

        Yes on the single-record route, for a parent modified after its rows were read, and for
        a hidden parent an export may have left out with its rows.
        """
        if not self.fields.sources:
            return False
        if self.whole_reads:
            return True
        modified, since = row.get(MODIFIED_TIME), self.sources.since
        if since is not None and isinstance(modified, str) and to_epoch(modified) > since:
            return True
        return hidden and bool(self.sources.exported) and not self._has_exported_rows(row)

    def _has_exported_rows(self, row: dict[str, t.Any]) -> bool:
        rid = str(row["id"])
        rows = self.spool.rows_for([rid]).get(rid, {})
        return any(rows.get(s.field) for s in self.sources.exported)

    def _join(self, rows: list[dict[str, t.Any]]) -> None:
        found = self.spool.rows_for([str(r["id"]) for r in rows])
        listed = self.sources.listed
        digests = []
        for row in rows:
            mine = found.get(str(row["id"]), {})
            for source in self.fields.sources:
                row[source.field] = mine.get(source.field, [])
            self.budgeted.completed(str(row["id"]))
            if listed:
                digests.append((str(row["id"]), digest({s.field: row[s.field] for s in listed})))
        if digests:
            self.spool.note_emitted(digests)

    # ------------------------------------------------------------------ after the module
    def note_deletion(self, rid: str, deleted_time: str) -> None:
        """A parent deleted while its rows were listed may have shifted others out of a page.

        Only a row already listed can shift the rest: so only a deletion at or after the listing
        of a parent whose rows the spool holds counts.
        """
        since = self.sources.since
        if not self.sources.listed or since is None or to_epoch(deleted_time) < since:
            return
        if self.spool.rows_for([str(rid)]):
            self.sources.raced = True

    def check_again(self, selected: t.Collection[str]) -> Iterator[dict[str, t.Any]]:
        """After a race: list again; parents emitted with other rows are read whole and emitted."""
        listed = self.sources.listed
        if not (self.sources.raced and listed):
            return
        again = Spool()
        changed: list[str] = []
        try:
            for source in listed:
                self.linked.list_into(again, source, None)
            emitted = list(self.spool.emitted())
            for start in range(0, len(emitted), self.run.per_page):
                batch = emitted[start : start + self.run.per_page]
                found = again.rows_for([parent for parent, _ in batch])
                for parent, known in batch:
                    rows = found.get(parent, {})
                    if digest({s.field: rows.get(s.field, []) for s in listed}) != known:
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

    def cut_parents(self) -> Iterator[dict[str, t.Any]]:
        """Parents a single-record read cut, completed from the lists (:mod:`.truncated`)."""
        return self.truncated.records(self._note)

    def finish(self) -> None:
        """Report what stayed incomplete; release the spools and the read workers."""
        if self.budgeted.incomplete:
            self.run.summary.incomplete(self.run.module, self.budgeted.incomplete)
        if self.fields.rich_text and self.run.enabled and self.reads.rich_text_api is not None:
            route = Route.RICH_TEXT_API if self.reads.rich_text_api else Route.SINGLE_RECORD_READS
            why = self.reads.rich_text_refusal or "rich text a list may have cut, just those fields"
            self.run.summary.completion(self.run.module, "rich text", route, why)
        self.spool.close()
        self.truncated.close()
        self.reads.close()


def _chunks(rows: list[dict[str, t.Any]], size: int) -> Iterator[list[dict[str, t.Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
