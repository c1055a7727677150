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
    sandbox = Sandbox(limits=Limits(discrete_cap=200))  # pages by position, then by token
    sandbox.start()
    try:
        run_tap(sandbox.tap_config(crm_modules=["Leads", "Accounts"]))
    finally:
        sandbox.stop()

    lists = [q for path, q in sandbox.stats.queries if not path.endswith("/deleted")]
    assert any("page_token" in q for q in lists)
    assert all(q.get("converted") == "both" and q.get("approved") == "both" for q in lists)


def _delete_between_field_groups(sandbox, module: str, rid: str) -> None:
    """Delete ``rid`` once the first field group's page listed it, before the others are asked."""
    path, since = f"/crm/v8/{module}", len(sandbox.stats.queries)
    done: list[bool] = []

    def after_the_first_group() -> None:
        listed = sandbox.stats.queries[since:]
        if not done and listed and listed[-1][0] == path and "ids" not in listed[-1][1]:
            done.append(True)
            sandbox.delete(module, rid)

    for nth in range(1, 20):
        sandbox.on_path_call(path, nth, after_the_first_group)


def test_a_record_gone_between_field_group_calls_is_asked_by_ids_for_all_records(sandbox):
    config = sandbox.tap_config(crm_modules=["Leads"])
    first = run_tap(config)
    edited = sorted(sandbox.records("Leads"))[:2]
    for rid in edited:
        sandbox.update("Leads", rid, {"Description": "edited"})
    # Leads has two field groups. An incremental run asks the first alone, then the other.
    _delete_between_field_groups(sandbox, "Leads", edited[0])

    run_tap(config, state=first.state)

    by_ids = [q for path, q in sandbox.stats.queries if "ids" in q]
    assert [q["ids"] for q in by_ids] == [edited[0]]
    assert all(q.get("converted") == "both" and q.get("approved") == "both" for q in by_ids)


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
