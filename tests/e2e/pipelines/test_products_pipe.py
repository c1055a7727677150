"""The products job end to end: tap-zoho (Books + Inventory) piped into target-tsh-postgres."""

from __future__ import annotations

from tests.support.erp import BOOK_SCHEMA, query, rls_policy, run_target
from tests.support.pipes import pipe_into_erp as pipe
from tests.zoho_sandbox import BOOKS_ORG


def test_products_prices_and_customers_reach_the_erp_and_stay_in_step(sandbox, erp_db, tmp_path):
    tap_config = sandbox.tap_config(
        crm_enabled=False,
        books_organization_id=BOOKS_ORG,
        inventory_organization_id=BOOKS_ORG,
        items_active_only=True,
    )
    state, summary = pipe(tmp_path, tap_config, erp_db)
    org = sandbox.finance.orgs[BOOKS_ORG]
    active = {i for i, r in org.items.items() if r["status"] == "active"}
    products = {i: a for i, a in query(erp_db, "SELECT zoho_item_id, is_active FROM products")}
    assert {i for i, a in products.items() if a} == active
    customers = {c for (c,) in query(erp_db, "SELECT zoho_contact_id FROM customers")}
    assert customers == {c for c, r in org.contacts.items() if r["contact_type"] == "customer"}
    assert query(erp_db, "SELECT count(*) FROM product_prices WHERE zoho_pricebook_id <> 'base'")[
        0
    ][0] == sum(
        len(b["pricebook_items"])
        for b in org.pricebooks.values()
        if b["sales_or_purchase_type"] == "sales"  # purchase price lists are no selling prices
    )
    base = dict(
        query(
            erp_db,
            "SELECT zoho_item_id, price FROM product_prices WHERE zoho_pricebook_id = 'base'",
        )
    )
    assert base.keys() == products.keys()  # the products job alone fills every item's price
    assert all(float(base[i]) == org.items[i]["rate"] for i in base)
    custom = dict(query(erp_db, "SELECT zoho_item_id, zoho_data->>'cf_aro' FROM products"))
    assert all(custom[i] == (org.items[i]["cf_aro_unformatted"] or None) for i in custom)
    assert summary["failed"] == 0

    turned_off = sorted(active)[0]
    sandbox.finance.update_item(BOOKS_ORG, turned_off, {"status": "inactive"})
    repriced = sorted(active)[1]
    sandbox.finance.update_item(BOOKS_ORG, repriced, {"rate": 777.25})
    pipe(tmp_path, tap_config, erp_db, state)

    assert query(erp_db, "SELECT is_active FROM products WHERE zoho_item_id = %s", turned_off) == [
        (False,)
    ]
    assert (
        str(query(erp_db, "SELECT price FROM products WHERE zoho_item_id = %s", repriced)[0][0])
        == "777.250000"
    )
    assert query(
        erp_db,
        "SELECT price::text FROM product_prices WHERE zoho_item_id = %s AND zoho_pricebook_id = "
        "'base'",
        repriced,
    ) == [("777.250000",)]


def test_price_rows_refused_by_row_level_security_leave_the_products_synced(
    sandbox, erp_db, tmp_path
):
    """The legacy incident (seed 003): an RLS policy on product_prices refused five products'
    price rows during the products sync; the products must still land and the five be reported."""
    org = sandbox.finance.orgs[BOOKS_ORG]
    pricey = sorted(i for i, r in org.items.items() if r["status"] == "active")[:5]
    for item_id in pricey:
        sandbox.finance.update_item(BOOKS_ORG, item_id, {"rate": 450.0})
    run_target(erp_db, [BOOK_SCHEMA], tmp_path)  # creates the tables
    app = rls_policy(erp_db)  # WITH CHECK (price < 100)
    tap_config = sandbox.tap_config(
        crm_enabled=False, books_organization_id=BOOKS_ORG, items_active_only=True
    )

    state, summary = pipe(tmp_path, tap_config, {**app, "max_failed_rows": 5})

    products = {i for (i,) in query(erp_db, "SELECT zoho_item_id FROM products")}
    assert products == set(org.items)  # every product landed, the five included
    base = {
        i
        for (i,) in query(
            erp_db, "SELECT zoho_item_id FROM product_prices WHERE zoho_pricebook_id = 'base'"
        )
    }
    assert base == set(org.items) - set(pricey)
    assert summary["failed"] == 5
    assert summary["tables"]["products"]["failed"] == 0
    assert sorted(e["zoho_id"] for e in summary["errors"]) == sorted(f"{i}/base" for i in pricey)
    assert {e["name"] for e in summary["errors"]} == {org.items[i]["name"] for i in pricey}
    assert all("row-level security" in e["error"] for e in summary["errors"])
    assert state["bookmarks"]["books_items"]  # the run completed and committed its state
