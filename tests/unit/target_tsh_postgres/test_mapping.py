"""The pure mapping of Zoho records to ERP rows (no database): routing, rows, skips, times."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from target_tsh_postgres.errors import RecordRefusedError
from target_tsh_postgres.mapping import (
    BASE_PRICE_KEY,
    CUSTOMERS,
    PRODUCT_PRICES,
    PRODUCTS,
    REPAIRED,
    BadRecord,
    SkipRow,
    base_price_row,
    customer_row,
    price_rows,
    product_row,
    table_for,
)
from target_tsh_postgres.storable import preview

ITEM = {
    "item_id": "9",
    "organization_id": "org",
    "name": "Oil filter",
    "sku": "OF-1",
    "rate": 85.5,
    "purchase_rate": Decimal("40.25"),
    "stock_on_hand": 3,
    "actual_available_stock": 2,
    "status": "active",
    "image_url": "",
    "category_name": "Filters",
    "last_modified_time": "2024-01-05T10:20:30+0530",
    "_sdc_extracted_at": "2024-01-05T05:00:00+00:00",
    "_sdc_received_at": "2024-01-05T05:00:01+00:00",
}


@pytest.mark.parametrize(
    ("stream", "table"),
    [
        ("books_items", PRODUCTS),
        ("inventory_items", PRODUCTS),
        ("items", PRODUCTS),
        ("books_pricebooks", PRODUCT_PRICES),
        ("pricebooks", PRODUCT_PRICES),
        ("books_contacts", CUSTOMERS),
        ("contacts", CUSTOMERS),
        ("leads", None),
        ("items_archive", None),
    ],
)
def test_streams_are_routed_by_their_name(stream, table):
    assert table_for(stream) is table


def test_an_item_becomes_a_product_row_with_its_source_record_minus_singer_metadata():
    row = product_row(ITEM, with_stock_only=False)

    assert set(row) == set(PRODUCTS.column_names)
    assert row["zoho_item_id"] == "9"
    assert (row["price"], row["cost"], row["stock_on_hand"]) == (85.5, Decimal("40.25"), 3)
    assert row["available_stock"] == 2  # actual_available_stock when available_stock is absent
    assert row["is_active"] is True
    assert row["image_url"] is None  # "" is no image
    assert row["category"] == "Filters"
    assert row["source_modified_at"] == "2024-01-05T10:20:30+0530"  # as sent: PostgreSQL reads it
    assert row["source_read_at"] == "2024-01-05T05:00:00+00:00"
    source = json.loads(row["zoho_data"])
    assert source["purchase_rate"] == 40.25
    assert not [key for key in source if key.startswith("_sdc_")]


def test_an_inactive_item_keeps_its_row_and_the_item_name_stands_in_for_the_name():
    row = product_row(
        {"item_id": "1", "item_name": "Spare", "status": "inactive", "available_stock": 0},
        with_stock_only=False,
    )

    assert (row["name"], row["is_active"], row["available_stock"]) == ("Spare", False, 0)


@pytest.mark.parametrize("stock", [0, -1, None, "5", True])
def test_with_stock_only_skips_items_without_a_positive_stock_number(stock):
    with pytest.raises(SkipRow, match="no stock"):
        product_row({**ITEM, "stock_on_hand": stock}, with_stock_only=True)


def test_with_stock_only_keeps_items_in_stock():
    assert product_row({**ITEM, "stock_on_hand": 0.5}, with_stock_only=True)["stock_on_hand"] == 0.5


@pytest.mark.parametrize("item_id", [None, ""])
def test_an_item_without_an_id_is_a_bad_record(item_id):
    with pytest.raises(BadRecord, match="record without item_id"):
        product_row({**ITEM, "item_id": item_id}, with_stock_only=False)
    with pytest.raises(BadRecord, match="record without item_id"):
        base_price_row({**ITEM, "item_id": item_id})


@pytest.mark.parametrize("modified", ["yesterday", "2024-01-05", "2024-01-05 10:20:30", 20240105])
def test_an_unreadable_modified_time_is_a_bad_record(modified):
    with pytest.raises(BadRecord, match="unreadable last_modified_time"):
        product_row({**ITEM, "last_modified_time": modified}, with_stock_only=False)


def _utc(text: str) -> datetime:
    """A time as an instant, a time without an offset read as UTC."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("modified", "stored"),
    [
        ("2024-01-05T10:20:30", "2024-01-05T10:20:30+00:00"),
        ("2024-01-05T10:20:30.250", "2024-01-05T10:20:30.250+00:00"),
        ("2024-01-05T10:20:30+0530", "2024-01-05T10:20:30+0530"),
        ("2024-01-05T10:20:30-04:00", "2024-01-05T10:20:30-04:00"),
        ("2024-01-05T10:20:30Z", "2024-01-05T10:20:30Z"),
    ],
)
def test_a_time_without_offset_is_stored_as_utc_as_it_is_compared(modified, stored):
    row = product_row({**ITEM, "last_modified_time": modified}, with_stock_only=False)

    assert row["source_modified_at"] == stored
    assert _utc(stored) == _utc(modified)


