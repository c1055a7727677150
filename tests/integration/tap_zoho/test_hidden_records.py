"""Converted and unapproved records in a Bulk Read backfill: once each, in either reading of
whether an export holds them (zoho-api.md 3.1, 4.4), at no extra call when it does."""

from __future__ import annotations

import math

import pytest
from tap_zoho.crm.bulk_read import jobs as bulk_jobs

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.bulk_read import BulkOptions
from tests.zoho_sandbox.seed import LEADS_STANDARD, ModuleSpec


@pytest.fixture(autouse=True)
def fresh_download_throttle(monkeypatch):
    """The 10-a-minute download budget is per process: each test starts with a full one."""
    monkeypatch.setattr(bulk_jobs, "DOWNLOADS", bulk_jobs.DownloadThrottle())


@pytest.mark.parametrize("hide", [False, True], ids=["export-holds-them", "export-hides-them"])
def test_the_pass_over_fields_an_export_lacks_tells_hidden_records_apart(hide):
    # An upload field: Bulk Read cannot export it, so the tap lists the module anyway.
    spec = ModuleSpec("Leads", 300, LEADS_STANDARD, ["fileupload"], unapproved_every=20)
    sandbox = Sandbox(specs=[spec], bulk=BulkOptions(delay_seconds=0, hide_converted=hide))
    sandbox.start()
    try:
        run = run_tap(
            sandbox.tap_config(
                crm_modules=["Leads"], crm_bulk_read_min_records=50, crm_include_deleted=False
            )
        )
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    module = sandbox.store.modules["Leads"]
    hidden = [r for r in module.records if not module.listed(r, converted="false", approved="true")]
    assert hidden
    emitted = [r["id"] for r in run.records["leads"]]
    assert sorted(emitted, key=int) == sorted(sandbox.records("Leads"), key=int)  # each once
    queries = [q for path, q in sandbox.stats.queries if path == "/crm/v8/Leads"]
    assert not any(q.get("converted") == "true" or q.get("approved") == "false" for q in queries)
    by_ids = [q for q in queries if "ids" in q]
    fill_pages = math.ceil(len(module.records) / 200)
    follow_up = 1
    if hide:  # read afterwards by ids: 100 a call
        assert len(by_ids) == math.ceil(len(hidden) / 100)
    else:
        assert by_ids == []
    assert len(queries) == fill_pages + follow_up + len(by_ids)
