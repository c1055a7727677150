"""Typed schemas of Books/Inventory items, contacts and price lists (zoho-api.md 6.5-6.7).

Money is a decimal (``x-sql-datatype: decimal``), stock a plain number; ids are strings; times are
RFC 3339 (Zoho's ``+0530`` is emitted as ``+05:30``). These are the fields every organisation has;
custom fields (``cf_*``) and any other key a row carries are added per run by
:mod:`tap_zoho.shaping`.
"""

from __future__ import annotations

from typing import Any


def _t(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


MONEY = _t(
    "number",
    **{"x-sql-datatype": "decimal", "x-sql-datatype-properties": {"precision": 20, "scale": 6}},
)
STRING = _t("string")
NUMBER = _t("number")
BOOLEAN = _t("boolean")
DATETIME = _t("string", format="date-time")
ANY_ARRAY = _t("array", items={"type": ["object", "null"], "additionalProperties": True})


def _schema(key: str, strings: list[str], **typed: dict[str, Any]) -> dict[str, Any]:
    properties: dict[str, Any] = {
        key: {"type": ["string"]},
        "organization_id": {"type": ["string"]},
    }
    properties.update(dict.fromkeys(strings, STRING))
    properties.update(typed)
    properties["created_time"] = DATETIME
    properties["last_modified_time"] = DATETIME
    return {"type": "object", "properties": properties, "required": [key, "organization_id"]}


ITEM_SCHEMA = _schema(
    "item_id",
    [
        "name",
        "item_name",
        "sku",
        "upc",
        "ean",
        "isbn",
        "part_number",
        "status",
        "source",
        "item_type",
        "product_type",
        "unit",
        "description",
        "purchase_description",
        "tax_id",
        "tax_name",
        "tax_type",
        "hsn_or_sac",
        "account_id",
        "account_name",
        "purchase_account_id",
        "purchase_account_name",
        "inventory_account_id",
        "image_document_id",
        "image_name",
        "image_type",
        "image_url",
        "zcrm_product_id",
        "brand",
        "manufacturer",
        "vendor_id",
        "vendor_name",
        "group_id",
        "group_name",
        "category_id",
        "category_name",
        "length",
        "width",
        "height",
        "weight",
        "weight_unit",
        "dimension_unit",
    ],
    rate=MONEY,
    purchase_rate=MONEY,
    pricebook_rate=MONEY,
    tax_percentage=NUMBER,
    stock_on_hand=NUMBER,
    available_stock=NUMBER,
    actual_available_stock=NUMBER,
    committed_stock=NUMBER,
    available_for_sale_stock=NUMBER,
    reorder_level=NUMBER,
    is_taxable=BOOLEAN,
    has_attachment=BOOLEAN,
    is_returnable=BOOLEAN,
    is_combo_product=BOOLEAN,
    is_linked_with_zohocrm=BOOLEAN,
    show_in_storefront=BOOLEAN,
    custom_fields=ANY_ARRAY,
)

CONTACT_SCHEMA = _schema(
    "contact_id",
    [
        "contact_name",
        "company_name",
        "contact_type",
        "customer_sub_type",
        "status",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "website",
        "currency_id",
        "currency_code",
        "payment_terms_label",
        "source",
        "zcrm_contact_id",
        "zcrm_account_id",
    ],
    payment_terms=_t("integer"),
    outstanding_receivable_amount=MONEY,
    outstanding_payable_amount=MONEY,
    unused_credits_receivable_amount=MONEY,
    unused_credits_payable_amount=MONEY,
    is_linked_with_zohocrm=BOOLEAN,
    has_attachment=BOOLEAN,
    custom_fields=ANY_ARRAY,
)

PRICEBOOK_SCHEMA = {
    "type": "object",
    "properties": {
        "pricebook_id": {"type": ["string"]},
        "organization_id": {"type": ["string"]},
        **dict.fromkeys(
            [
                "name",
                "description",
                "currency_id",
                "currency_code",
                "pricebook_type",
                "pricing_scheme",
                "rounding_type",
                "sales_or_purchase_type",
                "status",
            ],
            STRING,
        ),
        "decimal_place": _t("integer"),
        "is_default": BOOLEAN,
        "is_increase": BOOLEAN,
        "percentage": NUMBER,
        "pricebook_items": _t(
            "array",
            items={
                "type": ["object", "null"],
                "properties": {
                    "item_id": {"type": ["string", "null"]},
                    "pricebook_item_id": {"type": ["string", "null"]},
                    "pricebook_rate": MONEY,
                },
                "additionalProperties": True,
            },
        ),
    },
    "required": ["pricebook_id", "organization_id"],
}
