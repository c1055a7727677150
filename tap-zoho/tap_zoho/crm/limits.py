"""What Zoho CRM's Get Records allows, and what it hides unless asked (``shared/zoho-api.md`` 3.1).

Each number lives here once, for every part of the CRM family that lists records.
"""

from __future__ import annotations

CRM_BASE = "/crm/v8"
MODIFIED_TIME = "Modified_Time"
MAX_PER_PAGE = 200  # records per page
MAX_FIELDS_PER_CALL = 50  # ``fields`` is capped (pitfall 2)
MAX_IDS_PER_CALL = 100  # ``ids``
DISCRETE_CAP = 2000  # records reachable by ``page``; past them only by ``page_token``
TOKEN_CAP = 100_000  # records reachable by ``page_token`` (pitfall 1)
# Get Records hides converted Leads (converted=false) and records under approval (approved=true)
# by default; every list read asks for all of them.
ALL_RECORDS = {"converted": "both", "approved": "both"}
