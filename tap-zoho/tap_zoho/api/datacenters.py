"""Zoho data centres: which Accounts server issues tokens for which API domain.

Section 1.1 of ``shared/zoho-api.md``: strip ``www.zohoapis.`` and prefix ``accounts.zoho.``, except
Canada, whose accounts host is ``accounts.zohocloud.ca``. Sandbox and developer hosts share the
production accounts server. Any other base URL (a proxy, the offline sandbox) serves its own token
endpoint unless ``accounts_domain`` says otherwise.
"""

from __future__ import annotations

from urllib.parse import urlsplit

ACCOUNTS_BY_TLD = {
    "com": "https://accounts.zoho.com",
    "eu": "https://accounts.zoho.eu",
    "in": "https://accounts.zoho.in",
    "com.au": "https://accounts.zoho.com.au",
    "jp": "https://accounts.zoho.jp",
    "com.cn": "https://accounts.zoho.com.cn",
    "ca": "https://accounts.zohocloud.ca",
    "sa": "https://accounts.zoho.sa",
    "uk": "https://accounts.zoho.uk",
}

_API_HOST_PREFIXES = ("www.zohoapis.", "sandbox.zohoapis.", "developer.zohoapis.")


def normalise_api_domain(api_domain: str) -> str:
    """Return the API base URL without a trailing slash; a bare host gets ``https://``."""
    value = api_domain.strip().rstrip("/")
    if "://" not in value:
        value = f"https://{value}"
    return value


def data_centre_of(api_domain: str) -> str | None:
    """The Zoho TLD (``com``, ``eu``, ``com.au`` ...) of a Zoho API domain, else None."""
    host = (urlsplit(normalise_api_domain(api_domain)).hostname or "").lower()
    for prefix in _API_HOST_PREFIXES:
        if host.startswith(prefix):
            return host.removeprefix(prefix)
    return None


def accounts_domain_for(api_domain: str) -> str:
    """The Accounts server that issues tokens valid at ``api_domain``."""
    tld = data_centre_of(api_domain)
    if tld is None:
        return normalise_api_domain(api_domain)
    return ACCOUNTS_BY_TLD.get(tld, f"https://accounts.zoho.{tld}")
