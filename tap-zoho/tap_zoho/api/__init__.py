"""The HTTP layer: every call to Zoho (client), its token (auth), credits and pacing."""
