"""An offline Zoho (Accounts + CRM v8) on 127.0.0.1 that follows ``shared/zoho-api.md`` strictly."""

from .crm_api import Limits
from .server import BOOKS_ORG, CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, SECOND_ORG, Sandbox

__all__ = [
    "BOOKS_ORG",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "SECOND_ORG",
    "Limits",
    "Sandbox",
]
