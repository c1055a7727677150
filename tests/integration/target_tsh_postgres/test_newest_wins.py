""" "Newest wins" is one rule: rows of one batch end as rows of separate batches or runs would.

The rule lives in the upsert's ``WHERE`` alone; a batch holding a key several times is merged in
rounds under that same ``WHERE``. Each scenario is loaded once as one batch and once one row per
batch, and both must leave the same rows and count each row once.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.support.erp import BOOK_SCHEMA, ITEM_SCHEMA, item, new_database, pricebook, query
from tests.support.erp import run_target as run


def _item(iid, name, modified, read=None):
    message = item(iid, name=name, modified=modified)
    if read is not None:
        message["time_extracted"] = read
    return message


SCENARIOS = {
    "a newer time wins, wherever it comes": [
        _item("1", "new", "2024-01-05T10:00:00Z"),
        _item("1", "old", "2024-01-05T15:00:00+05:30"),  # 09:30 UTC: older, though later
    ],
    "offsets are compared as instants": [
        _item("2", "first", "2024-01-05T10:00:00+0000"),
        _item("2", "same instant", "2024-01-05T15:30:00+0530"),
    ],
    "a tie without read times changes nothing": [
        _item("3", "first", "2024-01-05T10:00:00Z"),
        _item("3", "tie, later row", "2024-01-05T10:00:00+00:00"),
    ],
    "a tie goes to the later read": [
        _item("4", "read later", "2024-01-05T10:00:00Z", read="2024-01-05T10:00:09Z"),
        _item("4", "read earlier", "2024-01-05T10:00:00Z", read="2024-01-05T10:00:02Z"),
        _item("4", "read last", "2024-01-05T10:00:00Z", read="2024-01-05T10:00:12Z"),
    ],
    "a stored row without a time takes any": [
        _item("5", "no time", None),
        _item("5", "timed", "2024-01-01T00:00:00Z"),
    ],
    "a row without a time never replaces a timed one": [
        _item("6", "timed", "2024-01-01T00:00:00Z"),
        _item("6", "no time", None),
    ],
}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_batch_ends_as_its_rows_written_one_by_one(erp_db, pg_server, tmp_path, scenario):
    messages = SCENARIOS[scenario]
    _, report, error = run(erp_db, [ITEM_SCHEMA, *messages], tmp_path)
    assert error is None
    apart = new_database(pg_server)
    (tmp_path / "apart").mkdir()
    _, apart_report, _ = run(apart, [ITEM_SCHEMA, *messages], tmp_path / "apart", batch_size_rows=1)

    sql = "SELECT zoho_item_id, name, source_modified_at, source_read_at FROM products"
    assert query(erp_db, sql) == query(apart, sql)
    products, apart_products = report["tables"]["products"], apart_report["tables"]["products"]
    assert products["inserted"] == 1
    assert products["inserted"] + products["updated"] + products["unchanged"] == len(messages)
    assert products["updated"] <= apart_products["updated"]


def test_the_outcome_of_a_same_second_tie_follows_the_read_times_not_the_order(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA, *SCENARIOS["a tie goes to the later read"]], tmp_path)

    assert query(erp_db, "SELECT name FROM products") == [("read last",)]


def test_a_key_twice_in_a_batch_over_a_stored_row_counts_once(erp_db, tmp_path):
    run(erp_db, [ITEM_SCHEMA, _item("1", "stored", "2024-01-02T00:00:00Z")], tmp_path)

    _, report, _ = run(
        erp_db,
        [
            ITEM_SCHEMA,
            _item("1", "older", "2024-01-01T00:00:00Z"),
            _item("1", "newer", "2024-01-03T00:00:00Z"),
            _item("2", "new", "2024-01-03T00:00:00Z"),
            _item("2", "new again", "2024-01-04T00:00:00Z"),
        ],
        tmp_path,
    )

    assert dict(query(erp_db, "SELECT zoho_item_id, name FROM products")) == {
        "1": "newer",
        "2": "new again",
    }
    products = report["tables"]["products"]
    assert (products["inserted"], products["updated"], products["unchanged"]) == (1, 1, 2)
    assert products["successful"] == 4


def test_without_a_modification_time_the_last_row_of_a_key_wins(erp_db, tmp_path):
    run(
        erp_db,
        [
            BOOK_SCHEMA,
            pricebook("p1", [("1", 1), ("2", 2)]),
            pricebook("p2", [("1", 5)]),
            pricebook("p1", [("1", 3)]),
        ],
        tmp_path,
    )

    assert query(
        erp_db, "SELECT zoho_item_id, zoho_pricebook_id, price FROM product_prices ORDER BY 1, 2"
    ) == [
        ("1", "p1", Decimal("3.000000")),
        ("1", "p2", Decimal("5.000000")),
        ("2", "p1", Decimal("2.000000")),
    ]
