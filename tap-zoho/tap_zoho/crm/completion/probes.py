"""Probes of a module's newest records: what changed while a subform or linking list was read.

A listing pages by position, so a row removed while it runs (its parent edited or deleted) can
shift another out of every page. The newest parents (``Modified_Time`` descending, five of them,
one call) taken before and after a listing tell whether anything changed in between, and the
newest instant seen before says which parents may hold rows newer than the listing.
"""

from __future__ import annotations

import typing as t

from tap_zoho.crm.limits import ALL_RECORDS, MODIFIED_TIME
from tap_zoho.datetimes import to_epoch

if t.TYPE_CHECKING:
    from .record_reads import Getter

PROBE_ROWS = 5
PROBE_CALLS = 2  # one before a listing, one after

Probe = tuple[tuple[str, str], ...]


def newest_parents(get_json: Getter, path: str, has_modified_time: bool) -> Probe:  # noqa: FBT001
    """The newest parents (id, Modified_Time) at ``path``: what changed while lists were read."""
    if not has_modified_time:
        return ()
    params = {
        "fields": MODIFIED_TIME,
        "per_page": PROBE_ROWS,
        "sort_by": MODIFIED_TIME,
        "sort_order": "desc",
        **ALL_RECORDS,
    }
    body = get_json(path, params, None) or {}
    return tuple((str(r.get("id")), str(r.get(MODIFIED_TIME))) for r in body.get("data") or [])


def probe_epoch(probe: Probe) -> int | None:
    """The newest instant a probe saw."""
    times = [to_epoch(modified) for _, modified in probe if modified and modified != "None"]
    return max(times) if times else None
