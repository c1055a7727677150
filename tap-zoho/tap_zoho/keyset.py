"""Keyset paging by ``Modified_Time``: no record lost, past every page cap, races included.

Zoho pages by position over live data (``page``) or by opaque tokens capped at 100,000
records (``shared/zoho-api.md`` 3.1, pitfall 1). Position paging loses a record whenever an
earlier record is edited mid-run (it jumps to the end and everything shifts back by one). So
every request opens a new window: ``If-Modified-Since`` one second before the newest
``Modified_Time`` seen, sorted ascending.
An edited record only ever moves forward, into a window still to come, and no cap is ever reached.

The second before the bookmark is re-read on purpose: timestamps have one-second resolution and
Zoho's comparison may be strict or inclusive (unconfirmed), so the tap asks for the boundary second
again and drops the rows it already emitted *in the same form*: each row is known by a short
fingerprint of its content (:mod:`tap_zoho.fingerprints`), so a record edited again within its
second (read in between) is emitted again.

Only when one second holds a full page of records (a mass update, an import) does the cursor page
by position inside that window (by page token past the position cap). A record of that second
edited meanwhile leaves it and every later row shifts back one place, so a position page can skip
rows, in that **tie second** or just after it. So each position page starts a row or a few before
the end of the page before (Zoho places a page at ``(page - 1) * per_page``, so a slightly smaller
``per_page`` lets it start there): finding one of those rows again proves nothing was skipped; a
page that does not is asked again reaching further back. A pass whose pages all joined up has
seen every row still in the tie second and moves on at once. A pass that could not join two pages
(more than a page left in between), or that followed page tokens and found new rows, reads the
second again from its start, until a pass settles it (tokens: a pass that finds nothing new); the
re-reads are counted in :attr:`ModifiedTimeCursor.reread_calls`. Rows after a second paged by
token are never taken from a token page: a window of their own reads them (``If-Modified-Since``
that second, or the next one once Zoho has answered inclusively).

What a run may *resume from* is :class:`Boundary`: a second is settled only once Zoho's clock (the
``Date`` of the answer that returned it) is ``lag_seconds`` past it; a record newer than that is
emitted, but the resumable position stays before it, so the next run reads it again.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from .errors import UnsortedResponseError

MAX_TIE_PASSES = 10  # a second still changing after that many passes is left to the next run


@dataclass(frozen=True)
class PageRequest:
    """What the next Get Records call asks for."""

    modified_after: int | None  # epoch second for If-Modified-Since, None for everything
    page: int | None = None
    page_token: str | None = None
    # Which re-read of a tie second this is (sent as nothing): asking for the same window again
    # is a new request, and the SDK's paginator refuses a request equal to the one before it.
    tie_pass: int = 0
    per_page: int | None = None  # rows asked for, when not the reader's page size


@dataclass
class Boundary:
    """Where a later run may resume: the newest settled second and the rows emitted at it.

    ``fingerprints`` maps each id emitted at ``second`` to its fingerprint (None: content
    unknown, from an older state: such a row is emitted again). Once a row newer than the
    horizon is noted the boundary is *frozen* for the run: later rows may sit in seconds that
    can still change, so only rows of the frozen second itself are added.
    """

    second: int | None
    fingerprints: dict[str, str | None] = field(default_factory=dict)
    frozen: bool = False

    def note(self, rid: str, epoch: int, print_: str | None, horizon: int | None) -> None:
        """Count one emitted row read when Zoho's settled horizon was ``horizon``."""
        if epoch == self.second:
            self.fingerprints[rid] = print_
            return
        if self.frozen or epoch < (epoch if self.second is None else self.second):
            return  # older than the boundary's second (or the boundary is frozen)
        if horizon is not None and epoch > horizon:
            self.frozen = True  # this second (and any later) may still change: resume before it
            return
        self.second = epoch
        self.fingerprints = {rid: print_}


def _seen(ids: t.Iterable[str] | t.Mapping[str, str | None]) -> dict[str, str | None]:
    if isinstance(ids, t.Mapping):
        return dict(ids)
    return dict.fromkeys(ids)


@dataclass
class _Pass:
    """What one pass over a window has found so far."""

    fresh: bool = False  # new rows at the window's second
    shifted: bool = False  # a position page could not be joined to the one before
    unverifiable: bool = False  # pages that cannot show a skip: tokens, or no room to overlap


