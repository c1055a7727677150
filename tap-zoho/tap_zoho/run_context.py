"""What the streams of one run share, handed down to each stream when the tap builds it.

One of each per run: the access token (Zoho allows about 10 mints per 10 minutes, 1.4), the gated
session that counts credits and caps concurrent calls (5.1, 5.2), the per-organisation pacing of
Books and Inventory (6.3) and the run summary. A stream asks
:meth:`RunContext.client` for its own :class:`~tap_zoho.api.client.ZohoClient` over those, and
writes SCHEMA messages and reads stream maps through :attr:`RunContext.output`, the tap: nothing
below the tap reaches up to it for a service.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from .api.auth import OAuthClient, ZohoAuthenticator
from .api.client import ClientSettings, Connection, ZohoClient
from .api.credits import CreditBudget, GatedSession
from .api.datacenters import accounts_domain_for, normalise_api_domain
from .api.pacing import Pacer
from .summary import RunSummary

if t.TYPE_CHECKING:
    import logging
    from collections.abc import Mapping

    from singer_sdk.mapper import PluginMapper
    from singer_sdk.singerlib import Message


class MessageOutput(t.Protocol):
    """Where a stream's own messages go, and the stream maps they pass through: the tap."""

    @property
    def mapper(self) -> PluginMapper:
        """The tap's stream maps, rebuilt when a stream's schema grows."""
        ...

    def write_message(self, message: Message) -> None:
        """Write one Singer message in the tap's order (modules side by side included)."""
        ...


class RunContext:
    """The services of one run (module docstring); each is made on first use."""

    def __init__(
        self, config: Mapping[str, t.Any], output: MessageOutput, logger: logging.Logger
    ) -> None:
        """``output`` is the tap; nothing is opened until a stream needs it."""
        self.config = config
        self.output = output
        self.logger = logger
        self.settings = ClientSettings.from_config(config)

    @cached_property
    def authenticator(self) -> ZohoAuthenticator:
        """The one access token of this run."""
        accounts = self.config.get("accounts_domain") or accounts_domain_for(
            self.settings.api_domain
        )
        return ZohoAuthenticator(
            accounts_domain=normalise_api_domain(accounts),
            client=OAuthClient(
                self.config["client_id"], self.config["client_secret"], self.config["refresh_token"]
            ),
            timeout=float(self.config.get("request_timeout", 60)),
            logger=self.logger,
            throttle_max_wait=float(self.config.get("token_throttle_max_wait_seconds", 600)),
        )

    @cached_property
    def credit_budget(self) -> CreditBudget:
        """Credits this run spends, against ``max_api_credits`` / ``min_remaining_credits``."""
        return CreditBudget(
            self.config.get("max_api_credits"), self.config.get("min_remaining_credits")
        )

    @cached_property
    def session(self) -> GatedSession:
        """The one HTTP session of every call: credit budget and concurrency limit."""
        return GatedSession(self.credit_budget, int(self.config.get("max_concurrent_calls", 5)))

    @cached_property
    def pacer(self) -> Pacer:
        """Per-organisation pacing of every Books/Inventory call."""
        return Pacer(int(self.config.get("finance_requests_per_minute", 90)))

    @cached_property
    def summary(self) -> RunSummary:
        """What this run synced and what it skipped."""
        return RunSummary(
            named_modules=frozenset(self.config.get("crm_modules") or []),
            strict=bool(self.config.get("strict_modules", False)),
        )

    @cached_property
    def connection(self) -> Connection:
        """What every client of this run shares."""
        return Connection(self.settings, self.authenticator, self.session, self.pacer)

    def client(self, label: str, logger: logging.Logger, endpoint: str = "") -> ZohoClient:
        """A client for one caller, over this run's session, token and pacing."""
        return ZohoClient(self.connection, label=label, logger=logger, endpoint=endpoint)

    def close(self) -> None:
        """Close the HTTP sessions this run opened (the API's and the token endpoint's)."""
        if "session" in self.__dict__:
            self.session.close()
        if "authenticator" in self.__dict__:
            self.authenticator.close()
