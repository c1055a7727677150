"""A listing paged by position, read again until its pages cannot have shifted.

Users, profiles and territories page by ``page`` / ``per_page`` with no page token
(``shared/zoho-api.md`` 2.4): page 2 is "the rows at positions 201 to 400" of the listing as it
is when page 2 is asked for. A row that leaves the listing between two pages (a user deleted,
when ``type=AllUsers`` leaves deleted users out; a user moved to the front of a newest-first
listing by an edit; a profile or territory removed) moves every row after it back one place, so
the row that was first on the next page is on a page already read and no page returns it.

Nothing in one pass shows that this happened, so a listing that took more than one page is read
again, whole, until a pass reads exactly the ids the pass before it read: no id appeared (a row
shifted out of an earlier pass) and none went missing (a row left the listing, which may have
shifted another out of that pass). One answer needs no second pass: it is the whole listing at
one instant. So the common case costs nothing more (one page: one call per listing), and a
listing of P pages costs 2 x P calls when nothing moves while it is read, 3 x P when something
does. After ``MAX_PASSES`` passes that still differ the listing is left as read, with a warning,
and :attr:`Passes.settled` stays False so a bookmark is not moved past rows no pass returned.
"""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterator

Page = list[dict[str, t.Any]]
MAX_PASSES = 5


class Passes:
    """Every page of every pass over one listing, in the order read (rows repeat across passes).

    ``read`` starts one pass and yields its pages; ``what`` names the rows in messages ("users",
    "profiles"). Iterate once; then :attr:`settled` says whether the last pass confirmed the one
    before it (or the listing fitted one page), and :attr:`passes` how many passes were read.
    """

    def __init__(
        self,
        read: Callable[[], Iterator[Page]],
        *,
        label: str,
        what: str,
        logger: logging.Logger,
        unsettled: str = "the next run lists them whole again",
    ) -> None:
        """A listing read by ``read``, logged under ``label`` (the stream's name).

        ``unsettled`` says in the warning what follows when the passes never agree.
        """
        self.read = read
        self.unsettled = unsettled
        self.label = label
        self.what = what
        self.logger = logger
        self.settled = False
        self.passes = 0

    def __iter__(self) -> Iterator[Page]:
        """The pages of the first pass, then of each further pass the listing needs."""
        before: set[str] | None = None
        pages = 0
        while self.passes < MAX_PASSES:
            self.passes += 1
            ids: set[str] = set()
            pages = 0
            for page in self.read():
                pages += 1
                ids.update(str(row.get("id")) for row in page)
                yield page
            if pages <= 1 or ids == before:
                self.settled = True
                return
            if before is not None:
                self.logger.info(
                    "%s: the %s changed while they were paged (%d appeared, %d went missing "
                    "since the pass before); reading them again (pass %d)",
                    self.label,
                    self.what,
                    len(ids - before),
                    len(before - ids),
                    self.passes + 1,
                )
            before = ids
        self.logger.warning(
            "%s: the %s kept changing while they were paged (%d passes of %d pages each): Zoho "
            "pages them by position, so one removed between two pages can shift another out of "
            "every pass. Every one seen is emitted; %s",
            self.label,
            self.what,
            self.passes,
            pages,
            self.unsettled,
        )
