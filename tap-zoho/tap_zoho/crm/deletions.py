"""CRM deletions (``/{module}/deleted``, ``shared/zoho-api.md`` 4.1): every entry, each once.

The endpoint takes ``type``, ``page``, ``per_page`` and ``If-Modified-Since``; its order is not
documented, nor whether the 2,000-position cap of Get Records (3.1) applies, so a list is read
inside one fixed window (``If-Modified-Since``) and the bookmark moves only once it is done.
What happens at the cap, for each reading:

* ``info`` offers a ``next_page_token``: it is followed (never sent otherwise; 4.1 lists none).
* Position 2,000 reached: the window restarts at the newest deletion seen, when the list is
  oldest first (the order is undocumented; the contract's example is newest first).
* The window cannot move (2,000 deletions share one second, a mass delete, or the list is
  newest first, so what is past the cap is older): page 11 is asked once. Without a cap it
  is answered and paging goes on; with the cap (400 ``DISCRETE_PAGINATION_LIMIT_EXCEEDED``)
  ``type=recycle`` and ``type=permanent`` are read apart from that window on, each with a
  cap of its own.
* One type alone holds more than 2,000 in the window under the cap (in one second, or newest
  first): no request reaches the rest. That is logged as a warning naming the window, which
  then moves past its newest entry, so the deletions after it are still read, now and in
  later runs.

Should ``If-Modified-Since`` be ignored (it is listed, but nothing confirms it filters), the
window still filters what was emitted; listed newest first, a list stops at its first entry
older than the window.

Cost: one call per 200 deletions; a stuck second adds one call (page 11) and, under the cap,
the two per-type lists from that second on.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from tap_zoho.datetimes import to_epoch, utc_iso
from tap_zoho.errors import ZohoApiError

PER_PAGE = 200
CAP_CODE = "DISCRETE_PAGINATION_LIMIT_EXCEEDED"
KINDS = ("recycle", "permanent")
MAX_SEEN = 1000  # ids kept in STATE for the bookmark's second, once that second is settled

Fetch = t.Callable[[dict[str, t.Any], dict[str, str]], "dict[str, t.Any] | None"]


@dataclass
class DeletionWindow:
    """Which deletion entries are new, and the position they move the bookmark to.

    ``since``/``seen``: entries older than ``since``, or at ``since`` with an id in ``seen``, were
    emitted before. ``newest``/``newest_ids``: the position once everything read is emitted.
    """

    since: int | None
    seen: set[str]
    newest: int | None = None
    newest_ids: set[str] = field(default_factory=set)
    emitted: set[str] = field(default_factory=set)  # this window's, when listed newest first

    def __post_init__(self) -> None:
        """Start at the bookmark: nothing read yet."""
        self.newest, self.newest_ids = self.since, set(self.seen)

    def take(self, rid: str, epoch: int) -> bool:
        """True when this entry was not emitted before."""
        since = self.since
        if since is not None and (epoch < since or (epoch == since and rid in self.seen)):
            return False
        if self.newest is None or epoch > self.newest:
            self.newest, self.newest_ids = epoch, {rid}
        elif epoch == self.newest:
            self.newest_ids.add(rid)
        if rid in self.emitted:
            return False
        self.emitted.add(rid)
        return True

    def restart(self) -> bool:
        """Start a new window at the newest entry; False when that would not move forward."""
        if self.newest == self.since:
            return False
        self.since, self.seen = self.newest, set(self.newest_ids)
        self.emitted = set(self.newest_ids)
        return True

    def skip_second(self) -> None:
        """Give up on the rest of the newest second (no request reaches it): move past it."""
        second = self.newest if self.newest is not None else self.since
        if second is not None:
            self.since = self.newest = second + 1
        self.seen, self.newest_ids, self.emitted = set(), set(), set()

    def branch(self) -> DeletionWindow:
        """A window for one type's list: the same start, knowing what this one emitted."""
        branch = DeletionWindow(self.since, set(self.seen))
        branch.emitted = set(self.emitted)
        return branch