@dataclass
class ModifiedTimeCursor:
    """Plans Get Records windows and decides which rows of each page are new.

    Attributes:
        bookmark: newest ``Modified_Time`` (epoch second) already emitted, or the start date.
        seen_at_bookmark: ids already emitted at ``bookmark``, with their fingerprints (a plain
            set of ids is accepted: content unknown).
        per_page: rows per call (position pages inside a tie second ask a few less, see
            :meth:`_plan_position`).
        discrete_cap: rows reachable with ``page`` before a token is required.
        lag_seconds: how far behind Zoho's clock a second must be to count as settled.
        settled: where a later run may resume (see :class:`Boundary`).
        horizon: the newest settled second by the last answer's clock (None: no clock given).
        reread_calls: calls spent re-reading tie seconds (passes, and pages asked again).
        gave_up: the read stopped at a tie second still changing after ``MAX_TIE_PASSES``
            passes, so it did not reach every row (the resumable position stays before it).
    """

    bookmark: int | None
    seen_at_bookmark: dict[str, str | None] = field(default_factory=dict)
    per_page: int = 200
    discrete_cap: int = 2000
    lag_seconds: int = 0
    finished: bool = False
    horizon: int | None = None
    reread_calls: int = 0
    gave_up: bool = False
    settled: Boundary = field(init=False)
    _page: int = 1  # 1: a window's first page; more: a position page inside its tie second
    _size: int | None = None  # rows the next page asks for (None: ``per_page``)
    _token: str | None = None  # set: the window follows page tokens
    _after: int | None = None  # the window's If-Modified-Since, the same for each of its pages
    _spare: tuple[str | None, int | None] = (None, None)  # last page's token, and its size
    _tie: int | None = None  # the second being paged by position, re-read until a clean pass
    _pass: _Pass = field(default_factory=_Pass)
    _passes: int = 0
    _end: int = 0  # position just past the last page read in this pass
    _last: dict[str, int] = field(default_factory=dict)  # that page's ids and seconds
    _last_start: int = 0  # that page's position
    _overlap: int = 1  # rows of the last page the next position page asks again
    _floor: int | None = None  # the next window's If-Modified-Since, just past a settled tie
    _inclusive: bool = False  # Zoho answered a window with rows of its own If-Modified-Since
    _ignored: bool = False  # ... even one starting a second later: it ignores the start

    def __post_init__(self) -> None:
        """Accept a set of ids (content unknown) as well as fingerprints."""
        self.seen_at_bookmark = _seen(self.seen_at_bookmark)
        self.settled = Boundary(self.bookmark, dict(self.seen_at_bookmark))

    def next_request(self) -> PageRequest:
        """The request to send now."""
        again = self._passes
        size = None if self._size == self.per_page else self._size
        if self._token:
            return PageRequest(self._after, page_token=self._token, tie_pass=again, per_page=size)
        if self._page == 1:
            return PageRequest(self._window_start(), tie_pass=again)
        return PageRequest(self._after, page=self._page, tie_pass=again, per_page=size)

    def _window_start(self) -> int | None:
        """A window's If-Modified-Since: past a settled tie, else from the bookmark second on."""
        if self._floor is not None or self.bookmark is None:
            return self._floor
        # The second before, unless Zoho answered inclusively (it would be read again for nothing).
        return self.bookmark - (not self._inclusive or self._ignored)

    def accept(
        self,
        rows: list[tuple[str, int]],
        *,
        more: bool,
        next_token: str | None,
        fingerprints: list[str] | None = None,
        server_now: int | None = None,
    ) -> list[bool]:
        """Take one page of ``(id, modified_epoch)`` rows; return which rows to emit.

        ``fingerprints`` (one per row) let a row changed within its second through;
        ``server_now`` is the epoch second of the answer's ``Date`` header.
        """
        epochs = [epoch for _, epoch in rows]
        if epochs != sorted(epochs):
            msg = "Zoho returned records out of Modified_Time order; refusing to page unsafely"
            raise UnsortedResponseError(msg)
        if server_now is not None:
            horizon = server_now - self.lag_seconds
            self.horizon = horizon if self.horizon is None else max(self.horizon, horizon)
        if self._passes:
            self.reread_calls += 1
        start, asked, before = self._start(), self._size, self.bookmark
        opening = self._page == 1 and not self._token  # a window's first page
        if not self._arrived(rows):
            return [False] * len(rows)  # the same stretch again, reaching further back
        keep, cut = self._take_page(rows, fingerprints or [None] * len(rows))
        self._end, self._last, self._last_start = start + len(rows), dict(rows), start
        if opening:
            self._pass.fresh = any(keep)  # every row kept lies at or past the tie second
            moved = self.bookmark != before and not self._one_second(epochs)
        else:
            moved = self.bookmark != self._tie  # rows after the tie second were taken
        if self._tie is not None and (cut or not more or not rows) and self._unsettled():
            self._reread_tie()
        elif self._past_tie(epochs, cut=cut, more=more, moved=moved, opening=opening):
            pass  # the next window starts past a settled tie second
        elif not more or not rows:
            self.finished = True
        elif moved:
            self._new_window()  # a window starting at the new bookmark skips nothing
        else:
            self._page_inside_tie(next_token, asked)
        return keep

    def _past_tie(
        self, epochs: list[int], *, cut: bool, more: bool, moved: bool, opening: bool
    ) -> bool:
        """Plan a window past a settled tie second when this page calls for one (True).

        A token page that crossed out of the tie second was cut there: the next window asks for
        what was modified after that second. If Zoho answers with rows of that second, it
        compares inclusively: the window is asked again from the next second, whose own rows
        then belong in the answer. If rows of the tie second still come back, Zoho ignores the
        start: token pages are then read on as before.
        """
        floor, tie = self._floor, self._tie
        if cut and tie is not None:
            self._new_window()
            self._floor = tie + self._inclusive
            return True
        left = None if floor is None else floor - self._inclusive  # the settled tie second
        if left is not None and opening and more and not moved and epochs and epochs[0] <= left:
            self._ignored = self._inclusive  # asked from the next second already
            self._inclusive = True
            self._new_window()
            self._floor = None if self._ignored else left + 1
            return True
        return False

    def position_refused(self) -> bool:
        """Zoho refused the position (its cap is lower than documented): ask by token instead.

        False when there is no token to ask by.
        """
        token, size = self._spare
        if self._page == 1 or self._token or not token:
            return False
        self.discrete_cap = self._start()
        self._token, self._size = token, size
        self._pass.shifted |= self._overlap != 1  # the page refused was asked again: a shift
        return True

    def _arrived(self, rows: list[tuple[str, int]]) -> bool:
        """Note a page as it arrives; False when it must be asked again (a shift to bridge)."""
        if self._page == 1 and not self._token:  # a window's first page
            self._after = self._window_start()
            self._pass = _Pass()
        elif self._token or self._start() >= self._end:
            self._pass.unverifiable = True
        elif not self._verified(rows):
            if self._widen_overlap():
                self.reread_calls += not self._passes  # a re-read pass counts each call anyway
                return False
            self._pass.shifted = True
        return True

    def _start(self) -> int:
        """Position of the first row the position request just sent asked for (0: page 1)."""
        return (self._page - 1) * (self._size or self.per_page)

    def _new_window(self) -> None:
        self._page, self._size, self._token, self._tie, self._passes = 1, None, None, None, 0
        self._floor = None

    def _page_inside_tie(self, next_token: str | None, asked: int | None) -> None:
        """A whole page inside one second (mass update): page on through it in this window.

        By position, each page overlapping the one before, then by this window's page token
        (position paging stops at the discrete cap; a token is bound to the size of the page
        that minted it).
        """
        self._tie = self.bookmark
        self._spare = (next_token, asked)
        self._overlap = 1
        if self._token or not self._plan_position():
            if not next_token:
                msg = "Zoho gave no page token past the position cap"
                raise UnsortedResponseError(msg)
            self._token, self._size = next_token, asked

    def _plan_position(self) -> bool:
        """Plan the next position page, overlapping the last one; False past the position cap.

        It starts at least ``_overlap`` rows before the end of the last one (so the answer shows
        whether rows were skipped), taking the page that reaches furthest; never before the last
        page's second row nor past its end, and it asks at most ``per_page`` rows. Without such a
        page (tiny pages) the page reaching furthest is taken: its pass cannot show a skip.
        Zoho places a page at ``(page - 1) * per_page``, so the start must be a multiple of the
        size asked (:meth:`_page_size`); it always lies past the last page's start, so a short
        answer cannot make the same request again. Tiny pages may leave no overlap: the page then
        starts right at the end and cannot show a skip (the token rule applies to its pass).
        """
        end = self._end
        first = self._last_start + 1  # past the last page's start: a short answer moves on too
        wanted = end - self._overlap
        fits = [(at, size) for at in range(first, end + 1) if (size := self._page_size(at, end))]
        if not fits:
            return False
        overlapping = [fit for fit in fits if fit[0] <= wanted]
        # The one reaching furthest; else, a page asked again starts as far back as a page can,
        # and with tiny pages the only page there is starts at the end.
        start, size = max(overlapping, key=sum) if overlapping else fits[0]
        self._page, self._size = start // size + 1, size
        return True

    def _page_size(self, start: int, end: int) -> int | None:
        """The largest page Zoho can place at ``start`` that reaches past ``end`` within the cap.

        A divisor of ``start`` (pages before it, all of that size), at most ``per_page``.
        """
        for size in range(min(self.per_page, self.discrete_cap - start), end - start, -1):
            if start % size == 0:
                return size
        return None

    def _verified(self, rows: list[tuple[str, int]]) -> bool:
        """Whether a position page shows that none of the rows before it moved away.

        Zoho pages by position over live data: when a record before the page start is edited
        (it leaves for a later second), every later row shifts back one place and one would be
        skipped. The page asked again the tail of the page before; finding any of those rows
        (at the same second) proves that every row since is in this page.
        """
        last = self._last
        return any(last.get(rid) == epoch for rid, epoch in rows)

    def _widen_overlap(self) -> bool:
        """Plan the page again reaching further back into the last page.

        False when it already reached back to the last page's first row (or cannot go further).
        """
        before = self._start()
        self._overlap = max(8, 4 * (self._end - before))
        return self._plan_position() and self._start() < before

    def _unsettled(self) -> bool:
        """Whether this pass leaves the tie second unsettled, to be read again before moving on.

        A pass whose pages all overlapped saw every row still in the second. A pass that found a
        shift it could not bridge may have skipped any row, in the second or after it. Page
        tokens (past the position cap) and pages too small to overlap show nothing either way;
        such a pass settles the second once it finds nothing new there (a second of many
        thousand rows would never settle otherwise).
        """
        return self._pass.shifted or (self._pass.unverifiable and self._pass.fresh)

    def _one_second(self, epochs: list[int]) -> bool:
        """A first page wholly inside one second: page through that second in this window.

        A fresh window there would answer these very rows again, a call for nothing.
        """
        return epochs[0] == epochs[-1] == self.bookmark

    def _take_page(
        self, rows: list[tuple[str, int]], prints: t.Sequence[str | None]
    ) -> tuple[list[bool], bool]:
        """Which rows to emit, and whether the page was cut at the end of an unsettled tie.

        The rows of the tie second come first (the page is sorted); the rows after it wait for
        another pass while the pass leaves the second unsettled (:meth:`_unsettled`).
        """
        tie = self._tie
        keep: list[bool] = []
        for (rid, epoch), print_ in zip(rows, prints, strict=True):
            # Past the tie: wait while the pass leaves it unsettled, and never take a token
            # page's rows there (it cannot show whether rows before them were skipped).
            past = tie is not None and epoch > tie
            if past and (self._unsettled() or (self._token is not None and not self._ignored)):
                return keep + [False] * (len(rows) - len(keep)), True
            taken = self._take(rid, epoch, print_)
            self._pass.fresh |= taken and epoch == tie
            keep.append(taken)
        return keep, False

    def _reread_tie(self) -> None:
        """Start another pass over the tie second; give up (for this run) after too many."""
        self._passes += 1
        self._page, self._size, self._token, self._floor = 1, None, None, None
        if self._passes >= MAX_TIE_PASSES:
            self.finished = True  # the resumable position stays at that second: next run
            self.gave_up = True

    def _take(self, rid: str, epoch: int, print_: str | None) -> bool:
        if self.bookmark is not None:
            if epoch < self.bookmark:
                return False
            if epoch == self.bookmark and rid in self.seen_at_bookmark:
                known = self.seen_at_bookmark[rid]
                if print_ is None or known == print_:
                    return False
        if self.bookmark is None or epoch > self.bookmark:
            self.bookmark = epoch
            self.seen_at_bookmark = {rid: print_}
        else:
            self.seen_at_bookmark[rid] = print_
        self.settled.note(rid, epoch, print_, self.horizon)
        return True
