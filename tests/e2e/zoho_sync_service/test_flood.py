"""A flood of valid webhooks: one stored row, one run, an empty pending table afterwards."""

from __future__ import annotations

import json

from tests.support.live_service import SECRET, flood, hexmac

FLOOD = 40_000


def test_a_flood_of_forty_thousand_signed_webhooks_ends_in_one_run_and_an_empty_pending_table(live):
    live.idle()
    before = len(live.runs("products-to-erp"))
    item = live.item()
    requests = []
    for sequence in range(FLOOD):  # each one different, each one signed
        body = json.dumps({"item": {**item, "flood_sequence": sequence}}).encode()
        requests.append(live.books_request(body, signature=hexmac(SECRET, body)))
    statuses = flood(live.port, requests)
    assert statuses == {200: FLOOD}
    assert live.pending_rows() <= 1
    live.idle()
    runs = live.runs("products-to-erp")[before:]
    assert [(r["status"], r["selection"], r["trigger"]) for r in runs] == [
        ("succeeded", ["items"], "books webhook: items")
    ]
    assert live.pending_rows() == 0