class DeletionReader:
    """Reads every deletion since a bookmark, under each reading of the cap (module docstring)."""

    def __init__(
        self, fetch: Fetch, clock: t.Callable[[], int], module: str, logger: t.Any, *, cap: int
    ) -> None:
        """``fetch(params, headers)`` is one ``GET /{module}/deleted``; ``clock``: Zoho's."""
        self._fetch = fetch
        self._clock = clock
        self._module = module
        self._logger = logger
        self._cap = cap
        self.calls = 0
        self.unlisted: list[tuple[str, str, str]] = []  # (type, from, to): past the cap

    def read(self, window: DeletionWindow) -> t.Iterator[dict[str, t.Any]]:
        """New entries of ``type=all``; on a stuck second, of each type apart from there on.

        ``window`` ends at the position to bookmark.
        """
        stuck = yield from self._list("all", window)
        if not stuck:
            return
        branches = [window.branch() for _ in KINDS]
        horizon = 0
        for kind, branch in zip(KINDS, branches, strict=True):
            while (yield from self._list(kind, branch)):
                since = utc_iso(branch.since) if branch.since is not None else "the start"
                until = utc_iso(t.cast("int", branch.newest))
                self.unlisted.append((kind, since, until))
                self._logger.warning(
                    "%s: more than %d %s deletions from %s to %s; Zoho's /deleted lists no "
                    "further (no page_token, positions capped), so those past the cap are not "
                    "reported. Deletions after %s are.",
                    self._module,
                    self._cap,
                    kind,
                    since,
                    until,
                    until,
                )
                branch.skip_second()
            horizon = horizon or self._clock()
        window.newest, window.newest_ids = self._joined(branches, horizon)

    @staticmethod
    def _joined(branches: list[DeletionWindow], horizon: int) -> tuple[int | None, set[str]]:
        """Where both type lists together stand.

        The newer end, unless it is later than Zoho's clock when the first list was done: a
        deletion of that list made since would then be older than the end, so the earlier end
        is taken (its later entries are read again, rather than one lost).
        """
        ends = [b.newest for b in branches if b.newest is not None]
        if not ends:
            return None, set()
        end = max(ends) if max(ends) <= horizon else min(ends)
        return end, set().union(*(b.newest_ids for b in branches if b.newest == end))

    def _list(self, kind: str, window: DeletionWindow) -> t.Generator[dict[str, t.Any], None, bool]:
        """Read one list to its end; True when stuck at the cap inside one second."""
        paging = _Paging(self._cap)
        while True:
            headers = {}
            if window.since is not None:
                headers["If-Modified-Since"] = utc_iso(window.since - 1)
            self.calls += 1
            try:
                body = self._fetch(paging.params(kind), headers) or {}
            except ZohoApiError as exc:
                if paging.probing and exc.code == CAP_CODE:
                    return True
                raise
            older = False
            for entry in body.get("data") or []:
                epoch = to_epoch(entry["deleted_time"])
                paging.saw(epoch)
                older = older or (window.since is not None and epoch < window.since)
                if window.take(str(entry["id"]), epoch):
                    yield entry
            if older and paging.descending:
                return False  # newest first, and past the window: the rest is older still
            if not paging.advance(body.get("info") or {}, window):
                return False


@dataclass
class _Paging:
    """Where the next call of one list reads: a page, a token, or a probe past the cap."""

    cap: int
    page: int = 1
    token: str | None = None
    probing: bool = False  # this call asks the page past the cap: refused under the cap
    uncapped: bool = False  # a page past the cap was answered: no cap on this list
    descending: bool = False  # listed newest first: a window cannot restart at its newest
    _last: int | None = None

    def saw(self, epoch: int) -> None:
        """Note the order the list is in (undocumented, 4.1) from consecutive entries."""
        if self._last is not None and epoch < self._last:
            self.descending = True
        self._last = epoch

    def params(self, kind: str) -> dict[str, t.Any]:
        """Query parameters: ``page`` and ``page_token`` never together."""
        params: dict[str, t.Any] = {"type": kind, "per_page": PER_PAGE}
        if self.token:
            params["page_token"] = self.token
        elif self.page > 1:
            params["page"] = self.page
        return params

    def advance(self, info: dict[str, t.Any], window: DeletionWindow) -> bool:
        """Move past the page just read; False when the list is done."""
        self.probing = False
        if not info.get("more_records"):
            return False
        self.token = info.get("next_page_token") or None
        if self.token:
            pass
        elif self.uncapped or self.page * PER_PAGE < self.cap:
            self.page += 1
        elif not self.descending and window.restart():
            self.page = 1
        else:  # one second fills the window, or newest first: is there a cap here at all?
            self.probing = self.uncapped = True
            self.page += 1
        return True


def bookmark(window: DeletionWindow, *, settled_before: int) -> tuple[str, list[str]] | None:
    """``(deleted_since, deleted_seen)`` for STATE; bounded once the second can take no more."""
    if window.newest is None:
        return None
    if len(window.newest_ids) > MAX_SEEN and window.newest < settled_before:
        return utc_iso(window.newest + 1), []
    return utc_iso(window.newest), sorted(window.newest_ids)
