"""Books/Inventory list pages, read by the SDK's paging loop over the cursors of :mod:`.keyset`.

Items and contacts page by keyset windows (:class:`~tap_zoho.keyset.ModifiedTimeCursor`: each
request opens a window one second before the newest ``last_modified_time`` emitted), price lists
by page number (:class:`~tap_zoho.keyset.PositionCursor`); Zoho's ``page_context.has_more_page``
says whether more pages follow (``shared/zoho-api.md`` 6.4).
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from singer_sdk.pagination import BaseAPIPaginator
from typing_extensions import override

from tap_zoho.datetimes import to_epoch
from tap_zoho.errors import ZohoApiError
from tap_zoho.fingerprints import fingerprint
from tap_zoho.keyset import ModifiedTimeCursor, PageRequest
from tap_zoho.position_paging import PositionCursor
from tap_zoho.shaping import rfc3339

if t.TYPE_CHECKING:
    import requests

LAST_MODIFIED = "last_modified_time"


@dataclass
class ListPass:
    """One read of a list endpoint for one organisation: which records, planned by which cursor."""

    organization_id: str
    cursor: ModifiedTimeCursor | PositionCursor
    filter_by: str = ""
    paginator: FinancePaginator = field(init=False)

    def __post_init__(self) -> None:
        """The pass pages with one paginator over its cursor."""
        self.paginator = FinancePaginator(self.cursor)


class FinancePaginator(BaseAPIPaginator[PageRequest]):
    """The SDK's paging loop over a cursor, driven by ``has_more_page``.

    The cursor reads each page in :meth:`take_page`, called by the stream's ``parse_response``
    before any row of the page is emitted; the SDK then asks :meth:`has_more` and
    :meth:`get_next`, which only report what the cursor planned.
    """

    def __init__(self, cursor: ModifiedTimeCursor | PositionCursor) -> None:
        """Start at the cursor's first request."""
        super().__init__(cursor.next_request())
        self.cursor = cursor
        self.kept: dict[str, tuple[int, str]] = {}

    def take_page(
        self,
        response: requests.Response,
        rows: list[dict[str, t.Any]],
        id_key: str,
        *,
        more: bool,
        server_now: int | None = None,
    ) -> list[dict[str, t.Any]]:
        """The one place the cursor reads a page: the rows to emit, in order.

        ``more`` is the page's ``page_context.has_more_page``; ``server_now`` is Zoho's clock by
        the page's ``Date`` header (how far a bookmark may settle). Each kept row's modification
        instant and fingerprint, as listed, are left in :attr:`kept` by id for the stream's
        bookmark, which so parses no time again.
        """
        del response  # the cursors plan from the rows and the server's clock (``server_now``)
        cursor = self.cursor
        if isinstance(cursor, PositionCursor):
            cursor.accept([str(row[id_key]) for row in rows], more=more, next_token=None)
            return rows
        prints = [fingerprint(row) for row in rows]  # as listed: the next run compares the same
        pairs = [(str(row[id_key]), modified_epoch(row, id_key)) for row in rows]
        keep = cursor.accept(
            pairs, more=more, next_token=None, fingerprints=prints, server_now=server_now
        )
        self.kept = {
            rid: (epoch, print_)
            for (rid, epoch), print_, wanted in zip(pairs, prints, keep, strict=True)
            if wanted
        }
        return [row for row, wanted in zip(rows, keep, strict=True) if wanted]

    @override
    def has_more(self, response: requests.Response) -> bool:
        """True until the cursor has read the last page."""
        return not self.cursor.finished

    @override
    def get_next(self, response: requests.Response) -> PageRequest | None:
        """The request the cursor planned from the page just read."""
        return self.cursor.next_request()

    @override
    def continue_if_empty(self, response: requests.Response) -> bool:
        """A page whose rows were all emitted before (the boundary second) is not the end."""
        return not self.cursor.finished


def modified_epoch(row: dict[str, t.Any], id_key: str) -> int:
    """The row's ``last_modified_time`` as an epoch second, read once for every reader.

    The value is rewritten in RFC 3339 form (``+0530`` -> ``+05:30``, what the SCHEMA promises)
    and parsed once: the cursor takes the instant, and the bookmark takes it from the paginator
    (:attr:`FinancePaginator.kept`). A row without a readable time cannot be paged safely: the
    organisation stops with one line naming the row.
    """
    value = row.get(LAST_MODIFIED)
    try:
        row[LAST_MODIFIED] = text = rfc3339(value) if isinstance(value, str) else ""
        return to_epoch(text)
    except ValueError:
        msg = (
            f"{id_key} {row.get(id_key)} has no valid {LAST_MODIFIED} ({value!r}); "
            "refusing to page past it"
        )
        raise ZohoApiError(msg) from None
