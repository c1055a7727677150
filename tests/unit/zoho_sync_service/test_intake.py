"""What the service lets in: Books signatures and secrets, Books payloads, CRM callbacks (intake)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time

import pytest
from zoho_sync_service import intake
from zoho_sync_service.errors import RejectedError

from tests.zoho_sandbox.notifications import books_signature


def test_a_billing_style_signature_over_sorted_query_pairs_and_raw_json_verifies():
    query = [("org", "42"), ("entity", "item")]
    signature = books_signature(SECRET, dict(query), BODY)
    assert signature == hexmac(b"entityitemorg42" + BODY)
    headers = {"x-zoho-webhook-signature": signature, "content-type": "application/json"}
    assert authentic(SECRET, headers, query, BODY)
    assert not authentic(SECRET, headers, query, BODY.replace(b"Mouse", b"Mice"))
    assert not authentic("another-secret-000", headers, query, BODY)


def test_other_documented_signature_readings_verify():
    raw = {"x-zoho-webhook-signature": hexmac(BODY).upper()}
    assert authentic(SECRET, raw, [("a", "b")], BODY)  # raw body, any hex case
    digest = hmac.new(SECRET.encode(), BODY, hashlib.sha256).digest()
    b64 = {"x-zoho-webhook-signature": base64.b64encode(digest).decode()}
    assert authentic(SECRET, b64, [], BODY)
    now = str(int(time.time() * 1000))
    stamped = {"x-zoho-webhook-signature": f"t={now},v={hexmac(now.encode() + b'.' + BODY)}"}
    assert authentic(SECRET, stamped, [], BODY)
    form = b"name=Mouse&item_id=1"
    signed_form = {
        "x-zoho-webhook-signature": hexmac(b"item_id1nameMouse"),
        "content-type": "application/x-www-form-urlencoded",
    }
    assert authentic(SECRET, signed_form, [], form)


def test_without_a_signature_the_secret_must_come_as_a_header_bearer_or_query_parameter():
    assert authentic(SECRET, {"x-zoho-webhook-secret": SECRET}, [], BODY)
    assert authentic(SECRET, {"authorization": f"Bearer {SECRET}"}, [], BODY)
    assert authentic(SECRET, {}, [("secret", SECRET)], BODY)
    assert not authentic(SECRET, {}, [("secret", "nope")], BODY)
    assert not authentic(SECRET, {}, [], BODY)
    assert not authentic("", {}, [("secret", "")], BODY)  # unset secret: refuse all
    # a wrong signature is not rescued by a right token
    headers = {"x-zoho-webhook-signature": "00", "x-zoho-webhook-secret": SECRET}
    assert not authentic(SECRET, headers, [], BODY)


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


def authentic(secret: str, headers: dict, query: list, body: bytes) -> bool:
    """The service's two steps: the check before the body is read, then the signature."""
    try:
        if intake.books_precheck(secret, headers, query):
            signature = headers["x-zoho-webhook-signature"]
            content_type = headers.get("content-type", "")
            intake.books_verify(secret, signature, query, body, content_type, tolerance=300)
    except intake.RejectedError:
        return False
    return True


def sign(message: bytes) -> str:
    return hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()


def verify(signature: str, body: bytes = BODY, query=(), content_type="application/json", **kw):
    return intake.books_verify(
        SECRET, signature, list(query), body, content_type, tolerance=300, **kw
    )


def test_without_a_signature_or_a_right_secret_the_call_is_refused_before_its_body():
    with pytest.raises(RejectedError) as refused:
        intake.books_precheck(SECRET, {}, [])
    assert refused.value.status == 401
    with pytest.raises(RejectedError):
        intake.books_precheck(SECRET, {"x-zoho-webhook-secret": "wrong"}, [("secret", "no")])
    with pytest.raises(RejectedError):
        intake.books_precheck("", {"x-zoho-webhook-signature": "00"}, [])  # no secret configured
    assert intake.books_precheck(SECRET, {"x-zoho-webhook-signature": "00"}, []) is True
    assert intake.books_precheck(SECRET, {}, [("secret", SECRET)]) is False


