"""Parents whose single-record read cut an array, completed from the lists before they are emitted.

A single-record read may cut a subform or multi-lookup array and say so in ``$has_more`` (3.2),
while the subform and linking modules hold every row (3.3). Such a parent is held back on disk
while its module is read; once every other record of the module is out, the sources of the cut
fields are listed (once, however many parents wait) and each held parent takes its rows from
them, in the shape and order a single-record read gives, before it is emitted.

Its id waits in ``detail_pending`` meanwhile (:meth:`~.budgeted_reads.BudgetedReads.wait`), so a
run killed before the end reads it again. A listing during which the newest parents changed (a row
may have shifted out of its pages) is taken again once. A parent that still cannot be trusted
(fewer rows listed than its read returned: it changed since, or the listing raced twice) is
emitted with the best rows known and waits for the next run. A parent no route can complete (no
module named, or its listing refused) is emitted as read, counted incomplete and named in the run
summary with the reason.
"""

from __future__ import annotations

import typing as t

from tap_zoho.errors import RouteRefused

from .probes import Probe, newest_parents
from .spool import Spool

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .budgeted_reads import BudgetedReads
    from .inputs import CompletionRun
    from .linked_rows import LinkedRows
    from .plan import CompletionFields, Source
    from .refusals import Refusals

LISTING_ATTEMPTS = 2


class TruncatedParents:
    """The parents of one module read whose single-record read said ``$has_more``."""

    def __init__(
        self,
        run: CompletionRun,
        fields: CompletionFields,
        linked: LinkedRows,
        budgeted: BudgetedReads,
        refusals: Refusals,
    ) -> None:
        """Nothing is stored until a parent is held."""
        self.run = run
        self.fields = fields
        self.linked = linked
        self.budgeted = budgeted
        self.refusals = refusals
        self.spool = Spool()
        self.held = 0
        self.cut: set[str] = set()

    def hold(self, record: dict[str, t.Any], cut: tuple[str, ...]) -> None:
        """Keep ``record`` (its read cut the fields ``cut``) until :meth:`records`."""
        self.spool.hold([{"record": record, "cut": list(cut)}])
        self.held += 1
        self.cut.update(cut)

    def records(self, note: Callable[[Source, str], None]) -> Iterator[dict[str, t.Any]]:
        """The held parents, completed where a list can; ``note`` hears per source how it went."""
        if not self.held:
            return
        sources = [s for s in self.fields.sources if s.field in self.cut]
        rows = Spool()
        try:
            failed, trusted = self._list(sources, rows)
            done = dict.fromkeys((s.field for s in sources), 0)
            left = dict.fromkeys((s.field for s in sources), 0)
            for page in self.spool.held(self.run.per_page):
                found = rows.rows_for([str(item["record"]["id"]) for item in page])
                for item in page:
                    record, cut = item["record"], item["cut"]
                    mine = found.get(str(record["id"]), {})
                    whole = True
                    for name in cut:
                        listed = mine.get(name, [])
                        usable = name not in failed and len(listed) >= len(record.get(name) or [])
                        if usable:  # the best rows known, even from a listing that raced
                            record[name] = listed
                        if usable and trusted:
                            done[name] += 1
                        else:
                            whole = False
                            left[name] += 1
                    self._settle(record, cut, failed, whole=whole)
                    yield record
        finally:
            rows.close()
        for source in sources:
            note(source, self._outcome(source, done[source.field], left[source.field], failed))

    def _list(self, sources: list[Source], rows: Spool) -> tuple[dict[str, str], bool]:
        """List what can be listed into ``rows``.

        Returns the fields refused (and why), and whether the listing can be trusted (no parent
        changed while it ran).
        """
        failed: dict[str, str] = {}
        for source in sources:
            if source.module is None:
                failed[source.field] = f"the field metadata of {source.field} names no module"
            elif (refusal := self.refusals.active(source)) is not None:
                failed[source.field] = refusal.describe()
        usable = [s for s in sources if s.field not in failed]
        for _ in range(LISTING_ATTEMPTS):
            rows.drop_rows()
            before = self._probe()
            for source in usable:
                if source.field in failed:
                    continue
                try:
                    self.linked.list_into(rows, source, None)
                except RouteRefused as exc:
                    failed[source.field] = str(exc)
                    if exc.lasting:
                        self.refusals.remember(source, str(exc))
            if self._probe() == before:
                return failed, True
        return failed, False

    def _probe(self) -> Probe:
        run = self.run
        return newest_parents(run.get_json, run.path, run.has_modified_time)

    def _settle(
        self, record: dict[str, t.Any], cut: list[str], failed: dict[str, str], *, whole: bool
    ) -> None:
        """A completed parent waits no more; one left cut is counted.

        It waits for the next run, unless what failed was a refusal (a read next run would be
        cut the same way).
        """
        rid = str(record["id"])
        if whole:
            self.budgeted.release(rid)
            return
        self.budgeted.incomplete += 1
        if any(name in failed for name in cut):
            self.budgeted.release(rid)
        self.run.logger.warning(
            "%s record %s: %s still cut after its single-record read ($has_more).",
            self.run.module,
            rid,
            ", ".join(cut),
        )

    @staticmethod
    def _outcome(source: Source, done: int, left: int, failed: dict[str, str]) -> str:
        parts = []
        if done:
            parts.append(
                f"{done:,} parents a single-record read cut ($has_more) completed from the "
                f"{source.module} list"
            )
        if left:
            why = failed.get(source.field) or "their rows changed while they were listed"
            parts.append(f"{left:,} parents a single-record read cut ($has_more) left cut: {why}")
        return "; ".join(parts)

    def close(self) -> None:
        """Delete the spool."""
        self.spool.close()
