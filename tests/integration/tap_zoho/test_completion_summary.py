"""The run summary says, per module and per subform or linking module, which route completed
its values and why (issue 18: "a line in the run summary saying which route each module took").

With ``crm_detail_reads: false`` too: every source that would need completion is named with the
route not taken (``not_completed``) and the setting as the reason, beside ``incomplete_records``.
"""

from __future__ import annotations

from tests.support.tap import run_tap
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import completion_specs

SOURCES = {
    ("Leads", "Lead_Items"),
    ("Leads", "Leads_X_Contacts"),
    ("Leads", "Leads_X_Users"),
    ("Quotes", "Quoted_Items"),
}


def test_completion_off_names_the_route_not_taken_for_every_source():
    sandbox = Sandbox(specs=completion_specs(100, 20))
    sandbox.start()
    try:
        run = run_tap(
            sandbox.tap_config(
                crm_modules=["Leads", "Quotes"], crm_detail_reads=False, crm_reference_data=False
            )
        )
    finally:
        sandbox.stop()

    assert run.error is None, run.error
    lines = {(e["module"], e["values"]): e for e in run.summary.get("completion", [])}
    assert lines.keys() >= SOURCES
    for source in SOURCES:
        assert lines[source]["route"] == "not_completed"
        assert "crm_detail_reads" in lines[source]["reason"]