def test_a_lowercase_z_is_an_offset_too():
    row = product_row({**ITEM, "last_modified_time": "2024-01-05T10:20:30z"}, with_stock_only=False)

    assert row["source_modified_at"] == "2024-01-05T10:20:30z"  # PostgreSQL reads it as UTC


def test_a_missing_modified_time_is_no_time():
    row = customer_row({"contact_id": "c1", "last_modified_time": ""})

    assert row["source_modified_at"] is None


def test_an_item_also_gives_its_base_price_row():
    row = base_price_row(ITEM)

    assert row["zoho_pricebook_id"] == BASE_PRICE_KEY
    assert (row["zoho_item_id"], row["price"], row["currency_code"]) == ("9", 85.5, None)
    assert row["name"] == "Oil filter"  # names the product in the report; not a column
    assert set(row) - set(PRODUCT_PRICES.column_names) == {"name"}


def test_a_contact_becomes_a_customer_row_and_vendors_are_skipped():
    contact = {
        "contact_id": "c1",
        "contact_name": "Acme",
        "contact_type": "customer",
        "payment_terms": 30,
        "outstanding_receivable_amount": 12.5,
        "status": "inactive",
        "last_modified_time": "2024-01-05T10:20:30Z",
    }

    row = customer_row(contact)

    assert set(row) == set(CUSTOMERS.column_names)
    assert (row["name"], row["payment_terms"], row["outstanding_receivable"]) == ("Acme", 30, 12.5)
    assert row["is_active"] is False
    with pytest.raises(SkipRow, match="not a customer"):
        customer_row({**contact, "contact_type": "vendor"})
    with pytest.raises(BadRecord, match="record without contact_id"):
        customer_row({**contact, "contact_id": None})


def test_a_sales_price_list_gives_one_row_per_item_and_a_purchase_list_is_skipped():
    book = {
        "pricebook_id": "p1",
        "name": "Wholesale",
        "currency_code": "USD",
        "organization_id": "org",
        "pricebook_items": [
            {"item_id": "1", "pricebook_rate": 9.5},
            {"item_id": "2", "pricebook_rate": 10},
        ],
    }

    rows = price_rows(book)

    assert [(r["zoho_item_id"], r["zoho_pricebook_id"], r["price"]) for r in rows] == [
        ("1", "p1", 9.5),
        ("2", "p1", 10),
    ]
    assert all(set(r) == set(PRODUCT_PRICES.column_names) for r in rows)
    assert price_rows({**book, "pricebook_items": None}) == []
    with pytest.raises(SkipRow, match="purchase price list"):
        price_rows({**book, "sales_or_purchase_type": "purchases"})
    with pytest.raises(BadRecord, match="record without item_id"):
        price_rows({**book, "pricebook_items": [{"pricebook_rate": 1}]})


# Zoho list rows as the contract shows them (zoho-api.md 6.5-6.7), with what the tap adds
# (``organization_id``, items' legacy ``image_url``) and the SDK's metadata.
ORG = "748369814"
READ = "2024-02-26T14:00:00+00:00"
ZOHO_ITEM = {
    "item_id": "3850050000000077005",
    "name": "Oil filter OD76",
    "item_name": "Oil filter OD76",
    "sku": "OF-76",
    "status": "active",
    "item_type": "inventory",
    "unit": "pcs",
    "description": "Spin-on oil filter, 76 mm",
    "rate": 85.0,
    "purchase_rate": 60.0,
    "stock_on_hand": 12.0,
    "available_stock": 11.0,
    "actual_available_stock": 10.0,
    "brand": "Bosch",
    "category_name": "Filters",
    "image_document_id": "3850050000000077012",
    "last_modified_time": "2024-02-26T15:44:57+0200",
    "organization_id": ORG,
    "image_url": f"https://www.zohoapis.com/inventory/v1/items/3850050000000077005/image?organization_id={ORG}",
    "_sdc_extracted_at": READ,
    "_sdc_received_at": "2024-02-26T14:00:01+00:00",
}
ZOHO_CONTACT = {
    "contact_id": "460000000026049",
    "contact_name": "Bowline Traders Pte",
    "company_name": "Bowline Traders",
    "contact_type": "customer",
    "customer_sub_type": "business",
    "status": "active",
    "email": "mei@bowline.example",
    "phone": "+65 6123 4567",
    "mobile": "+65 9123 4567",
    "currency_code": "SGD",
    "payment_terms": 30,
    "payment_terms_label": "Net 30",
    "outstanding_receivable_amount": 250.0,
    "last_modified_time": "2024-01-07T18:24:51+0800",
    "organization_id": ORG,
    "_sdc_extracted_at": READ,
}


