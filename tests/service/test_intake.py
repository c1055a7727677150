"""Webhook intake on its own: cheap refusals first, signed content only, bounded decoding."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from zoho_sync_service import intake
from zoho_sync_service.errors import RejectedError

SECRET = "intake0secret0key42"
BODY = b'{"item": {"item_id": "1", "name": "Mouse"}}'


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
