"""A `meltano run` started by the service inherits what its job needs and none of its secrets."""

from __future__ import annotations

from tests.support.live_service import SECRET, TOKEN, environ


def test_a_run_inherits_its_jobs_variables_and_none_of_the_services_secrets(live):
    live.idle()
    job = "crm-to-clickhouse"
    lead = sorted(live.sandbox.records("Leads"))[7]
    live.sandbox.update("Leads", lead, {"Last_Name": "Environment-Checked"})
    live.sandbox.faults.latency_seconds = 0.2
    try:
        assert [d.status for d in live.sandbox.notifications.notify("Leads", [lead])] == [200]
        run_env = environ(live.meltano_run_pid(job))
    finally:
        live.sandbox.faults.latency_seconds = 0
    service_env = environ(live.server_pid())
    # the service had them all (so their absence below means something) ...
    assert service_env["ZOHO_SYNC_SERVICE_TOKEN"] == TOKEN
    assert service_env["ZOHO_WEBHOOK_SECRET"] == SECRET
    assert service_env["UNRELATED_HOST_SECRET"]
    assert any(k.startswith("MELTANO_UTILIZE_") for k in service_env)  # meltano invoke's copies
    # ... and the run has none of them
    leaked = [
        k
        for k, v in run_env.items()
        if k.startswith(("ZOHO_SYNC_SERVICE_", "MELTANO_UTILIZE_"))
        or k in {"ZOHO_WEBHOOK_SECRET", "UNRELATED_HOST_SECRET"}
        or v in {TOKEN, SECRET}
    ]
    assert leaked == []
    assert "TARGET_TSH_POSTGRES_HOST" not in run_env  # another job's loader
    # what the job reads is there: its plugins' variables, Meltano's, the basics, the selection
    for key in ("TAP_ZOHO_CLIENT_ID", "TAP_ZOHO_REFRESH_TOKEN", "TARGET_CLICKHOUSE_PATH"):
        assert run_env[key] == live.env[key]
    assert run_env["MELTANO_DATABASE_URI"] == live.env["MELTANO_DATABASE_URI"]
    assert run_env["TAP_ZOHO_CRM_MODULES"] == '["Leads"]'
    assert run_env["TAP_ZOHO_CRM_REFERENCE_DATA"] == "false"  # a run for changed modules only
    assert "PATH" in run_env
    live.idle()
    assert live.runs(job)[-1]["status"] == "succeeded"
