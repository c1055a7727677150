"""Get Records defaults hide converted Leads and records under approval: the tap reads them all.

``converted`` defaults to ``false`` and ``approved`` to ``true`` (zoho-api.md 3.1), and the
sandbox enforces both; ``/deleted`` defaults to ``type=all`` (4.1) and the tap says so explicitly.
"""

from __future__ import annotations

from tests.support.tap import run_tap
from tests.zoho_sandbox import Limits, Sandbox


def _live(run, stream):
    return {r["id"]: r for r in run.records[stream] if not r.get("_sdc_deleted_at")}


def test_converted_leads_arrive_in_full_and_incremental_runs(sandbox):
    config = sandbox.tap_config(crm_modules=["Leads"])
    converted = {rid for rid, r in sandbox.records("Leads").items() if r["Converted__s"]}

    first = run_tap(config)
    newly = sorted(rid for rid in sandbox.records("Leads") if rid not in converted)[0]
    sandbox.update(
        "Leads", newly, {"Converted__s": True, "Converted_Date_Time": "2024-02-01T10:00:00+05:30"}
    )
    second = run_tap(config, state=first.state)

    assert converted <= _live(first, "leads").keys()
    assert set(_live(first, "leads")) == set(sandbox.records("Leads"))
    assert list(_live(second, "leads")) == [newly]
    assert _live(second, "leads")[newly]["Converted__s"] is True


def test_records_in_an_approval_process_arrive_in_full_and_incremental_runs(sandbox):
    config = sandbox.tap_config(crm_modules=["Deals", "Quotes"])
    pending = sandbox.store.modules["Deals"].unapproved

    first = run_tap(config)
    rid = sorted(pending)[0]
    sandbox.update("Deals", rid, {"Stage": "Negotiation"})
    second = run_tap(config, state=first.state)

    assert pending <= _live(first, "deals").keys()
    assert sandbox.store.modules["Quotes"].unapproved <= _live(first, "quotes").keys()
    assert set(_live(first, "deals")) == set(sandbox.records("Deals"))
    assert list(_live(second, "deals")) == [rid]


def test_every_get_records_call_asks_for_all_records():
    # Under a lower position cap the tie second's re-read pass fetches a field group by ids.
    sandbox = Sandbox(limits=Limits(discrete_cap=200))
    sandbox.start()
    try:
        run_tap(sandbox.tap_config(crm_modules=["Leads", "Accounts"]))
    finally:
        sandbox.stop()

    lists = [q for path, q in sandbox.stats.queries if not path.endswith("/deleted")]
    assert lists
    assert any("ids" in q for q in lists)  # field-group merges by id, too
    assert all(q.get("converted") == "both" and q.get("approved") == "both" for q in lists)


def test_deletions_of_every_type_are_read_with_type_all(sandbox):
    leads = sorted(sandbox.records("Leads"))
    first = run_tap(sandbox.tap_config(crm_modules=["Leads"]))
    sandbox.delete("Leads", leads[1])
    sandbox.delete("Leads", leads[2], permanent=True)

    second = run_tap(sandbox.tap_config(crm_modules=["Leads"]), state=first.state)

    assert sorted(second.ids("leads", deleted=True)) == sorted(leads[1:3])
    deleted = [q for path, q in sandbox.stats.queries if path.endswith("/deleted")]
    assert deleted
    assert all(q.get("type") == "all" for q in deleted)
