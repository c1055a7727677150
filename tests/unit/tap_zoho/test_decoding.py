"""JSON bodies holding half a character decode, with U+FFFD in its place (tap_zoho.api.decoding)."""

from __future__ import annotations

import json
import logging

import msgspec
import pytest
import requests
from tap_zoho.api import decoding
from tap_zoho.api.client import decode_object
from tap_zoho.api.decoding import Repair, decode_json
from tap_zoho.errors import ZohoApiError


def test_msgspec_itself_refuses_a_lone_surrogate_escape():
    with pytest.raises(msgspec.DecodeError):
        msgspec.json.decode(b'{"a":"\\ud83d"}')


def test_a_value_cut_after_a_high_surrogate_ends_with_u_fffd_naming_record_and_field():
    body = b'{"data":[{"id":"1","Name":"ok"},{"id":"2","Notes":"cut \\ud83d"}],"info":{}}'

    value, repairs = decode_json(body)

    assert value["data"][1]["Notes"] == "cut \ufffd"
    assert value["data"][0] == {"id": "1", "Name": "ok"}
    assert repairs == [Repair("2", "Notes")]
    utf16 = len(value["data"][1]["Notes"].encode("utf-16-le")) // 2
    assert utf16 == 5  # one unit for one unit: a cut value is still as long


def test_lone_low_surrogates_nested_values_and_keys_are_repaired_too():
    body = (
        b'{"data":[{"id":"3","Items":[{"id":"9","Text":"\\ude00x"}],"\\ud800k":1}],'
        b'"message":"\\udbff"}'
    )

    value, repairs = decode_json(body)

    record = value["data"][0]
    assert record["Items"][0]["Text"] == "\ufffdx"
    assert record["\ufffdk"] == 1
    assert value["message"] == "\ufffd"
    assert repairs == [Repair("3", "Items.Text"), Repair("", "message")]


def test_bytes_that_are_not_utf8_are_repaired_byte_by_byte():
    value, repairs = decode_json(b'{"data":[{"id":"4","T":"a\xf0\x9f\x99"}]}')
    assert value["data"][0]["T"] == "a\ufffd\ufffd\ufffd"
    assert repairs == [Repair("4", "T")]


def test_a_whole_surrogate_pair_is_read_by_msgspec_alone(monkeypatch):
    monkeypatch.setattr(decoding.json, "loads", None)  # any fallback would fail
    assert decode_json(b'{"a":"\\ud83d\\ude42"}') == ({"a": "\U0001f642"}, [])


@pytest.mark.parametrize(
    "body",
    [b'{"a":1,}', b'{"a":"\\ud83d",}', b'{"a":NaN,"b":"\\ud83d"}', b'{"a":"\\ud83d"'],
    ids=["trailing-comma", "trailing-comma-with-half", "nan-with-half", "truncated-with-half"],
)
def test_a_body_that_is_not_json_for_another_reason_is_still_refused(body):
    with pytest.raises(msgspec.DecodeError):
        decode_json(body)


def answer(content):
    response = requests.Response()
    response.status_code = 200
    response._content = content
    return response


def test_decode_object_tells_its_caller_or_else_logs_one_warning(caplog):
    told = []
    body = json.dumps({"data": [{"id": "5", "Notes": "x\ud83d"}]}).encode()

    assert decode_object(answer(body), "GET /x", lambda r, w: told.append((r, w))) == {
        "data": [{"id": "5", "Notes": "x\ufffd"}]
    }
    assert told == [([Repair("5", "Notes")], "GET /x")]
    caplog.set_level(logging.WARNING)
    decode_object(answer(body), "GET /y")
    (message,) = [r.getMessage() for r in caplog.records]
    assert message.startswith("GET /y: record 5, field Notes:")
    with pytest.raises(ZohoApiError, match="not JSON"):
        decode_object(answer(b'{"a":"\\ud83d",}'), "GET /z")
