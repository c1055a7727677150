"""The Singer SDK's standard tap test suite, run against the sandbox.

The suite discovers streams while pytest collects, so the sandbox starts at import time.
"""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class
from tap_zoho.tap import TapZoho

from tests.conftest import FAST
from tests.zoho_sandbox import Sandbox
from tests.zoho_sandbox.seed import default_specs

_SANDBOX = Sandbox(specs=default_specs(scale=0.1))
_SANDBOX.start()
atexit.register(_SANDBOX.stop)

TestTapZohoStandard = get_tap_test_class(
    TapZoho,
    config={
        **FAST,
        **_SANDBOX.tap_config(
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
