"""The legacy endpoints' bodies and answers, filled from the run reports (zoho_sync_service.legacy)."""

from __future__ import annotations

import pytest
from zoho_sync_service import intake, legacy
from zoho_sync_service.errors import RejectedError
from zoho_sync_service.flight import Batch
from zoho_sync_service.runner import RunOutcome


# ---------------------------------------------------------------------- legacy shapes
def test_legacy_bodies_with_credentials_or_bad_fields_are_refused():
    with pytest.raises(intake.RejectedError) as err:
        legacy.crm_selection({"zoho": {"refresh_token": "x"}})
    assert "environment" in err.value.message
    with pytest.raises(intake.RejectedError):
        legacy.crm_selection({"selected_modules": "Leads"})
    assert legacy.crm_selection({"selected_modules": ["Leads"]}) == {"Leads"}
    assert legacy.crm_selection(None) is None
    assert legacy.bulk_options(None) == {
        "full_refresh": True,
        "active_only": True,
        "with_stock_only": False,
        "sync_images": True,
        "batch_size": 100,
    }
    asked = legacy.bulk_options({"incremental": True, "reconcile_deletions": True})
    assert asked["reconcile_deletions"] is True
    assert not asked["full_refresh"]
    for bad in (
        {"batch_size": 0},
        {"batch_size": "100"},
        {"incremental": "yes"},
        {"reconcile_deletions": "yes"},
    ):
        with pytest.raises(intake.RejectedError):
            legacy.bulk_options(bad)


def test_legacy_answers_are_filled_from_the_run_reports():
    summary = {
        "success": True,
        "synced_modules": [{"module": "Leads", "record_count": 5, "deleted_count": 1}],
        "failed_modules": [{"module": "Tasks", "error": "no permission", "record_count": 0}],
        "errors": ["Tasks: no permission"],
    }
    answer = legacy.crm_answer(RunOutcome(0, 3.0, tap_summary=summary))
    assert answer == {
        "success": True,
        "synced_modules": [{"module": "Leads", "record_count": 5}],
        "failed_modules": [{"module": "Tasks", "error": "no permission"}],
        "total_records": 5,
        "errors": ["Tasks: no permission"],
    }
    report = {
        "total_processed": 12,
        "successful": 10,
        "failed": 1,
        "skipped": 1,
        "errors": [{"table": "products", "zoho_id": "9", "name": "X", "error": "RLS"}],
        "tables": {
            "products": {"total_processed": 8, "successful": 7, "failed": 1, "skipped": 0},
            "customers": {"total_processed": 4, "successful": 3, "failed": 0, "skipped": 1},
        },
    }
    outcome = RunOutcome(0, 16.4218, erp_report=report)
    products = legacy.bulk_answer(legacy.BULK_OPERATIONS["products"], outcome)
    assert products == {
        "success": True,
        "message": "Products bulk sync completed successfully",
        "stats": {
            "total_processed": 8,
            "successful": 7,
            "failed": 1,
            "skipped": 0,
            "errors": report["errors"],
            "duration_seconds": 16.42,
        },
        "duration_seconds": 16.42,
    }
    everything = legacy.bulk_answer(legacy.BULK_OPERATIONS["sync-all"], outcome)
    assert everything["stats"]["total_processed"] == 12
    assert everything["results"]["customers"]["skipped"] == 1
    failed = legacy.bulk_answer(
        legacy.BULK_OPERATIONS["customers"], RunOutcome(1, 2.0, errors=["tap-zoho: boom"])
    )
    assert failed["success"] is False
    assert failed["message"] == "Customers bulk sync failed: tap-zoho: boom"


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
