"""Replays: an identical delivery is answered and stored once; stale or unsigned content decides nothing."""

from __future__ import annotations

import json
import time

import httpx

from tests.support.live_service import SECRET, flood, hexmac


def post_books(live, body: bytes, signature: str, query: str = "") -> httpx.Response:
    return httpx.post(
        f"{live.url}/webhooks/books{query}",
        content=body,
        headers={"Content-Type": "application/json", "X-Zoho-Webhook-Signature": signature},
        timeout=10,
    )


def test_an_identical_signed_delivery_is_answered_and_stored_once(live):
    live.idle()
    job = "products-to-erp"
    before = len(live.runs(job))
    body = json.dumps({"item": {**live.item(), "replayed": True}}).encode()
    signature = hexmac(SECRET, body)
    first = post_books(live, body, signature)
    assert first.json() == {"status": "accepted", "job": job}
    live.idle()
    assert len(live.runs(job)) == before + 1
    # Zoho retrying a delivery it thinks failed, or someone who captured it: 2xx, nothing stored
    again = post_books(live, body, signature)
    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "job": job}
    request = live.books_request(body, signature=signature)
    assert flood(live.port, [request] * 200, connections=2) == {200: 200}
    assert live.pending_rows() == 0
    time.sleep(2.5)  # longer than the debounce: a run would have started
    assert len(live.runs(job)) == before + 1
    assert not live.health()["jobs"][job]["waiting"]


def test_a_signed_timestamp_older_than_the_tolerance_is_refused(live):
    body = json.dumps({"item": {**live.item(), "stamped": True}}).encode()
    stale = "978307200000"  # 2001-01-01, in milliseconds as Zoho sends it
    refused = post_books(live, body, f"t={stale},v={hexmac(SECRET, stale.encode() + b'.' + body)}")
    assert refused.status_code == 401
    assert "timestamp" in refused.json()["error"]
    future = str(int((time.time() + 3600) * 1000))
    ahead = post_books(live, body, f"t={future},v={hexmac(SECRET, future.encode() + b'.' + body)}")
    assert ahead.status_code == 401
    now = str(int(time.time() * 1000))
    fresh = post_books(live, body, f"t={now},v={hexmac(SECRET, now.encode() + b'.' + body)}")
    assert fresh.status_code == 200
    live.idle()


def test_unsigned_query_parameters_do_not_change_what_is_synced(live):
    live.idle()
    job = "products-to-erp"
    before = len(live.runs(job))
    body = json.dumps({"item": {**live.item(), "query": "unsigned"}}).encode()
    # signed over the body alone; the query someone appended is not covered by the signature
    tampered = post_books(live, body, hexmac(SECRET, body), query="?entity=contact")
    assert tampered.status_code == 200
    # the secret as a query parameter authenticates the call but signs nothing
    unsigned = httpx.post(
        f"{live.url}/webhooks/books?secret={SECRET}&entity=pricebook",
        content=json.dumps({"item": live.item()}).encode(),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert unsigned.status_code == 200
    live.idle()
    runs = live.runs(job)[before:]
    assert [(r["status"], r["selection"]) for r in runs] == [("succeeded", ["items"])]
