"""Linking modules read once a run, for their own stream and for their parent's completion.

A linking module that is a stream of its own (every module is, by default) is read whole every run
by that stream (it has no ``Modified_Time``, pitfall 8.4), and its parent's completion lists it
too (3.3). One listing serves both: whichever side reaches the module first lists it, asking for
the fields both need, paged exactly as either would (200 a page, ``sort_by=id``, by position then
by token, converted and unapproved parents' links too), into a disk spool; the other side waits
while that listing runs, then reads the spool. Only a listing already running is waited for, so
neither side ever waits on a stream that has not started, whatever order the modules run in.

The parent's completion needs to know what changed while a listing ran (:mod:`.probes`): when the
stream lists, it probes the parent's newest records before and after, as the completion does
around its own listings (two calls; Zoho's ``Date`` header would be free, but comparing it with
``Modified_Time`` stamps holds only as long as both clocks agree). A completion that has chosen
a route without the lists (one read a parent, completion off) says so, and a stream that starts
after that lists on its own, without probes. A listing that fails (refused, or past the
completion's budget) serves nobody: the other side lists on its own. The spool is deleted once
both sides have read it, or when the run ends.
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass

from .linked_rows import LinkedRows
from .probes import Probe, newest_parents
from .spool import Spool

if t.TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from .record_reads import Getter

READERS = 2  # the stream and the parent's completion


@dataclass(frozen=True)
class Wanted:
    """A linking module both its own stream and its parent's completion read this run."""

    module: str
    fields: tuple[str, ...]  # what both sides ask for (at most 50)
    parent_path: str  # where the stream probes the parent's newest records
    parent_has_modified_time: bool


class SharedListing:
    """One listing of a linking module: its rows in listing order, and the parent's probes."""

    def __init__(self, wanted: Wanted) -> None:
        """Empty until :meth:`fill` ran."""
        self.wanted = wanted
        self.done = threading.Event()
        self.ok = False
        self.before: Probe | None = None  # the parent's newest records around the stream's
        self.after: Probe | None = None  # listing (None: the completion listed, in its own)
        self._spool = Spool()
        self._lock = threading.Lock()
        self._read = 0

    def fill(self, get_json: Getter, per_page: int, *, max_calls: int | None, probe: bool) -> int:
        """List every row (``probe``: between two probes of the parent); the calls it took."""
        wanted = self.wanted
        path, dated = wanted.parent_path, wanted.parent_has_modified_time
        if probe:
            self.before = newest_parents(get_json, path, dated)
        calls = 0
        lister = LinkedRows(get_json, per_page)
        for rows in lister.list_pages(wanted.module, list(wanted.fields), max_calls):
            calls += 1
            if rows:
                with self._lock:
                    self._spool.hold(rows)
        if probe:
            self.after = newest_parents(get_json, path, dated)
        return calls

    def pages(self, size: int) -> Iterator[list[dict[str, t.Any]]]:
        """The rows in listing order, ``size`` at a time (the spool is read, not emptied)."""
        chunks = self._spool.held(size, forget=False)
        while True:
            with self._lock:
                page = next(chunks, None)
            if page is None:
                return
            yield page

    def release(self) -> None:
        """One side is done with the rows; the spool goes once both are."""
        with self._lock:
            self._read += 1
            if self._read >= READERS:
                self._spool.close()

    def close(self) -> None:
        """Delete the spool."""
        with self._lock:
            self._spool.close()


class SharedLinks:
    """The run's shared linking-module listings; see the module docstring."""

    def __init__(self, resolve: Callable[[], dict[str, Wanted]] | None = None) -> None:
        """``resolve`` says, once the catalog is known, which linking modules both sides read."""
        self._resolve = resolve
        self._wanted: dict[str, Wanted] | None = None
        self._entries: dict[str, SharedListing] = {}
        self._declined: set[str] = set()
        self._lock = threading.Lock()

    def resolve_with(self, resolve: Callable[[], dict[str, Wanted]]) -> None:
        """Set what says which linking modules are shared (the streams, once built)."""
        self._resolve = resolve

    def shares(self, module: str) -> Wanted | None:
        """What both sides need of ``module``, if both read it this run."""
        with self._lock:
            if self._wanted is None:
                self._wanted = self._resolve() if self._resolve is not None else {}
            if module in self._declined and module not in self._entries:
                return None
            return self._wanted.get(module)

    def decline(self, modules: t.Iterable[str]) -> None:
        """The parent's completion will not list these this run: their streams list alone."""
        with self._lock:
            self._declined.update(modules)

    def listing(
        self,
        module: str,
        get_json: Getter,
        per_page: int,
        *,
        max_calls: int | None = None,
        probe: bool = False,
    ) -> tuple[SharedListing | None, int]:
        """The module's one listing this run, and the calls this side spent on it.

        Listed here when nobody started it (``probe``: the stream, between probes of the parent),
        else waited for.
        None when it failed elsewhere: list on your own. A failure here is raised (a
        :class:`~tap_zoho.errors.RouteRefused`), and the other side lists on its own.
        """
        wanted = self.shares(module)
        if wanted is None:
            return None, 0
        with self._lock:
            entry = self._entries.get(module)
            owner = entry is None
            if entry is None:
                entry = self._entries[module] = SharedListing(wanted)
        if not owner:
            entry.done.wait()
            return (entry if entry.ok else None), 0
        try:
            calls = entry.fill(get_json, per_page, max_calls=max_calls, probe=probe)
            entry.ok = True
        finally:
            if not entry.ok:
                entry.close()
            entry.done.set()
        return entry, calls

    def close(self) -> None:
        """Delete every spool (the run ends)."""
        with self._lock:
            entries = list(self._entries.values())
        for entry in entries:
            entry.close()
