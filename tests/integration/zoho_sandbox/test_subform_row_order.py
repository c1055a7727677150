"""A single-record read holds a subform's rows in an order Zoho does not document (3.2-3.3): the
sandbox serves both readings, ``Sequence_Number`` order where rows carry it (the default) and id
(creation) order, through every write of the parent."""

from __future__ import annotations

import pytest
import requests

from tests.support.line_items import ITEMS, reorder_a_quote
from tests.support.sandbox_api import mint
from tests.zoho_sandbox import Limits, Sandbox
from tests.zoho_sandbox.seed import completion_specs


def single_read(sandbox, qid):
    token = mint(sandbox).json()["access_token"]
    response = requests.get(
        f"{sandbox.base_url}/crm/v8/Quotes/{qid}",
        headers={"Authorization": f"Zoho-oauthtoken {token}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    return response.json()["data"][0][ITEMS]


@pytest.mark.parametrize("reading", ["sequence", "id"])
def test_a_single_record_read_holds_line_items_in_the_order_of_its_reading(reading):
    sandbox = Sandbox(specs=completion_specs(0, 12), limits=Limits(detail_row_order=reading))
    sandbox.start()
    try:
        qid = reorder_a_quote(sandbox)
        held = single_read(sandbox, qid)
    finally:
        sandbox.stop()

    assert held == sandbox.records("Quotes")[qid][ITEMS]
    ids = [int(row["id"]) for row in held]
    if reading == "sequence":
        assert [row["Sequence_Number"] for row in held] == list(range(1, len(held) + 1))
        assert ids != sorted(ids)
    else:
        assert ids == sorted(ids)
        assert held[-1]["Description"] == "top"
