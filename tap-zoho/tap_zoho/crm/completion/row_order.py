"""The order of a subform's rows inside its parent, as a single-record read holds them.

Lists and exports give a subform module's rows in id order (3.3); a single-record read holds
them in the parent's own order, which Zoho does not document. Line items carry their position
(``Sequence_Number``), so the reading the tap starts from is that a single-record read holds rows
by ``Sequence_Number`` where they carry one, and by id (creation order) otherwise. The other
reading, every subform by id, is handled too: each single-record read the tap makes anyway shows
the order Zoho uses, and a subform whose rows come back by id against their ``Sequence_Number``
(or the other way round) is kept in the parent module's state (``completion_row_order``), so later
joins follow what Zoho does. Linking modules' links are joined by id under both readings.
"""

from __future__ import annotations

import typing as t

SEQUENCE = "Sequence_Number"
ROW_ORDER = "completion_row_order"
BY_SEQUENCE, BY_ID = "sequence", "id"
MIN_TELLING_ROWS = 2


def id_key(row: t.Mapping[str, t.Any]) -> tuple[int, str]:
    """A row's id as a number (ids are digit strings of growing length)."""
    rid = str(row.get("id") or "")
    return len(rid), rid


def _sequence(row: t.Mapping[str, t.Any]) -> int | None:
    value = row.get(SEQUENCE)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def observed(rows: t.Any) -> str | None:
    """The reading a single-record read's subform rows show; None when they cannot tell.

    They tell only when ordering them by ``Sequence_Number`` and by id differ.
    """
    if not isinstance(rows, list) or len(rows) < MIN_TELLING_ROWS:
        return None
    if not all(isinstance(row, dict) and _sequence(row) is not None for row in rows):
        return None
    ids = [id_key(row) for row in rows]
    by_id = sorted(ids)
    by_sequence = [id_key(row) for row in sorted(rows, key=lambda r: (_sequence(r), id_key(r)))]
    if by_id == by_sequence:
        return None
    if ids == by_sequence:
        return BY_SEQUENCE
    return BY_ID if ids == by_id else None


class RowOrders:
    """The reading of each subform module's row order, kept in the parent module's state."""

    def __init__(self, state: dict[str, t.Any]) -> None:
        """``state`` is the parent module's state."""
        self.state = state

    def reading(self, module: str) -> str:
        """How rows of ``module`` are ordered in their parent (the default until seen)."""
        kept = self.state.get(ROW_ORDER)
        value = kept.get(module) if isinstance(kept, dict) else None
        return value if value in {BY_SEQUENCE, BY_ID} else BY_SEQUENCE

    def observe(self, module: str, rows: t.Any) -> bool:
        """Learn from a single-record read's rows of ``module``; True if the reading changed."""
        seen = observed(rows)
        if seen is None or seen == self.reading(module):
            return False
        kept = self.state.get(ROW_ORDER)
        self.state[ROW_ORDER] = {**(kept if isinstance(kept, dict) else {}), module: seen}
        return True

    @staticmethod
    def position(row: t.Mapping[str, t.Any], reading: str | None) -> int | None:
        """Where a row stands among its parent's under ``reading`` (None: by id)."""
        return _sequence(row) if reading == BY_SEQUENCE else None
