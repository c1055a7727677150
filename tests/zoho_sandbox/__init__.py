"""An offline Zoho (Accounts + CRM v8) on 127.0.0.1 that follows ``shared/zoho-api.md`` strictly."""

from .crm_api import Limits
from .server import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Sandbox

__all__ = ["CLIENT_ID", "CLIENT_SECRET", "REFRESH_TOKEN", "Limits", "Sandbox"]
