"""Zoho CRM: one stream per readable module, and the organisation's reference data."""
