"""Inside a module the tap writes resumable STATE every ``state_checkpoint_records`` records."""

from __future__ import annotations

from tests.support.tap import leads_bookmark, run_tap


def test_state_comes_every_state_checkpoint_records_inside_a_module(full_sandbox):
    sandbox = full_sandbox
    run = run_tap(sandbox.tap_config(crm_modules=["Leads"], state_checkpoint_records=500))

    total = len(run.records["leads"])
    states_with_bookmark, seen = 0, 0
    for message in run.messages:
        if message["type"] == "RECORD":
            seen += 1
        elif message["type"] == "STATE" and leads_bookmark(message["value"]) and seen < total:
            states_with_bookmark += 1
    assert states_with_bookmark >= total // 500 - 1
