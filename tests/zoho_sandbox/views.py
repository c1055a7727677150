"""Subform and linking modules: records of their own whose rows a parent record's field holds.

Zoho keeps a subform's rows in a subform module and the links of a multi-select or multi-user
lookup in a linking module (``shared/zoho-api.md`` 3.3). Here the parent record is the one source:
its field holds the rows exactly as a single-record read shows them, and the store rebuilds the
view module's records from it on every write of the parent. So the Subform API, a linking module's
Get Records and Bulk Read serve exactly the parents' rows and links, through every edit.

A subform row is ``{"id", <fields>..., "Parent_Id": {"name", "id"}, "Created_Time",
"Modified_Time"}`` in the parent and in the subform module alike (2.3). A link is
``{<lookup>: {...}, "id": <link id>}`` in the parent and ``{"id", <connected>: {parent},
<lookup>: {...}, "Created_Time", "Created_By"}`` in the linking module (no ``Modified_Time``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .store import CrmStore

ROW_STAMPS = ("Parent_Id", "Created_Time", "Modified_Time")
SEQUENCE = "Sequence_Number"  # a line item's position (line-item subforms carry it)
ROW_ORDERS = ("sequence", "id")  # the readings of a single-record read's row order
LINK_CREATED_BY = {"name": "Ana Silva", "id": "5843104000000231001"}
NAME_FIELDS = (
    "Full_Name",
    "Last_Name",
    "Deal_Name",
    "Subject",
    "Price_Book_Name",
    "Account_Name",
    "Name",
)


@dataclass(frozen=True)
class View:
    """A subform module or a linking module fed by one field of a parent module."""

    name: str
    parent: str
    field: str
    kind: str  # "subform" | "linking"
    lookup: str = ""  # linking: the other side's lookup, the key inside the parent's element
    connected: str = ""  # linking: the lookup to the parent inside a link row
    multiuser: bool = False  # linking module of a multi-user lookup (listing unconfirmed)


def parent_name(record: dict[str, Any]) -> str:
    """The display name a lookup to this record carries."""
    for name in NAME_FIELDS:
        value = record.get(name)
        if isinstance(value, str) and value:
            return value
    return str(record.get("id") or "")


def normalise(
    store: CrmStore, view: View, parent_id: str, record: dict[str, Any], *, old: Any, epoch: int
) -> list[dict[str, Any]]:
    """The parent's value of ``view.field`` as Zoho would hold it after this write.

    Rows or links that keep an id the parent held keep their identity (and, unchanged, their
    times); anything else is new: a fresh id, stamped ``epoch``. ``None`` becomes ``[]``.
    """
    given = record.get(view.field)
    previous = {
        str(item.get("id")): item for item in old or [] if isinstance(item, dict) and item.get("id")
    }
    name = parent_name(record)
    if view.kind == "subform":
        rows = [
            _row(store, item, previous, (name, parent_id), epoch)
            for item in given or []
            if isinstance(item, dict)
        ]
        return ordered(rows, store.row_order)
    links = []
    for item in given or []:
        if not isinstance(item, dict):
            continue
        known = previous.get(str(item.get("id"))) if item.get("id") else None
        link_id = str(known["id"]) if known else store.new_id()
        store.link_created.setdefault(link_id, epoch)
        links.append({view.lookup: item.get(view.lookup), "id": link_id})
    return links


def ordered(rows: list[dict[str, Any]], reading: str) -> list[dict[str, Any]]:
    """A subform's rows in the order a single-record read holds them.

    The order is undocumented (contract 3.2-3.3 are silent): the stricter reading (``sequence``)
    holds rows that carry ``Sequence_Number`` in that order, the other (``id``) in creation
    order; rows without it are in creation (id) order under both.
    """
    by_id = sorted(rows, key=lambda row: (len(str(row["id"])), str(row["id"])))
    if reading != "sequence" or not any(SEQUENCE in row for row in rows):
        return by_id
    return sorted(by_id, key=lambda row: (row.get(SEQUENCE) is None, row.get(SEQUENCE) or 0))


def _row(
    store: CrmStore,
    item: dict[str, Any],
    previous: dict[str, dict[str, Any]],
    parent: tuple[str, str],
    epoch: int,
) -> dict[str, Any]:
    name, parent_id = parent
    content = {k: v for k, v in item.items() if k not in ROW_STAMPS and k != "id"}
    known = previous.get(str(item.get("id"))) if item.get("id") else None
    if known is None:
        row_id, created, modified = store.new_id(), store.dt(epoch), store.dt(epoch)
    else:
        row_id, created = str(known["id"]), known["Created_Time"]
        before = {k: v for k, v in known.items() if k not in ROW_STAMPS and k != "id"}
        modified = known["Modified_Time"] if before == content else store.dt(epoch)
    return {
        "id": row_id,
        **content,
        "Parent_Id": {"name": name, "id": parent_id},
        "Created_Time": created,
        "Modified_Time": modified,
    }


def view_records(
    store: CrmStore, view: View, parent_id: str, record: dict[str, Any]
) -> list[tuple[dict[str, Any], int]]:
    """The view module's records for one parent, with the epoch each sorts by."""
    out: list[tuple[dict[str, Any], int]] = []
    for item in record.get(view.field) or []:
        if view.kind == "subform":
            out.append((dict(item), _epoch(item["Modified_Time"])))
            continue
        created = store.link_created.get(str(item["id"]), store.clock.now())
        link = {
            "id": item["id"],
            view.connected: {"name": parent_name(record), "id": parent_id},
            view.lookup: item.get(view.lookup),
            "Created_Time": store.dt(created),
            "Created_By": dict(LINK_CREATED_BY),
        }
        out.append((link, created))
    return out


def _epoch(text: str) -> int:
    from .store import epoch_of

    return epoch_of(text)
