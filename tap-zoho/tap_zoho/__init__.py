"""tap-zoho: a Singer tap for Zoho CRM on the Meltano Singer SDK."""
