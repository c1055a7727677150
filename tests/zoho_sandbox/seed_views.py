"""The subform and linking modules of seeded modules, and the field metadata that names them.

Each subform field names its subform module in ``associated_module`` (2.2), each multi-select
lookup its linking module, the other side's lookup and the lookup to the parent in
``multiselectlookup``, each multi-user lookup the same in ``multiuserlookup`` (3.3). Names follow
Zoho's: ``Lead_Items`` for a Leads subform, ``Quoted_Items`` for the line items of Quotes (and
``Purchase_Items``, not the field's ``Purchased_Items``, for Purchase Orders), ``Leads_X_Contacts``
and ``Leads_X_Users`` for the lookups' linking modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .store import FieldMeta
from .views import View

if TYPE_CHECKING:
    from .store import CrmStore

SUBFORM_MODULES = {"Leads": "Lead_Items", "Deals": "Deal_Items", "Price_Books": "Price_Book_Items"}
LINE_ITEM_MODULES = {
    "Quoted_Items": "Quoted_Items",
    "Invoiced_Items": "Invoiced_Items",
    "Ordered_Items": "Ordered_Items",
    "Purchased_Items": "Purchase_Items",
}


def _lookup(name: str, module: str) -> FieldMeta:
    return FieldMeta(
        name, "lookup", "jsonobject", extra={"lookup": {"module": {"api_name": module, "id": "1"}}}
    )


def _stamps(*, modified: bool) -> list[FieldMeta]:
    stamps = [FieldMeta("Created_Time", "datetime", "string")]
    if modified:
        stamps.append(FieldMeta("Modified_Time", "datetime", "string"))
    return stamps


ROW_FIELDS = {
    "subform": [
        FieldMeta("Item", "text", "string", length=255),
        FieldMeta("Qty", "integer", "integer", length=9),
        FieldMeta("Unit_Price", "currency", "double", length=16, decimal_place=2),
    ],
    "line_items": [
        _lookup("Product_Name", "Products"),
        FieldMeta("Quantity", "double", "double", length=16, decimal_place=2),
        FieldMeta("List_Price", "currency", "double", length=16, decimal_place=2),
        FieldMeta("Discount", "currency", "double", length=16, decimal_place=2),
        FieldMeta("Total", "currency", "double", length=16, decimal_place=2),
        FieldMeta("Net_Total", "currency", "double", length=16, decimal_place=2),
        FieldMeta("Line_Tax", "linetax", "jsonarray"),
        FieldMeta("Description", "textarea", "string", length=2000),
        FieldMeta("Sequence_Number", "integer", "integer", length=9),
    ],
}
ROW_FIELDS["subform_pair"] = ROW_FIELDS["subform"]


def _free(store: CrmStore, name: str, fallback: str) -> str:
    return fallback if name in store.modules else name


def register_views(
    store: CrmStore, parent: str, metas: list[FieldMeta], type_keys: list[str]
) -> None:
    """Add each subform or linking module of ``parent`` and name it in the field's metadata."""
    for meta, key in zip(metas, type_keys, strict=True):
        name = meta.api_name
        if key in ROW_FIELDS:
            default = LINE_ITEM_MODULES.get(name) or SUBFORM_MODULES.get(parent, f"{parent}_Items")
            module = _free(store, default, f"{parent}_{name}")
            meta.extra["associated_module"] = {"module": module, "id": str(len(store.modules))}
            fields = [
                *(FieldMeta(**vars(f)) for f in ROW_FIELDS[key]),
                _lookup("Parent_Id", parent),
                *_stamps(modified=True),
            ]
            store.add_view(View(module, parent, name, "subform"), fields)
        elif meta.data_type in {"multiselectlookup", "multiuserlookup"}:
            users = meta.data_type == "multiuserlookup"
            other, lookup = ("Users", "Users_Field") if users else ("Contacts", "Contacts_Link")
            connected = f"{parent}_Field" if users else f"{parent}_Link"
            module = _free(store, f"{parent}_X_{other}", f"{parent}_X_{name}")
            meta.extra[meta.data_type] = {
                "display_label": name.replace("_", " "),
                "linking_module": {"api_name": module, "id": str(len(store.modules))},
                "lookup_apiname": lookup,
                "connectedfield_apiname": connected,
                "connected_module": {"api_name": other, "id": "1"},
                "api_name": name,
            }
            lookup_meta = (
                FieldMeta(lookup, "userlookup", "jsonobject") if users else _lookup(lookup, other)
            )
            fields = [
                _lookup(connected, parent),
                lookup_meta,
                *_stamps(modified=False),
                FieldMeta("Created_By", "userlookup", "jsonobject"),
            ]
            view = View(module, parent, name, "linking", lookup, connected, multiuser=users)
            store.add_view(view, fields)
