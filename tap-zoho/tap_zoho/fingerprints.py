"""A row's fingerprint: how the tap tells a record read again from the same record changed.

Keyset paging re-reads the second of its bookmark (:mod:`tap_zoho.keyset`), and Books' and the
reference streams' incremental reads compare what they read before; a record is emitted again
only when its content changed, not merely because it was listed again.
"""

from __future__ import annotations

import hashlib
import typing as t

import msgspec

_CONTAINERS = (str, list, dict)  # empty ones are left out of a fingerprint, as null is


def fingerprint(row: t.Mapping[str, t.Any]) -> str:
    """A short hash of a row's content: equal rows, equal prints.

    ``$`` UI flags and empty values (null, ``""``, ``[]``, ``{}``) are left out, so a field
    created since (empty on every row) changes no print; a value emptied still does.
    """
    content = {
        key: value
        for key, value in row.items()
        if (value or (value is not None and not isinstance(value, _CONTAINERS))) and key[:1] != "$"
    }
    encoded = msgspec.json.encode(content, order="sorted")
    return hashlib.blake2b(encoded, digest_size=8).hexdigest()
