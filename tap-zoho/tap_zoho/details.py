"""Values Get Records leaves out or cuts, completed by single-record reads (``zoho-api.md`` 3.2).

A list returns no value for subforms, multi-select lookups, multi-user lookups and the line items
of Quotes, Invoices, Sales_Orders and Purchase_Orders, and cuts rich text at 500 characters; only
``GET /{module}/{id}`` (one credit each) has them whole. So a record is read once more only when a
value can be incomplete: every listed record of a module with such fields, and, in modules with
rich text only, the records whose rich text is 500 characters long. A per-run budget bounds the
extra credits; records beyond it are emitted with the list's values and counted as incomplete.
"""

from __future__ import annotations

import threading
import typing as t
from dataclasses import dataclass, field

# Data types whose values a list leaves out (``lineitem`` is the pre-v3 name of line items).
LIST_OMITTED_TYPES = frozenset({"subform", "multiselectlookup", "multiuserlookup", "lineitem"})
# Line-item subforms of the inventory modules, whatever data type their metadata reports.
LINE_ITEM_FIELDS = frozenset({"Quoted_Items", "Invoiced_Items", "Ordered_Items", "Purchased_Items"})
RICH_TEXT_LIST_CHARS = 500
MAX_FIELDS_PER_CALL = 50


def is_rich_text(field_meta: dict[str, t.Any]) -> bool:
    """``textarea`` with ``textarea.type = "rich_text"``."""
    textarea = field_meta.get("textarea")
    return (
        field_meta.get("data_type") == "textarea"
        and isinstance(textarea, dict)
        and textarea.get("type") == "rich_text"
    )


def may_be_cut(value: t.Any) -> bool:
    """True when a listed rich-text value may have been cut at 500 characters.

    Zoho may count code points or UTF-16 units (undocumented); the UTF-16 length is never
    smaller, so testing it catches a cut value under either reading.
    """
    return isinstance(value, str) and len(value.encode("utf-16-le")) // 2 >= RICH_TEXT_LIST_CHARS


@dataclass(frozen=True)
class DetailPlan:
    """Which selected fields of a module a list cannot be trusted with."""

    omitted: tuple[str, ...] = ()
    rich_text: tuple[str, ...] = ()

    @classmethod
    def for_fields(cls, fields: list[dict[str, t.Any]], selected: set[str]) -> DetailPlan:
        """The plan for the selected fields of a module's metadata."""
        omitted = tuple(
            str(f["api_name"])
            for f in fields
            if f.get("api_name") in selected
            and (f.get("data_type") in LIST_OMITTED_TYPES or f.get("api_name") in LINE_ITEM_FIELDS)
        )
        rich = tuple(
            str(f["api_name"]) for f in fields if f.get("api_name") in selected and is_rich_text(f)
        )
        return cls(omitted, rich)

    @property
    def fields(self) -> tuple[str, ...]:
        """Fields to take from the single-record read."""
        return self.omitted + self.rich_text

    def __bool__(self) -> bool:
        """False when a list returns every selected value whole."""
        return bool(self.fields)

    def needs_detail(self, record: dict[str, t.Any]) -> bool:
        """True when this listed record may hold an incomplete value."""
        return bool(self.omitted) or any(may_be_cut(record.get(n)) for n in self.rich_text)

    def params(self) -> dict[str, str]:
        """Query of the single-record read: just these fields (all fields past the cap)."""
        if len(self.fields) > MAX_FIELDS_PER_CALL:
            return {}
        return {"fields": ",".join(self.fields)}

    def merge(self, record: dict[str, t.Any], detail: dict[str, t.Any]) -> list[str]:
        """Copy the detail values into ``record``; return the fields Zoho says hold more."""
        for name in self.fields:
            if name in detail:
                record[name] = detail[name]
        return self.truncated(detail)

    def truncated(self, detail: dict[str, t.Any]) -> list[str]:
        """The fields a single-record read says hold more rows than it returned."""
        has_more = detail.get("$has_more")
        if isinstance(has_more, list):  # the shape is not documented: a list of names, or
            has_more = dict.fromkeys(has_more, True)
        if not isinstance(has_more, dict):  # a map of field name to flag
            return []
        return [name for name in self.fields if has_more.get(name)]


@dataclass
class DetailBudget:
    """Single-record reads left in this run, shared by every CRM stream."""

    remaining: int
    warned: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, wanted: int) -> int:
        """Reserve up to ``wanted`` reads; return how many were granted."""
        with self._lock:
            granted = max(0, min(wanted, self.remaining))
            self.remaining -= granted
            return granted

    def first_refusal(self) -> bool:
        """True exactly once: the moment to warn that the cap was reached."""
        with self._lock:
            first, self.warned = not self.warned, True
            return first
