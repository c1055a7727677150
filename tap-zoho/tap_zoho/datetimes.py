"""Zoho datetimes as instants: CRM sends ``+05:30``, Books ``+0530``; compare epochs only.

A record's modification time is parsed once, where its page is read: the keyset cursor decides
with that instant which rows are new, and the bookmark takes it from there (the UTC instant in
STATE). The conversions are memoised, so a later reader of the same text (the completion's check
for a record modified since its rows were listed) gets the parsed instant back, and records that
share their second share one parse. The caches are bounded.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache

PARSED_VALUES_KEPT = 4096


@lru_cache(maxsize=PARSED_VALUES_KEPT)
def to_epoch(value: str) -> int:
    """Epoch second of an ISO-8601 datetime with any offset form (``Z``, ``+05:30``, ``+0530``)."""
    text = value.strip().replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":  # noqa: PLR2004 - colon-less offset
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())


@lru_cache(maxsize=PARSED_VALUES_KEPT)
def utc_iso(epoch: int) -> str:
    """``2024-01-05T04:50:30+00:00``: the form used in state and request headers."""
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def http_date_epoch(value: str | None) -> int | None:
    """Epoch second of an HTTP ``Date`` header (``Tue, 01 Dec 2026 18:00:00 GMT``); None if bad."""
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return int(parsed.timestamp())
