"""One CRM module as discovery describes it: its fields, what a list asks for, its records' shape.

Pure: no I/O. Every part of a module's read (the listing, the Bulk Read backfill, the completion of
values lists leave out) takes the module's facts from here.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass

from .completion.plan import is_list_omitted
from .limits import CRM_BASE, MAX_FIELDS_PER_CALL, MODIFIED_TIME
from .schema import DELETED_AT, bigint_fields

if t.TYPE_CHECKING:
    from collections.abc import Callable


@dataclass(frozen=True)
class Selection:
    """The fields one read asks for.

    ``fields``: every field the catalog selects (``Modified_Time`` always, where the module has
    it); ``groups``: those a list returns, at most 50 a group, ``Modified_Time`` first. Values a
    list leaves out are never asked of a list: they come back empty and may cost a group of their
    own.
    """

    fields: list[str]
    groups: list[list[str]]


class CrmModule:
    """A module's metadata (``/settings/modules`` and ``/settings/fields``)."""

    def __init__(self, metadata: dict[str, t.Any], fields: list[dict[str, t.Any]]) -> None:
        """Built by discovery from the module's entry and its field metadata."""
        self.api_name = str(metadata["api_name"])
        self.path = f"{CRM_BASE}/{self.api_name}"
        self.fields = fields
        self.field_meta = {str(f["api_name"]): f for f in fields if f.get("api_name")}
        self.field_names = [
            str(f["api_name"]) for f in fields if f.get("api_name") not in {None, "id"}
        ]
        self.has_modified_time = MODIFIED_TIME in self.field_names
        self._bigints = bigint_fields(fields)
        self._omitted = {str(f["api_name"]) for f in fields if is_list_omitted(f)}
        self._allowed_keys = {"id", *self.field_names}

    @property
    def stream_name(self) -> str:
        """``Price_Books`` -> ``price_books``: with prefix ``zoho_``, the legacy table names."""
        return self.api_name.lower()

    def selection(self, selected: Callable[[str], bool], per_call: int) -> Selection:
        """The fields the catalog selects, and the groups of at most ``per_call`` a list asks."""
        fields = [name for name in self.field_names if selected(name)]
        if self.has_modified_time and MODIFIED_TIME not in fields:
            fields.insert(0, MODIFIED_TIME)
        listed = [name for name in fields if name not in self._omitted]
        if self.has_modified_time:
            listed.remove(MODIFIED_TIME)
            listed.insert(0, MODIFIED_TIME)
        size = min(per_call, MAX_FIELDS_PER_CALL)
        groups = [listed[i : i + size] for i in range(0, len(listed), size)]
        return Selection(fields, groups or [[]])

    def clean(self, row: dict[str, t.Any]) -> dict[str, t.Any]:
        """Drop ``$`` UI flags (not fields); ``bigint`` numbers become strings, as typed."""
        for extra in row.keys() - self._allowed_keys:
            del row[extra]
        for name in self._bigints:
            value = row.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                row[name] = str(value)
        return row

    @staticmethod
    def tombstone(entry: dict[str, t.Any]) -> dict[str, t.Any]:
        """A deleted record: its id and ``_sdc_deleted_at`` (the Singer convention), nothing else.

        That a deletion beats the record's last edit is the target's rule, for any tap, so no
        field is made up here.
        """
        return {"id": entry["id"], DELETED_AT: entry["deleted_time"]}
