"""What the service lets in: Books signatures and secrets, Books payloads, CRM callbacks (intake)."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from zoho_sync_service import intake

from tests.zoho_sandbox.notifications import books_signature


def test_a_billing_style_signature_over_sorted_query_pairs_and_raw_json_verifies():
    query = [("org", "42"), ("entity", "item")]
    signature = books_signature(SECRET, dict(query), BODY)
    assert signature == hexmac(b"entityitemorg42" + BODY)
    headers = {"x-zoho-webhook-signature": signature, "content-type": "application/json"}
    assert intake.books_authentic(SECRET, headers, query, BODY)
    assert not intake.books_authentic(SECRET, headers, query, BODY.replace(b"Mouse", b"Mice"))
    assert not intake.books_authentic("another-secret-000", headers, query, BODY)


def test_other_documented_signature_readings_verify():
    raw = {"x-zoho-webhook-signature": hexmac(BODY).upper()}
    assert intake.books_authentic(SECRET, raw, [("a", "b")], BODY)  # raw body, any hex case
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    b64 = {"x-zoho-webhook-signature": base64.b64encode(digest).decode()}
    assert intake.books_authentic(SECRET, b64, [], BODY)
    stamped = {"x-zoho-webhook-signature": f"t=1734340423138,v={hexmac(b'1734340423138.' + BODY)}"}
    assert intake.books_authentic(SECRET, stamped, [], BODY)
    form = b"name=Mouse&item_id=1"
    signed_form = {
        "x-zoho-webhook-signature": hexmac(b"item_id1nameMouse"),
        "content-type": "application/x-www-form-urlencoded",
    }
    assert intake.books_authentic(SECRET, signed_form, [], form)


def test_without_a_signature_the_secret_must_come_as_a_header_bearer_or_query_parameter():
    assert intake.books_authentic(SECRET, {"x-zoho-webhook-secret": SECRET}, [], BODY)
    assert intake.books_authentic(SECRET, {"authorization": f"Bearer {SECRET}"}, [], BODY)
    assert intake.books_authentic(SECRET, {}, [("secret", SECRET)], BODY)
    assert not intake.books_authentic(SECRET, {}, [("secret", "nope")], BODY)
    assert not intake.books_authentic(SECRET, {}, [], BODY)
    assert not intake.books_authentic("", {}, [("secret", "")], BODY)  # unset secret: refuse all
    # a wrong signature is not rescued by a right token
    headers = {"x-zoho-webhook-signature": "00", "x-zoho-webhook-secret": SECRET}
    assert not intake.books_authentic(SECRET, headers, [], BODY)


def test_books_payloads_name_their_resources():
    assert intake.books_resources(intake.books_payload(BODY, "application/json"), []) == {"items"}
    contact = intake.books_payload(b'{"contact": {"contact_id": "9"}}', "application/json")
    assert intake.books_resources(contact, []) == {"contacts"}
    custom = intake.books_payload(b'{"anything": 1}', "application/json")
    assert intake.books_resources(custom, [("entity", "pricebook")]) == {"pricebooks"}
    assert intake.books_resources(custom, []) is None  # unknown: the whole job
    form = b"JSONString=" + b'{"item": {"item_id": "1"}}'.replace(b" ", b"")
    parsed = intake.books_payload(form, "application/x-www-form-urlencoded")
    assert intake.books_resources(parsed, []) == {"items"}
    for bad in (b"", b"[1, 2]", b"{oops"):
        with pytest.raises(intake.RejectedError) as err:
            intake.books_payload(bad, "application/json")
        assert err.value.status == 400


def test_crm_callbacks_need_a_known_token_and_name_a_module():
    data = intake.crm_notification(
        b'{"module": "Deals", "token": "tok", "channel_id": 7, "ids": ["1"], "operation": "insert"}'
    )
    assert intake.crm_token_valid(data, ["", "tok"])
    assert not intake.crm_token_valid(data, ["other"])
    assert not intake.crm_token_valid({"token": None}, [""])
    assert intake.crm_module(data, []) == "Deals"
    assert intake.crm_module({"resource_uri": "https://x/crm/v8/Leads"}, []) == "Leads"
    assert intake.crm_module({}, ["Accounts"]) == "Accounts"
    with pytest.raises(intake.RejectedError):
        intake.crm_module({}, ["Accounts", "Leads"])


SECRET = "s3cretWebhookKey42"


BODY = b'{"item":{"item_id":"1","name":"Mouse"}}'


# ---------------------------------------------------------------------- Books authentication
def hexmac(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
