"""A signed-in HTTP session on a running sandbox, for the tests of the sandbox itself."""

from __future__ import annotations

from typing import Any, NamedTuple

import requests

from tests.zoho_sandbox import CLIENT_ID, CLIENT_SECRET, REFRESH_TOKEN, Sandbox


def mint(sandbox: Sandbox, **overrides: str) -> requests.Response:
    """Ask the sandbox's Accounts for an access token (the form fields can be overridden)."""
    form = {
        "grant_type": "refresh_token",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "refresh_token": REFRESH_TOKEN,
        **overrides,
    }
    return requests.post(f"{sandbox.base_url}/oauth/v2/token", data=form, timeout=5)


class SandboxApi(NamedTuple):
    """A running sandbox and a session carrying one access token of it."""

    sandbox: Sandbox
    session: requests.Session

    @classmethod
    def signed_in(cls, sandbox: Sandbox) -> SandboxApi:
        """A session on the started ``sandbox`` with a freshly minted access token."""
        session = requests.Session()
        session.headers["Authorization"] = f"Zoho-oauthtoken {mint(sandbox).json()['access_token']}"
        return cls(sandbox, session)

    def get(self, path: str, **params: Any) -> requests.Response:
        """GET ``path`` (from the root: ``/crm/v8/Leads``) with query parameters."""
        headers = params.pop("headers", {})
        return self.session.get(
            f"{self.sandbox.base_url}{path}", params=params, headers=headers, timeout=10
        )
