"""Zoho sync service: webhooks and CRM notifications drive incremental Meltano runs."""
