"""How a run is made and read: selections as Meltano overrides, the tap's log (zoho_sync_service.runner)."""

from __future__ import annotations

import json

from zoho_sync_service.jobs import Job
from zoho_sync_service.runner import LogReader


def test_selections_become_meltano_environment_overrides(tmp_path, monkeypatch):
    crm = Job("crm-to-clickhouse", "crm", "tap-zoho")
    spec = crm.spec(frozenset({"Leads", "Deals"}), {}, force=True, report_dir=tmp_path)
    assert spec.env == {
        "TAP_ZOHO_CRM_MODULES": '["Deals", "Leads"]',
        "TAP_ZOHO_CRM_REFERENCE_DATA": "false",  # read by the job's whole runs only
    }
    assert spec.force
    assert crm.spec(None, {}, force=False, report_dir=tmp_path).env == {}
    monkeypatch.setenv("TAP_ZOHO_SALES_CRM_MODULES", '["Leads", "Contacts"]')
    sales = Job("sales", "crm", "tap-zoho-sales")
    assert sales.narrow(frozenset({"Leads", "Products"})) == {"Leads"}
    assert sales.narrow(frozenset({"Products"})) == frozenset()
    finance = Job("products-to-erp", "finance", "tap-zoho-products", "target-tsh-postgres")
    options = {
        "active_only": False,
        "with_stock_only": True,
        "sync_images": False,
        "batch_size": 50,
    }
    spec = finance.spec(
        frozenset({"items"}), {**options, "full_refresh": True}, force=False, report_dir=tmp_path
    )
    assert json.loads(spec.env["TAP_ZOHO_PRODUCTS__SELECT"]) == [
        "books_items.*",
        "inventory_items.*",
        "!books_items.image_url",
        "!inventory_items.image_url",
    ]
    assert spec.env["TAP_ZOHO_PRODUCTS_ITEMS_ACTIVE_ONLY"] == "false"
    assert spec.env["TARGET_TSH_POSTGRES_WITH_STOCK_ONLY"] == "true"
    assert spec.env["TARGET_TSH_POSTGRES_BATCH_SIZE_ROWS"] == "50"
    assert spec.env["TARGET_TSH_POSTGRES_REPORT_PATH"] == str(spec.report_path)
    assert spec.full_refresh
    assert "TAP_ZOHO_PRODUCTS_ITEMS_RECONCILE_DELETIONS" not in spec.env  # the tap decides
    spec = finance.spec(None, {"reconcile_deletions": True}, force=False, report_dir=tmp_path)
    assert spec.env["TAP_ZOHO_PRODUCTS_ITEMS_RECONCILE_DELETIONS"] == "true"


def test_the_log_reader_counts_the_taps_records_and_keeps_its_summary():
    reader = LogReader("tap-zoho")
    metric = {"type": "counter", "metric": "record_count", "value": 7, "tags": {"stream": "leads"}}
    lines = [
        f"2026-12-01T15:19:36Z [info     ] tap-zoho     METRIC: {json.dumps(metric)}",
        f"2026-12-01T15:19:36Z [info     ] tap-zoho     METRIC: {json.dumps({**metric, 'value': 3})}",
        f"2026-12-01T15:19:36Z [info     ] target-clickhouse METRIC: {json.dumps({**metric, 'value': 10})}",
        '2026-12-01T15:19:36Z [info     ] tap-zoho     Sync summary: {"success":true,"synced_modules":[]} tail',
        "2026-12-01T15:19:38Z [error    ] meltano      Extractor failed",
    ]
    for line in lines:
        reader.feed(line + "\n")
    assert reader.records() == {"leads": 10}
    assert reader.tap_summary == {"success": True, "synced_modules": []}
    assert reader.errors == ["meltano: Extractor failed"]
