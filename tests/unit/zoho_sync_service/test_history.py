"""The service's history: pending triggers and channels survive reopening (zoho_sync_service.history)."""

from __future__ import annotations

from zoho_sync_service.history import History


# ---------------------------------------------------------------------- history, jobs, logs
def test_pending_triggers_and_channels_survive_reopening(tmp_path):
    history = History(tmp_path / "h.db")
    first = history.add_pending("crm", "n1", frozenset({"Leads"}), {})
    history.add_pending("crm", "n2", None, {"full_refresh": True})
    run = history.start_run("crm", "n1", frozenset({"Leads"}), {}, 1)
    history.close()

    reopened = History(tmp_path / "h.db")
    assert reopened.mark_interrupted() == ["crm"]
    assert reopened.mark_interrupted() == ["crm"]  # still the last run: the next one forces
    later = reopened.start_run("crm", "n3", None, {}, 1)
    reopened.finish_run(
        later, status="succeeded", exit_code=0, duration=1, records={}, errors=[], report=None
    )
    assert reopened.mark_interrupted() == []
    assert [r["status"] for r in reopened.runs()] == ["succeeded", "interrupted"]
    assert reopened.runs()[1]["id"] == run
    pending = reopened.pending()
    assert [(p.id, p.selection) for p in pending] == [(first, {"Leads"}), (first + 1, None)]
    reopened.remove_pending([first])
    assert [p.trigger for p in reopened.pending()] == ["n2"]