def _without_singer_metadata(record: dict[str, object]) -> dict[str, object]:
    return {key: value for key, value in record.items() if not key.startswith("_sdc_")}


def test_every_products_column_comes_from_its_zoho_item_field():
    row = product_row(ZOHO_ITEM, with_stock_only=False)

    assert json.loads(row.pop("zoho_data")) == _without_singer_metadata(ZOHO_ITEM)
    assert row == {
        "zoho_item_id": "3850050000000077005",
        "organization_id": ORG,
        "sku": "OF-76",
        "name": "Oil filter OD76",
        "description": "Spin-on oil filter, 76 mm",
        "unit": "pcs",
        "price": 85.0,  # rate: the selling price
        "cost": 60.0,  # purchase_rate
        "stock_on_hand": 12.0,
        "available_stock": 11.0,  # available_stock wins over actual_available_stock
        "is_active": True,
        "image_url": ZOHO_ITEM["image_url"],
        "brand": "Bosch",
        "category": "Filters",
        "source_modified_at": "2024-02-26T15:44:57+0200",
        "source_read_at": READ,
    }


def test_a_sparse_item_gives_nulls_and_counts_as_active_without_a_status():
    """A record without ``status`` (a stream map may drop it) is not taken for an inactive one."""
    row = product_row({"item_id": "1", "brand": "", "image_url": ""}, with_stock_only=False)

    assert json.loads(row.pop("zoho_data")) == {"item_id": "1", "brand": "", "image_url": ""}
    assert row == {
        "zoho_item_id": "1",
        "organization_id": None,
        "sku": None,
        "name": None,
        "description": None,
        "unit": None,
        "price": None,
        "cost": None,
        "stock_on_hand": None,
        "available_stock": None,
        "is_active": True,
        "image_url": None,  # "" is no image, no brand
        "brand": None,
        "category": None,
        "source_modified_at": None,
        "source_read_at": None,
    }


def test_an_items_base_price_row_is_its_rate_under_the_base_key():
    assert base_price_row(ZOHO_ITEM) == {
        "zoho_item_id": "3850050000000077005",
        "zoho_pricebook_id": "base",
        "organization_id": ORG,
        "pricebook_name": "Base price (item rate)",
        "currency_code": None,  # the organisation's base currency
        "price": 85.0,
        "name": "Oil filter OD76",
    }
    assert base_price_row({"item_id": "1", "item_name": "Spare"})["name"] == "Spare"


def test_every_customers_column_comes_from_its_zoho_contact_field():
    row = customer_row(ZOHO_CONTACT)

    assert json.loads(row.pop("zoho_data")) == _without_singer_metadata(ZOHO_CONTACT)
    assert row == {
        "zoho_contact_id": "460000000026049",
        "organization_id": ORG,
        "name": "Bowline Traders Pte",  # contact_name
        "company_name": "Bowline Traders",
        "email": "mei@bowline.example",
        "phone": "+65 6123 4567",
        "mobile": "+65 9123 4567",
        "currency_code": "SGD",
        "payment_terms": 30,  # days, not the label
        "outstanding_receivable": 250.0,
        "is_active": True,
        "source_modified_at": "2024-01-07T18:24:51+0800",
        "source_read_at": READ,
    }


@pytest.mark.parametrize(
    ("status", "active"), [("active", True), ("inactive", False), (None, True)]
)
def test_a_customer_is_active_unless_zoho_says_inactive(status, active):
    contact = {"contact_id": "c1"} if status is None else {"contact_id": "c1", "status": status}

    assert customer_row(contact)["is_active"] is active


def test_every_product_prices_column_comes_from_the_price_list_and_its_item_entry():
    book = {
        "pricebook_id": "460000000038090",
        "name": "Wholesale",
        "currency_code": "USD",
        "sales_or_purchase_type": "sales",
        "pricebook_type": "per_item",
        "organization_id": ORG,
        "pricebook_items": [
            {"item_id": "3850050000000077005", "pricebook_rate": 80.0, "pricebook_item_id": "7"},
        ],
    }

    assert price_rows(book) == [
        {
            "zoho_item_id": "3850050000000077005",
            "zoho_pricebook_id": "460000000038090",
            "organization_id": ORG,
            "pricebook_name": "Wholesale",
            "currency_code": "USD",
            "price": 80.0,
        }
    ]


