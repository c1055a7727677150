"""A module's subform and linking modules read whole into its spool, and what that taught.

Before the parents of a full read are joined, or when an incremental run re-lists, each source
(subform or linking module, 3.3) is read whole: by a Bulk Read job beside the parent's during a
backfill where that costs fewer credits, by listing otherwise. The listings run between two probes
of the newest parents (a listing pages by position, so an edit or deletion while it runs may shift
a row out of every page): :attr:`SourceReads.since` is the newest parent instant seen before,
:attr:`SourceReads.raced` says whether anything changed in between.

What a read teaches is kept in the parent module's state for later runs: each module's row count
(``completion_sizes``: the next incremental run's choice between re-listing and one read a
parent) and the refusals a later run would meet again (:mod:`.refusals`).
"""

from __future__ import annotations

import typing as t

from tap_zoho.datetimes import to_epoch
from tap_zoho.errors import RouteRefused

from .plan import Cost, Source, cheaper_to_export, list_cost, total
from .probes import PROBE_CALLS, Probe, newest_parents, probe_epoch
from .refusals import Refusal, Refusals

if t.TYPE_CHECKING:
    from tap_zoho.crm.bulk_read.jobs import BulkJobs

    from .inputs import CompletionRun
    from .linked_rows import LinkedRows
    from .plan import CompletionFields
    from .spool import Spool

SIZES = "completion_sizes"


class SourceReads:
    """Reads every source of one parent module into its spool; see the module docstring."""

    def __init__(
        self,
        run: CompletionRun,
        fields: CompletionFields,
        state: dict[str, t.Any],
        linked: LinkedRows,
        spool: Spool,
    ) -> None:
        """``state`` is the parent module's state."""
        self.run = run
        self.fields = fields
        self.state = state
        self.linked = linked
        self.spool = spool
        self.refusals = Refusals(state, run.clock())
        self.since: int | None = None  # parents modified after this second are read whole
        self.listed: list[Source] = []  # listed (not exported): checked again after a race
        self.exported: list[Source] = []
        self.raced = False

    # ------------------------------------------------------------------ what is known
    def refused(self) -> tuple[Source, Refusal] | None:
        """A source whose listing a recent run found refused for good, if any."""
        for source in self.fields.sources:
            refusal = self.refusals.active(source)
            if refusal is not None:
                return source, refusal
        return None

    def size(self, source: Source) -> int | None:
        """The row count of ``source``'s module at its last reading (None: never read)."""
        sizes = self.state.get(SIZES) or {}
        value = sizes.get(str(source.module))
        return int(value) if isinstance(value, int) else None

    def sizes_known(self) -> bool:
        """Whether every source's size is known from an earlier reading."""
        return all(self.size(source) is not None for source in self.fields.sources)

    def listing_cost(self, *, known_only: bool = False) -> Cost:
        """Listing every source (``known_only``: those of known size), probes included."""
        per_page = self.linked.per_page
        sources = [s for s in self.fields.sources if not known_only or self.size(s) is not None]
        costs = [list_cost(self.size(s), per_page) for s in sources]
        return total([*costs, Cost(PROBE_CALLS, PROBE_CALLS)])

    def cheaper_to_export(self, source: Source, parents: int | None) -> bool:
        """Whether a Bulk Read job of ``source`` beats listing it (unknown: a row a parent)."""
        rows = self.size(source)
        rows = parents if rows is None else rows
        try:
            fields = self.linked.fields(source)
        except RouteRefused:
            return False
        return cheaper_to_export(source, rows, fields)

    # ------------------------------------------------------------------ reading
    def read(self, exports: list[Source], jobs: BulkJobs | None, limit: int | None) -> None:
        """Exports run beside the listings: create the jobs, list the rest, then download.

        A job Bulk Read refuses (or that fails) leaves its module to be listed instead. A listing
        refused raises :class:`RouteRefused` after what it taught is kept (the sizes reached as
        lower bounds, a lasting refusal).
        """
        try:
            self._read(exports, jobs, limit)
        except RouteRefused as exc:
            self.save_sizes(whole=False)
            source = next((s for s in self.fields.sources if s.module == exc.module), None)
            if exc.lasting and source is not None:
                self.refusals.remember(source, str(exc))
            raise
        for source in self.fields.sources:
            self.refusals.forget(source)
        self.save_sizes(whole=True)

    def _read(self, exports: list[Source], jobs: BulkJobs | None, limit: int | None) -> None:
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
        budget = self.list(listed, limit)
        for source, job in started:
            try:
                self.linked.finish_export(t.cast("BulkJobs", jobs), self.spool, source, job)
            except RouteRefused as exc:
                self._export_refused(source, exc)
                self.spool.drop_rows(source.field)
                budget = self.list([source], budget)
                continue
            self.exported.append(source)
            created = to_epoch(str(job["created_time"])) - 1  # the export's snapshot
            self.since = created if self.since is None else min(self.since, created)

    def save_sizes(self, *, whole: bool) -> None:
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

    def list(self, sources: list[Source], budget: int | None) -> int | None:
        """List ``sources`` between two probes of the newest parents; the call budget left."""
        if not sources:
            return budget
        before = self.probe()
        for source in sources:
            calls = self._list_one(source, budget)
            budget = None if budget is None else budget - calls
        self.raced = self.raced or self.probe() != before
        self._listed_after(before)
        self.listed += sources
        return budget

    def probe(self) -> Probe:
        """The parent module's newest records now."""
        return newest_parents(self.run.get_json, self.run.path, self.run.has_modified_time)

    def _listed_after(self, before: Probe) -> None:
        listed_at = probe_epoch(before)
        if listed_at is not None:
            self.since = listed_at if self.since is None else min(self.since, listed_at)

    def _list_one(self, source: Source, budget: int | None) -> int:
        """List one source into the spool; the calls it took.

        A linking module that is a stream of its own this run is listed once for both
        (:mod:`.shared`): by this completion, or by the stream between its own probes of the
        parents, which then say what changed while it ran.
        """
        links = self.run.links
        if links is not None and source.kind == "linking" and source.module:
            entry, calls = links.listing(
                source.module, self.run.get_json, self.linked.per_page, max_calls=budget
            )
            if entry is not None:
                try:
                    for page in entry.pages(self.linked.per_page):
                        self.linked.add_listed(self.spool, source, page)
                finally:
                    entry.release()
                if entry.before is not None:  # listed by the stream, between its probes
                    self._listed_after(entry.before)
                    self.raced = self.raced or entry.after != entry.before
                return calls
        return self.linked.list_into(self.spool, source, budget)

    def _export_refused(self, source: Source, exc: RouteRefused) -> None:
        self.run.logger.info("%s: %s; listing %s instead.", self.run.module, exc, source.module)

    def forget_rows(self) -> None:
        """The single-record route was taken: nothing listed counts."""
        self.spool.drop_rows()
        self.listed, self.exported = [], []
