"""Hostile requests: refused cheaply, with 400/401/408/413 and one line; never a 500 or a traceback."""

from __future__ import annotations

import json
import time

from tests.support.live_service import (
    SECRET,
    STATIC_CHANNEL_TOKEN,
    TOKEN,
    exchange,
    hexmac,
    raw_request,
    status_of,
)

DEEP = b"[" * 2000 + b"]" * 2000


def crm(body: bytes, content_type: str = "application/json") -> bytes:
    return raw_request("POST", "/webhooks/crm", body, content_type, {"Connection": "close"})


def legacy(path: str, body: bytes) -> bytes:
    headers = {"Authorization": f"Bearer {TOKEN}", "Connection": "close"}
    return raw_request("POST", path, body, "application/json", headers)


def books(body: bytes, query: str = "", **headers: str) -> bytes:
    headers = {"Connection": "close", **{k.replace("_", "-"): v for k, v in headers.items()}}
    return raw_request("POST", f"/webhooks/books{query}", body, "application/json", headers)


def test_malformed_deep_and_undecodable_bodies_get_400_or_401_and_no_traceback(live):
    live.idle()
    log_start = live.log.stat().st_size
    before = len(live.runs())
    token = STATIC_CHANNEL_TOKEN.encode()
    cases = {
        "crm: JSON nested 2,000 deep": (crm(b'{"token": "x", "a": ' + DEEP + b"}"), 400),
        "crm: nested deep, right token": (
            crm(b'{"token": "' + token + b'", "module": ' + DEEP + b"}"),
            400,
        ),
        "crm: lone surrogate token": (crm(b'{"token": "\\ud800", "module": "Leads"}'), 401),
        "crm: lone surrogate module": (
            crm(b'{"token": "' + token + b'", "module": "Le\\udc00ads"}'),
            400,
        ),
        "crm: undecodable bytes": (crm(b'{"token": "\xff\xfe\xfd"}'), 400),
        "crm: raw surrogate bytes": (crm(b'{"token": "\xed\xa0\x80"}'), 401),
        "crm: not an object": (crm(b'["token"]'), 400),
        "crm: not JSON": (crm(b'{"token": nope'), 400),
        "crm: no token at all": (crm(b'{"module": "Leads"}'), 401),
        "books: signed, nested 2,000 deep": (
            books(DEEP, X_Zoho_Webhook_Signature=hexmac(SECRET, DEEP)),
            400,
        ),
        "books: secret, undecodable": (books(b"\xff\xfe{", query=f"?secret={SECRET}"), 400),
        "books: signature not hex": (books(b"{}", X_Zoho_Webhook_Signature="\u00ff" * 3), 401),
        "books: stamp of a thousand digits": (
            books(b"{}", X_Zoho_Webhook_Signature="t=" + "9" * 1000 + ",v=00"),
            401,
        ),
        "legacy: nested 2,000 deep": (legacy("/sync/incremental", DEEP), 400),
        "legacy: lone surrogate module": (
            legacy("/sync/incremental", b'{"selected_modules": ["\\ud800"]}'),
            400,
        ),
        "legacy: undecodable": (legacy("/api/zoho/bulk-sync/products", b"\xff{"), 400),
    }
    answers = {
        name: status_of(exchange(live.port, request)) for name, (request, _) in cases.items()
    }
    assert answers == {name: status for name, (_, status) in cases.items()}
    time.sleep(2.0)  # longer than the debounce: a run would have started
    assert len(live.runs()) == before
    logged = live.log.read_bytes()[log_start:].decode(errors="replace")
    assert "Traceback" not in logged
    assert " 500" not in logged


def test_an_unauthenticated_webhook_is_refused_before_its_body_is_read(live):
    # headers only: a service that read the body first would wait for it (and answer 408)
    head = books(b"")
    head = head.replace(b"Content-Length: 0", b"Content-Length: 1000000")
    assert status_of(exchange(live.port, head)) == 401
    wrong = books(b"", X_Zoho_Webhook_Secret="wrong-secret-000000")
    wrong = wrong.replace(b"Content-Length: 0", b"Content-Length: 1000000")
    assert status_of(exchange(live.port, wrong)) == 401


def test_a_large_form_with_a_bogus_signature_gets_401(live):
    form = b"&".join(b"f%d=%%41%%42" % i for i in range(60_000))[:1_000_000]
    request = raw_request(
        "POST",
        "/webhooks/books",
        form,
        "application/x-www-form-urlencoded",
        {"X-Zoho-Webhook-Signature": "0" * 64, "Connection": "close"},
    )
    assert status_of(exchange(live.port, request)) == 401


def test_a_body_that_does_not_arrive_in_time_gets_408(live):
    declared = books(b"x" * 100, query=f"?secret={SECRET}")
    partial = declared[: declared.index(b"\r\n\r\n") + 4 + 10]  # ten bytes of a hundred
    answer = exchange(live.port, partial)
    assert status_of(answer) == 408
    assert b"not received within" in answer
    assert live.pending_rows() == 0


def test_a_module_name_the_crm_job_does_not_read_is_refused_even_with_the_static_token(live):
    live.idle()
    before = len(live.runs("crm-to-clickhouse"))
    name = "L" * 140_000  # the name that once broke exec and dropped the triggers merged with it

    def callback(module: str) -> bytes:
        body = json.dumps({"token": STATIC_CHANNEL_TOKEN, "module": module, "ids": ["1"]})
        return crm(body.encode())

    assert status_of(exchange(live.port, callback(name))) == 400
    assert status_of(exchange(live.port, callback("Products"))) == 400  # not configured
    assert status_of(exchange(live.port, callback("Leads; rm -rf /"))) == 400
    assert status_of(exchange(live.port, callback("Leads"))) == 200
    live.idle()
    runs = live.runs("crm-to-clickhouse")[before:]
    assert [(r["status"], r["selection"]) for r in runs] == [("succeeded", ["Leads"])]
