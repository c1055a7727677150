"""The Singer SDK's standard tap test suite, run against the sandbox.

The suite discovers streams while pytest collects this module: ``tests.support.standard_sandbox`` starts
its sandbox right before, and stops it when pytest ends.
"""

from __future__ import annotations

from singer_sdk.testing import get_tap_test_class
from tap_zoho.tap import TapZoho

from tests.support import standard_sandbox
from tests.support.tap import FAST

TestTapZohoStandard = get_tap_test_class(
    TapZoho,
    config={
        **FAST,
        **standard_sandbox.running().tap_config(
            crm_modules=[
                "Accounts",
                "Contacts",
                "Deals",
                "Price_Books",
                "Projects_X",
                "Leads",
                "Contacts_X_Deals",
            ],
        ),
    },
)