def test_skips_say_why():
    with pytest.raises(SkipRow, match=r"^no stock$"):
        product_row({**ZOHO_ITEM, "stock_on_hand": 0}, with_stock_only=True)
    with pytest.raises(SkipRow, match=r"^not a customer$"):
        customer_row({**ZOHO_CONTACT, "contact_type": "vendor"})
    with pytest.raises(SkipRow, match=r"^purchase price list$"):
        price_rows({"pricebook_id": "p", "sales_or_purchase_type": "purchases"})


def test_an_unreadable_time_is_named_in_the_error():
    with pytest.raises(BadRecord, match=r"^unreadable last_modified_time '2024-01-05Tnoon'$"):
        product_row({**ITEM, "last_modified_time": "2024-01-05Tnoon"}, with_stock_only=False)


@pytest.mark.parametrize(
    ("names", "name"),
    [
        ({"name": "Oil filter"}, "Oil filter"),
        ({"item_name": "Oil filter"}, "Oil filter"),
        ({"name": "Oil filter", "item_name": "Oil filter OD76"}, "Oil filter"),
    ],
)
def test_a_products_name_is_zohos_name_else_its_item_name(names, name):
    record = {"item_id": "1", **names}

    assert product_row(record, with_stock_only=False)["name"] == name
    assert base_price_row(record)["name"] == name


BOOK = {
    "pricebook_id": "p1",
    "name": "Wholesale",
    "pricebook_items": [
        {"item_id": "9", "pricebook_rate": 80},
        {"item_id": "10", "pricebook_rate": 5},
    ],
}
CONTACT = {"contact_id": "c1", "contact_name": "Acme", "contact_type": "customer"}


def test_values_postgresql_cannot_store_are_cleaned_and_each_row_names_their_fields():
    product = product_row(
        {**ITEM, "name": "Oil\x00 filter", "description": "half \ud83d"}, with_stock_only=False
    )
    customer = customer_row({**CONTACT, "contact_name": "Ac\x00me"})
    first, second = price_rows({**BOOK, "name": "Whole\x00sale"})

    assert (product["name"], product[REPAIRED]) == ("Oil filter", ("name", "description"))
    assert json.loads(product["zoho_data"])["description"] == "half "
    assert base_price_row({**ITEM, "name": "Oil\x00 filter"})["name"] == "Oil filter"
    assert (customer["name"], customer[REPAIRED]) == ("Acme", ("contact_name",))
    assert (first["pricebook_name"], first[REPAIRED]) == ("Wholesale", ("name",))
    assert REPAIRED not in second  # the record's repairs are reported once, with its first row
    assert REPAIRED not in product_row(ITEM, with_stock_only=False)


@pytest.mark.parametrize(
    ("rows", "record", "field"),
    [
        (lambda r: product_row(r, with_stock_only=False), {**ITEM, "item_id": "9\x00"}, "item_id"),
        (customer_row, {**CONTACT, "contact_id": "c\ud83d"}, "contact_id"),
        (price_rows, {**BOOK, "pricebook_id": "p\x001"}, "pricebook_id"),
    ],
    ids=["item", "contact", "price list"],
)
def test_an_id_postgresql_cannot_store_refuses_the_record_naming_its_field(rows, record, field):
    with pytest.raises(RecordRefusedError) as refused:
        rows(record)

    assert refused.value.field == field
    assert "NUL, lone surrogates" in refused.value.reason


def test_an_item_id_in_a_price_list_postgresql_cannot_store_refuses_the_list():
    entries = [{"item_id": "9", "pricebook_rate": 80}, {"item_id": "1\x000", "pricebook_rate": 5}]

    with pytest.raises(RecordRefusedError) as refused:
        price_rows({**BOOK, "pricebook_items": entries})

    assert (refused.value.field, refused.value.value) == ("pricebook_items.item_id", "'1\\x000'")
    assert refused.value.reason == (
        "an id holding characters PostgreSQL cannot store (NUL, lone surrogates)"
    )


def test_a_price_list_entry_with_another_value_to_clean_keeps_its_rows():
    entries = [{"item_id": "9", "pricebook_rate": "8\x000", "note": "n\x00"}]

    (row,) = price_rows({**BOOK, "pricebook_items": entries})

    assert (row["zoho_item_id"], row["price"], row[REPAIRED]) == ("9", "80", ("pricebook_items",))


@pytest.mark.parametrize("entries", ["oops", [{"item_id": "9"}, "oops"]], ids=["text", "mixed"])
def test_price_list_items_that_are_not_a_list_of_items_are_a_bad_record(entries):
    with pytest.raises(BadRecord) as bad:
        price_rows({**BOOK, "pricebook_items": entries})

    assert str(bad.value) == f"pricebook_items is not a list of items: {preview(entries)}"