def test_a_signed_timestamp_outside_the_tolerance_is_refused_either_way():
    now = time.time()
    for stamp, accepted in (
        (int(now * 1000), True),
        (int((now - 299) * 1000), True),
        (int((now - 301) * 1000), False),
        (int((now + 301) * 1000), False),
        (978307200000, False),  # 2001, the replay the review sent
        (int(now), True),  # seconds are read as seconds
    ):
        signature = f"t={stamp},v={sign(str(stamp).encode() + b'.' + BODY)}"
        if accepted:
            assert verify(signature, now=now) == []
        else:
            with pytest.raises(RejectedError) as refused:
                verify(signature, now=now)
            assert refused.value.status == 401


def test_only_a_reading_that_covers_the_query_lets_the_query_decide():
    query = [("entity", "contact")]
    assert verify(sign(BODY), query=query) == []  # raw body: the query is not signed
    billing = sign(b"entitycontact" + BODY)
    assert verify(billing, query=query) == query  # Billing: sorted pairs, then the body
    data = json.loads(BODY)
    assert intake.books_resources(data, []) == {"items"}
    assert intake.books_resources(data, query) == {"items", "contacts"}
    with pytest.raises(RejectedError):
        verify(sign(BODY), query=query, body=BODY + b" ")


def test_a_form_beyond_the_bounds_is_refused_without_being_decoded(monkeypatch):
    def no_decoding(*args, **kwargs):
        raise AssertionError("the form was decoded")

    monkeypatch.setattr(intake, "parse_qsl", no_decoding)
    form = "application/x-www-form-urlencoded"
    escapes = b"a=" + b"%41" * (intake.MAX_FORM_ESCAPES + 1)
    with pytest.raises(RejectedError):
        verify("0" * 64, body=escapes, content_type=form)
    monkeypatch.undo()
    fields = b"&".join(b"f%d=x" % i for i in range(intake.MAX_FORM_FIELDS + 1))
    with pytest.raises(RejectedError):
        verify("0" * 64, body=fields, content_type=form)
    small = b"name=Mouse&item_id=1"
    assert verify(sign(b"item_id1nameMouse"), body=small, content_type=form) == []


def test_a_retry_signed_afresh_is_the_same_delivery_and_a_changed_body_is_not():
    first = intake.delivery_digest("books", [], BODY)
    assert intake.delivery_digest("books", [], BODY) == first  # whatever t= it carried
    assert intake.delivery_digest("books", [("entity", "item")], BODY) != first
    assert intake.delivery_digest("crm", [], BODY) != first
    assert intake.delivery_digest("books", [], BODY + b" ") != first


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b'{"token": "t", "a": ' + b"[" * 2000 + b"]" * 2000 + b"}", 400),
        (b'{"token": "\xff\xfe"}', 400),
        (b'{"token": "t"', 400),
        (b'["token"]', 400),
        (b'{"module": "Leads"}', 401),  # cannot authenticate: not even decoded
    ],
)
def test_undecodable_or_deep_notifications_are_400_or_401(body, status):
    with pytest.raises(RejectedError) as refused:
        intake.crm_notification(body)
    assert refused.value.status == status


def test_lone_surrogates_and_odd_tokens_compare_without_raising():
    data = intake.crm_notification(b'{"token": "\\ud800"}')
    assert not intake.crm_token_valid(data, ["\ud800x", "abc"])
    assert intake.crm_token_valid(data, ["\ud800"])  # equal is equal, whatever it holds
    assert not intake.crm_token_valid({"token": ["a"]}, ["a"])
    assert intake.crm_channel_id({"channel_id": {"x": 1}}) == ""
    assert intake.crm_channel_id({"channel_id": 123}) == "123"
    assert intake.crm_channel_id({"channel_id": "9" * 400}) == ""


@pytest.mark.parametrize(
    "module",
    ["L" * 140_000, "Le\udc00ads", "Leads; rm -rf /", "", " ", "1Leads", "Lé", ["Leads"], None],
)
def test_module_names_that_cannot_be_crm_api_names_are_refused(module):
    with pytest.raises(RejectedError) as refused:
        intake.crm_module({"module": module}, ["Leads", "Deals"])
    assert refused.value.status == 400
    assert "\udc00" not in refused.value.message
    assert len(refused.value.message) < 200


def test_module_names_from_the_module_or_the_resource_uri_are_kept():
    assert intake.crm_module({"module": " Price_Books "}, []) == "Price_Books"
    assert intake.crm_module({"resource_uri": "https://x/crm/v8/Deals/"}, []) == "Deals"
    assert intake.crm_operation({"operation": "update"}) == "update"
    assert intake.crm_operation({"operation": "x" * 1000}) == "change"
