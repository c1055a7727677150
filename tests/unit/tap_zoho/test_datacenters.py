"""The accounts server of every data centre, derived from the API domain (tap_zoho.api.datacenters)."""

from __future__ import annotations

import pytest
from tap_zoho.api.datacenters import accounts_domain_for


@pytest.mark.parametrize(
    ("api_domain", "accounts"),
    [
        ("https://www.zohoapis.com", "https://accounts.zoho.com"),
        ("https://www.zohoapis.eu/", "https://accounts.zoho.eu"),
        ("www.zohoapis.in", "https://accounts.zoho.in"),
        ("https://www.zohoapis.com.au", "https://accounts.zoho.com.au"),
        ("https://www.zohoapis.jp", "https://accounts.zoho.jp"),
        ("https://www.zohoapis.com.cn", "https://accounts.zoho.com.cn"),
        ("https://www.zohoapis.ca", "https://accounts.zohocloud.ca"),
        ("https://www.zohoapis.sa", "https://accounts.zoho.sa"),
        ("https://sandbox.zohoapis.eu", "https://accounts.zoho.eu"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
    ],
)
def test_accounts_server_is_derived_from_the_api_domain(api_domain, accounts):
    assert accounts_domain_for(api_domain) == accounts
