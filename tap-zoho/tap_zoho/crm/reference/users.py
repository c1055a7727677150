"""Users of every status, read incrementally by ``If-Modified-Since`` (``shared/zoho-api.md`` 2.4).

Two listings a run:

1. ``type=AllUsers`` (Zoho's default, said outright), with ``If-Modified-Since`` at the bookmark
   once there is one: only users modified since, or a 304 (204 is read the same way). Zoho lists
   users in an order of its own (unconfirmed), so the bookmark is computed over the whole listing:
   the newest ``Modified_Time`` that Zoho's clock (the answer's ``Date``) is
   ``bookmark_lag_seconds`` past, with a fingerprint of each user emitted at that second. If Zoho
   compares inclusively, those users come back next run and are skipped while unchanged.
2. ``type=DeletedUsers``, whole (one call): whether ``AllUsers`` includes deleted users is
   unconfirmed, and whether deleting a user moves its ``Modified_Time`` is not said, so a
   deletion could escape the first listing. A deleted user is emitted when its content differs
   from the last run's (fingerprints kept in state), and never twice in one run.

Both listings page by position (``page`` / ``per_page``, no token): a user leaving the listing
between two pages (deleted, or moved by an edit in a newest-first order) shifts another out of
every page. A listing of more than 200 users is therefore read again until two passes agree
(:mod:`.passes`): twice its pages when nothing moves meanwhile, nothing more for one page, the
common case of an incremental run. A user read again unchanged is not emitted twice, and while
the passes disagree the bookmark does not move, so a user no pass returned is read next run.

``start_date`` does not apply: reference data is read whole on a first run, so every owner a
record names can be joined to its user.
"""

from __future__ import annotations

import typing as t

from typing_extensions import override

from tap_zoho.datetimes import to_epoch, utc_iso
from tap_zoho.fingerprints import fingerprint
from tap_zoho.sdk.bookmarks import BOUNDARY_FINGERPRINTS, OwnBookmarks, saved_boundary

from . import schema
from .base import CRM, Endpoint, ReferenceStream

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

USERS = Endpoint(f"{CRM}/users", "users", "ZohoCRM.users.READ", "users", max_per_page=200)
MODIFIED = "Modified_Time"
BOOKMARK = "replication_key_value"
DELETED = "deleted_users"  # id -> fingerprint of each user DeletedUsers listed last run
MAX_DELETED_KEPT = 10_000  # past it, the rest are emitted again every run


def _modified(row: dict[str, t.Any]) -> int | None:
    value = row.get(MODIFIED)
    try:
        return to_epoch(value) if isinstance(value, str) else None
    except ValueError:
        return None


class UsersStream(OwnBookmarks, ReferenceStream):
    """Users: active, inactive and deleted ones, incremental on ``Modified_Time``."""

    entity = "users"
    endpoint = USERS
    declared_schema = schema.USERS
    replication_key = MODIFIED
    is_sorted = False

    @override
    def get_replication_key_signpost(self, context: Context | None = None) -> None:
        """No signpost: :meth:`rows` settles the bookmark itself."""

    @override
    def rows(self, context: Context | None) -> t.Iterator[dict[str, t.Any]]:
        """Users modified since the bookmark, then deleted users not emitted in that form yet."""
        state = self.get_context_state(context)
        emitted: dict[str, str] = {}
        yield from self._modified_since(state, emitted)
        yield from self._deleted(state, emitted)

    def _modified_since(
        self, state: dict[str, t.Any], emitted: dict[str, str]
    ) -> t.Iterator[dict[str, t.Any]]:
        saved = state.get(BOOKMARK)
        since = to_epoch(saved) if isinstance(saved, str) and saved else None
        seen = saved_boundary(state) if since is not None else {}
        headers = {"If-Modified-Since": utc_iso(since)} if since is not None else None
        newest, at_newest = since, dict(seen)
        unsettled = (
            f"the bookmark stays at {saved}, so the next run reads them again"
            if since is not None
            else "no bookmark is set, so the next run lists every user again"
        )
        listing = self.passes(USERS, {"type": "AllUsers"}, headers, unsettled=unsettled)
        for page in listing:
            horizon = self.server_now() - self.lag_seconds
            for row in page:
                rid, print_, epoch = str(row.get("id")), fingerprint(row), _modified(row)
                if epoch is not None and epoch == since and seen.get(rid) == print_:
                    continue  # listed again at the bookmark (an inclusive comparison), unchanged
                if epoch is not None and epoch <= horizon:
                    if newest is None or epoch > newest:
                        newest, at_newest = epoch, {}
                    if epoch == newest:
                        at_newest[rid] = print_
                if emitted.get(rid) == print_:
                    continue  # read again by a later pass (:mod:`.passes`), unchanged
                emitted[rid] = print_
                yield row
        if newest is not None and listing.settled:  # every user was read: the bookmark may move
            state["replication_key"] = MODIFIED
            state[BOOKMARK] = utc_iso(newest)
            state[BOUNDARY_FINGERPRINTS] = at_newest

    def _deleted(
        self, state: dict[str, t.Any], emitted: dict[str, str]
    ) -> t.Iterator[dict[str, t.Any]]:
        known = state.get(DELETED)
        known = known if isinstance(known, dict) else {}
        listed: dict[str, str] = {}
        for page in self.passes(USERS, {"type": "DeletedUsers"}, what="deleted users"):
            for row in page:
                rid, print_ = str(row.get("id")), fingerprint(row)
                listed[rid] = print_
                if print_ in {known.get(rid), emitted.get(rid)}:
                    continue
                emitted[rid] = print_
                yield row
        state[DELETED] = dict(list(listed.items())[:MAX_DELETED_KEPT])
