"""Legacy bodies on their own: credentials at any depth refused; batch_size never splits a run."""

from __future__ import annotations

import pytest
from zoho_sync_service import legacy
from zoho_sync_service.errors import RejectedError
from zoho_sync_service.flight import Batch


@pytest.mark.parametrize(
    "body",
    [
        {"zoho": {"refresh_token": "x"}},
        {"selected_modules": ["Leads"], "options": {"clickhouse": {"host": "h"}}},
        {"deep": [[{"Client-Secret": "x"}]]},
        {"PASSWORD": "x"},
        {"a": {"b": {"c": {"d": {"access_token": "x"}}}}},
    ],
)
def test_credentials_at_any_depth_are_refused_by_every_legacy_endpoint(body):
    for parse in (legacy.crm_selection, legacy.bulk_options):
        with pytest.raises(RejectedError) as refused:
            parse(body)
        assert refused.value.status == 400
        assert refused.value.message == legacy.CREDENTIALS_REFUSED


def test_a_body_nested_as_deep_as_json_allows_is_walked_without_recursion():
    body: dict = {"x": None}
    for _ in range(50_000):
        body = {"x": body}
    assert legacy.bulk_options({"batch_size": 10, "nested": body})["batch_size"] == 10


def test_selected_modules_must_be_few_crm_api_names():
    assert legacy.crm_selection({"selected_modules": ["Leads", "Deals"]}) == {"Leads", "Deals"}
    for bad in (["L" * 140_000], ["Leads", "a b"], [f"M{i}" for i in range(501)], [1]):
        with pytest.raises(RejectedError):
            legacy.crm_selection({"selected_modules": bad})


def test_calls_differing_only_in_batch_size_have_the_same_batch_key():
    one = Batch(legacy.bulk_options({"batch_size": 50}), frozenset({"items"}))
    other = Batch(legacy.bulk_options({"batch_size": 500}), frozenset({"items"}))
    assert one.key == other.key
    incremental = Batch(legacy.bulk_options({"incremental": True}), frozenset({"items"}))
    assert incremental.key != one.key
