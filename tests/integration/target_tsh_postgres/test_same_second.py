"""Books races end in the ERP at Zoho's newest values (issue 9, points 1 and 2).

The tap's output for the scenarios of ``tests/support/keyset_scenarios.py``, one target-tsh-postgres run
per tap run: a mass update of items and contacts re-edited while read, and items and contacts
edited twice within one second with a read in between. The second version carries the same
``source_modified_at`` as the first; the guard's tie-breaker (the later read, with other content)
lets it replace the first, and nothing older can come back.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.erp import (
    ITEM_SCHEMA,
    query,
    read_of_item_1,
    run_target,
)
from tests.support.keyset_scenarios import books_mass_update, books_same_second
from tests.zoho_sandbox import BOOKS_ORG


def _load_and_compare(scenario, erp_db, tmp_path) -> None:
    org = scenario.sandbox.finance.orgs[BOOKS_ORG]
    for n, messages in enumerate(scenario.messages()):
        (tmp_path / str(n)).mkdir()
        _, report, error = run_target(erp_db, messages, tmp_path / str(n))
        assert error is None, error
        assert report["failed"] == 0, report
    prices = dict(query(erp_db, "SELECT zoho_item_id, price FROM products"))
    assert prices == {iid: Decimal(str(item["rate"])) for iid, item in org.items.items()}
    base = dict(
        query(
            erp_db,
            "SELECT zoho_item_id, price FROM product_prices WHERE zoho_pricebook_id = 'base'",
        )
    )
    assert base == prices
    names = dict(query(erp_db, "SELECT zoho_contact_id, name FROM customers"))
    assert names == {
        cid: contact["contact_name"]
        for cid, contact in org.contacts.items()
        if contact["contact_type"] == "customer"
    }


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("lag", [None, 0])
def test_items_and_contacts_edited_twice_in_one_second_reach_the_erp_at_their_second_value(
    erp_db, tmp_path, seed, lag
):
    config = {} if lag is None else {"bookmark_lag_seconds": lag}
    scenario = books_same_second(seed, **config)
    try:
        _load_and_compare(scenario, erp_db, tmp_path)
    finally:
        scenario.sandbox.stop()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_mass_update_edited_again_while_read_reaches_the_erp_at_the_newest_values(
    erp_db, tmp_path, seed
):
    scenario = books_mass_update(seed)
    try:
        _load_and_compare(scenario, erp_db, tmp_path)
    finally:
        scenario.sandbox.stop()


def test_a_record_edited_twice_in_one_second_ends_at_its_later_read(erp_db, tmp_path):
    first = [ITEM_SCHEMA, read_of_item_1("first edit", "2024-03-01T10:00:00.400000+00:00")]
    second = [ITEM_SCHEMA, read_of_item_1("second edit", "2024-03-01T10:05:00.000000+00:00")]

    run_target(erp_db, first, tmp_path)
    run_target(erp_db, second, tmp_path)
    assert query(erp_db, "SELECT name FROM products") == [("second edit",)]

    run_target(erp_db, first, tmp_path)  # replaying the older file restores nothing
    run_target(erp_db, [ITEM_SCHEMA, read_of_item_1("unknown read time", None)], tmp_path)
    assert query(erp_db, "SELECT name FROM products") == [("second edit",)]
