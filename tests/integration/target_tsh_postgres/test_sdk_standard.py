"""The Singer SDK's standard target suite, plus ERP suites that check what reached the database.

target-tsh-postgres only loads item, contact and price-list streams. The standard suite's own
streams are ignored by design, so its tests prove that the target reads any valid Singer input
(schema changes, unknown streams, state, nested and odd records) without failing; the ERP suite
below feeds ERP streams through the same SDK runner and checks the rows in PostgreSQL, so it
fails when the target stops writing. Each test gets a fresh database from the shared server
(no server is started at import time).
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from singer_sdk.testing import get_target_test_class
from singer_sdk.testing.runners import TargetTestRunner
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.templates import TargetFileTestTemplate
from target_tsh_postgres.target import TargetTshPostgres

from tests.support.erp import connect

SINGER_FILES = Path(__file__).with_name("singer")


class _ErpFileTest(TargetFileTestTemplate):
    """Feeds ``singer/<name>.singer`` to the target; ``validate`` reads the database back."""

    @property
    def singer_filepath(self) -> Path:  # type: ignore[override]
        return SINGER_FILES / f"{self.name}.singer"

    def rows(self, sql: str) -> list[tuple[t.Any, ...]]:
        conn = connect(self.resource)
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
                return cur.fetchall()
        finally:
            conn.close()


class ErpItemsAndPrices(_ErpFileTest):
    name = "erp_items_and_prices"

    def validate(self) -> None:
        assert self.rows(
            "SELECT zoho_item_id, name, price, is_active FROM products ORDER BY 1"
        ) == [
            ("1", "Oil filter", 85, True),
            ("2", "Air filter", 12.5, False),
        ]
        prices = self.rows(
            "SELECT zoho_item_id, zoho_pricebook_id, price FROM product_prices "
            "WHERE zoho_pricebook_id = 'p1' ORDER BY 1"
        )
        assert prices == [("1", "p1", 80), ("2", "p1", 11)]
        assert '"books_pricebooks"' in (self.runner.stdout or "")  # the final STATE


class ErpNewestItemWins(_ErpFileTest):
    name = "erp_newest_item_wins"

    def validate(self) -> None:
        assert self.rows("SELECT name, price FROM products") == [("newer", 2)]


ERP_SUITE = SingerTestSuite(kind="target", tests=[ErpItemsAndPrices, ErpNewestItemWins])

_Standard = get_target_test_class(TargetTshPostgres, config={}, custom_suites=[ERP_SUITE])


class TestTargetTshPostgresStandard(_Standard):  # type: ignore[misc, valid-type]
    """Every test against its own fresh database."""

    @pytest.fixture
    def resource(self, erp_db):
        return erp_db

    @pytest.fixture
    def runner(self, resource):
        return TargetTestRunner(target_class=TargetTshPostgres, config=resource)
