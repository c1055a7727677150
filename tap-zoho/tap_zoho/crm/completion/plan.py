"""Which values of a CRM module a list leaves out, where else Zoho keeps them, and what each costs.

Get Records leaves out subforms (line items too), multi-select and multi-user lookups, and cuts rich
text at 500 characters (``shared/zoho-api.md`` 3.2). Zoho keeps the same values elsewhere (3.3):

* a subform's rows in its **subform module** (the field's ``associated_module``), listed by the
  Subform API with ``Parent_Id`` naming the parent;
* a multi-select or multi-user lookup's links in its **linking module** (the field's
  ``multiselectlookup`` / ``multiuserlookup``: ``linking_module``, ``lookup_apiname``,
  ``connectedfield_apiname``), read like any module;
* both exported by **Bulk Read** jobs of those modules;
* rich text whole through the **Rich Text API** (``actions/fetch_full_data``) or a single-record
  read, one record a call.

Pure: no I/O. :mod:`.completer` acts on these plans; costs follow 3.3's table.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
import math
import typing as t
from dataclasses import dataclass

from tap_zoho.crm.bulk_read.csv_rows import exportable
from tap_zoho.crm.limits import MAX_PER_PAGE

# Data types whose values a list leaves out (``lineitem`` is the pre-v3 name of line items).
LIST_OMITTED_TYPES = frozenset({"subform", "multiselectlookup", "multiuserlookup", "lineitem"})
# Line-item subforms of the inventory modules, whatever data type their metadata reports.
LINE_ITEM_FIELDS = frozenset({"Quoted_Items", "Invoiced_Items", "Ordered_Items", "Purchased_Items"})
SUBFORM_PARENT_KEY = "Parent_Id"
RICH_TEXT_LIST_CHARS = 500
JOB_CREDITS = 50  # one Bulk Read job (unconfirmed, 5.1)
JOB_MIN_CALLS = 3  # create, a poll, a download
JOB_ROWS = 200_000


class Route(enum.Enum):
    """How the values of one subform or linking module (or rich text) reach their parents."""

    SUBFORM_LIST = "subform_list"
    LINKING_LIST = "linking_list"
    EXPORT = "bulk_read_export"
    RICH_TEXT_API = "rich_text_api"
    SINGLE_RECORD_READS = "single_record_reads"
    NOT_COMPLETED = "not_completed"


def is_rich_text(field: t.Mapping[str, t.Any]) -> bool:
    """``textarea`` with ``textarea.type = "rich_text"``."""
    textarea = field.get("textarea")
    return (
        field.get("data_type") == "textarea"
        and isinstance(textarea, dict)
        and textarea.get("type") == "rich_text"
    )


def may_be_cut(value: t.Any) -> bool:
    """True when a listed or exported rich-text value may have been cut at 500 characters.

    Zoho may count code points or UTF-16 units (undocumented); the UTF-16 length is never
    smaller, so testing it catches a cut value under either reading.
    """
    return isinstance(value, str) and len(value.encode("utf-16-le")) // 2 >= RICH_TEXT_LIST_CHARS


def is_list_omitted(field: t.Mapping[str, t.Any]) -> bool:
    """True for the fields whose values a list leaves out (never worth asking a list for)."""
    return field.get("data_type") in LIST_OMITTED_TYPES or field.get("api_name") in LINE_ITEM_FIELDS


@dataclass(frozen=True)
class Source:
    """Where the values of one list-omitted field live besides the single-record read."""

    field: str
    kind: str  # "subform" | "linking"
    module: str | None  # None: the field metadata names no module (single-record reads only)
    lookup: str = ""  # linking: the other side's lookup, the key inside the parent's element
    connected: str = ""  # linking: the lookup to the parent inside a link row
    # A digest of the parent field's metadata: a layout edit changes it (.refusals).
    signature: str = dataclasses.field(default="", compare=False)

    @classmethod
    def of(cls, meta: t.Mapping[str, t.Any]) -> Source:
        """The source a field's metadata names (2.2, 3.3)."""
        name = str(meta["api_name"])
        data_type = meta.get("data_type")
        signature = metadata_digest(meta)
        if data_type in {"multiselectlookup", "multiuserlookup"}:
            link = meta.get(str(data_type))
            link = link if isinstance(link, dict) else {}
            linking = link.get("linking_module")
            module = linking.get("api_name") if isinstance(linking, dict) else None
            lookup, connected = link.get("lookup_apiname"), link.get("connectedfield_apiname")
            if not (module and lookup and connected):
                return cls(name, "linking", None, signature=signature)
            return cls(name, "linking", str(module), str(lookup), str(connected), signature)
        associated = meta.get("associated_module")
        module = associated.get("module") if isinstance(associated, dict) else None
        return cls(name, "subform", str(module) if module else None, signature=signature)

    @property
    def parent_key(self) -> str:
        """The lookup of a row that names its parent record."""
        return SUBFORM_PARENT_KEY if self.kind == "subform" else self.connected

    @property
    def list_route(self) -> Route:
        """The list route of this source."""
        return Route.SUBFORM_LIST if self.kind == "subform" else Route.LINKING_LIST

    def parent_of(self, row: t.Mapping[str, t.Any]) -> str | None:
        """The parent record id a listed or exported row belongs to."""
        value = row.get(self.parent_key)
        if isinstance(value, dict):
            value = value.get("id")
        return str(value) if value not in {None, ""} else None

    def element(self, row: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
        """The row as the parent's single-record read holds it (2.3).

        A subform row is the subform module's record (its ``$`` UI flags aside); a link is
        ``{<lookup>: ..., "id": <link id>}``.
        """
        if self.kind == "subform":
            return {k: v for k, v in row.items() if not k.startswith("$")}
        return {self.lookup: row.get(self.lookup), "id": row.get("id")}


@dataclass(frozen=True)
class CompletionFields:
    """The selected fields of a module that a list cannot be trusted with."""

    sources: tuple[Source, ...] = ()
    rich_text: tuple[str, ...] = ()

    @classmethod
    def for_fields(cls, fields: list[dict[str, t.Any]], selected: set[str]) -> CompletionFields:
        """The plan for the selected fields of a module's metadata."""
        chosen = [f for f in fields if f.get("api_name") in selected]
        return cls(
            tuple(Source.of(f) for f in chosen if is_list_omitted(f)),
            tuple(str(f["api_name"]) for f in chosen if is_rich_text(f)),
        )

    @property
    def omitted(self) -> tuple[str, ...]:
        """The list-omitted fields."""
        return tuple(s.field for s in self.sources)

    @property
    def fields(self) -> tuple[str, ...]:
        """Every field a single-record read completes."""
        return self.omitted + self.rich_text

    def __bool__(self) -> bool:
        """False when a list returns every selected value whole."""
        return bool(self.fields)

    def rich_cut(self, record: t.Mapping[str, t.Any]) -> bool:
        """True when a listed or exported record's rich text may have been cut."""
        return any(may_be_cut(record.get(name)) for name in self.rich_text)


@dataclass(frozen=True, order=True)
class Cost:
    """Credits first (the daily quota), then calls."""

    credits: int
    calls: int


def list_cost(rows: int | None, per_page: int = MAX_PER_PAGE) -> Cost:
    """Listing ``rows`` rows (one call at least; unknown: one page)."""
    calls = max(1, math.ceil((rows or 0) / per_page))
    return Cost(calls, calls)


def export_cost(rows: int | None) -> Cost:
    """Bulk Read jobs for ``rows`` rows: 50 credits and 3 calls at least a job."""
    jobs = max(1, math.ceil((rows or 0) / JOB_ROWS))
    return Cost(jobs * (JOB_CREDITS + 2), jobs * JOB_MIN_CALLS)


def cheaper_to_export(source: Source, rows: int | None, fields: list[dict[str, t.Any]]) -> bool:
    """True when a Bulk Read job of the source's module costs fewer credits than listing it.

    A job must also deliver every value: a subform module with a field Bulk Read cannot export
    (``Quoted_Items.Line_Tax``) is listed instead.
    """
    if source.kind == "subform" and not all(exportable(f) for f in fields):
        return False
    return export_cost(rows) < list_cost(rows)


def metadata_digest(meta: t.Mapping[str, t.Any]) -> str:
    """A short digest of a field's metadata (equal metadata, equal digests)."""
    encoded = json.dumps(meta, sort_keys=True, default=str).encode()
    return hashlib.blake2b(encoded, digest_size=8).hexdigest()


def listing_budget(changed: int, rich_reads: int, overhead: int) -> int:
    """List calls worth trying for modules of unknown size: what one read a parent would cost.

    Re-listing costs its calls, its ``overhead`` (probes) and the rich-text reads; past
    ``changed - rich_reads - overhead`` calls it can no longer beat one read a changed parent, so
    a listing of unknown size stops there.
    """
    return changed - rich_reads - overhead


def relist_is_cheaper(changed: int, rich_reads: int, listing: Cost) -> bool:
    """Whether re-listing every source beats reading each changed parent once.

    Incremental runs choose: ``listing`` plus the rich-text reads against one read a parent.
    """
    return listing.credits + rich_reads < changed


def total(costs: t.Iterable[Cost]) -> Cost:
    """The sum of costs."""
    spent = calls = 0
    for cost in costs:
        spent += cost.credits
        calls += cost.calls
    return Cost(spent, calls)
