"""Roles, profiles, territories, currencies and the organisation: one listing each, every run.

Zoho offers no modified-time filter for these (``shared/zoho-api.md`` 2.4), so each run lists the
entity whole: one call (profiles and territories: one per page, at Zoho's largest page). A role,
profile or territory removed in Zoho is simply no longer listed.
"""

from __future__ import annotations

import typing as t

from . import schema
from .base import CRM, Endpoint, ReferenceStream

ROLES = Endpoint(f"{CRM}/settings/roles", "roles", "ZohoCRM.settings.roles.READ", "roles")
PROFILES = Endpoint(
    f"{CRM}/settings/profiles",
    "profiles",
    "ZohoCRM.settings.profiles.READ",
    "profiles",
    max_per_page=200,
)
TERRITORIES = Endpoint(
    f"{CRM}/settings/territories",
    "territories",
    "ZohoCRM.settings.territories.READ",
    "territories",
    max_per_page=2000,
    enable=(
        "Territory Management is off in this Zoho CRM organisation (Enterprise edition and "
        "above); turn it on under Setup > Users and Control > Territory Management to read "
        "territories"
    ),
)
CURRENCIES = Endpoint(
    f"{CRM}/org/currencies",
    "currencies",
    "ZohoCRM.settings.currencies.READ",  # a settings scope, not org (2.4)
    "currencies",
    enable=(
        "multi-currency is off in this Zoho CRM organisation; turn it on under Setup > Company "
        "Details > Currencies to read currencies (the home currency is the organisation's "
        "iso_code)"
    ),
)
ORG = Endpoint(f"{CRM}/org", "org", "ZohoCRM.org.READ", "the organisation")


class RolesStream(ReferenceStream):
    """Roles; the hierarchy is the ``reporting_to`` chain (null at the top role)."""

    entity = "roles"
    endpoint = ROLES
    declared_schema = schema.ROLES


class ProfilesStream(ReferenceStream):
    """Profiles: the default listing (Administrator, Standard, custom) plus Lite and Support."""

    entity = "profiles"
    endpoint = PROFILES
    declared_schema = schema.PROFILES
    optional_params: t.ClassVar[dict[str, str]] = {"include_types": "Lite,Support"}


class TerritoriesStream(ReferenceStream):
    """Territories; the hierarchy is the ``reporting_to`` chain (null at the root)."""

    entity = "territories"
    endpoint = TERRITORIES
    declared_schema = schema.TERRITORIES
    optional_params: t.ClassVar[dict[str, str]] = {
        "include_inner_details": "manager.zuid,manager.status"
    }


class CurrenciesStream(ReferenceStream):
    """Currencies: the home currency has ``is_base``; ``exchange_rate`` relative to it."""

    entity = "currencies"
    endpoint = CURRENCIES
    declared_schema = schema.CURRENCIES


class OrgStream(ReferenceStream):
    """The organisation: one record (``{"org": [one]}``)."""

    entity = "org"
    endpoint = ORG
    declared_schema = schema.ORG
