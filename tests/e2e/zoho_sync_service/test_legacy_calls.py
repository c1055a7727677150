"""Legacy endpoints: credentials anywhere refused; calls differing only in batch_size share a run."""

from __future__ import annotations

import threading
import time

import httpx
from zoho_sync_service.legacy import CREDENTIALS_REFUSED


def test_credentials_anywhere_in_a_legacy_body_are_refused_with_the_existing_message(live):
    live.idle()
    before = len(live.runs())
    bodies = {
        "/sync/full": {"selected_modules": ["Leads"], "options": {"zoho": {"client_id": "x"}}},
        "/sync/incremental": {"selected_modules": ["Leads"], "extra": [{"Client-Secret": "x"}]},
        "/api/zoho/bulk-sync/products": {"batch_size": 50, "clickhouse": {"password": "x"}},
        "/api/zoho/bulk-sync/customers": {"target": {"settings": [{"PASSWORD": "x"}]}},
        "/api/zoho/bulk-sync/sync-all": {"auth": {"refresh_token": "1000.x"}},
    }
    for path, body in bodies.items():
        answer = httpx.post(f"{live.url}{path}", json=body, headers=live.auth, timeout=30)
        assert answer.status_code == 400, (path, answer.text)
        assert CREDENTIALS_REFUSED in answer.text, path
    time.sleep(2.0)
    assert len(live.runs()) == before


def test_legacy_calls_differing_only_in_batch_size_share_one_run(live):
    live.idle()
    job = "products-to-erp"
    before = len(live.runs(job))
    answers: dict[int, httpx.Response] = {}

    def call(batch_size: int) -> None:
        answers[batch_size] = httpx.post(
            f"{live.url}/api/zoho/bulk-sync/products",
            json={"incremental": True, "batch_size": batch_size},
            headers=live.auth,
            timeout=300,
        )

    live.sandbox.faults.latency_seconds = 0.2  # a first run long enough to queue the others
    try:
        first = threading.Thread(target=call, args=(100,))
        first.start()
        live.wait_running(job)
        others = [threading.Thread(target=call, args=(size,)) for size in (50, 70, 90)]
        for thread in others:
            thread.start()
        for thread in others:
            thread.join(timeout=300)
        first.join(timeout=300)
    finally:
        live.sandbox.faults.latency_seconds = 0
    assert {size: a.status_code for size, a in answers.items()} == dict.fromkeys(
        (100, 50, 70, 90), 200
    )
    runs = live.runs(job)[before:]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"]  # the first, one follow-up
    assert runs[1]["options"]["batch_size"] in {50, 70, 90}  # the call that opened the batch
