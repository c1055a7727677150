"""JSON Schemas of the CRM reference streams, from the keys ``shared/zoho-api.md`` 2.4 lists.

Every property is nullable: which keys appear varies by edition and version (unconfirmed for the
organisation), and keys the contract does not list are declared from their values when they
first arrive (:mod:`tap_zoho.sdk.shaped`). A type is declared where the contract or Zoho's
examples show the value's form; a key only ever seen null, or seen in contradicting forms, takes
any value as sent. Formats: CRM datetimes (``2024-03-05T09:40:00+05:30``) and ``dob`` (a date).
``exchange_rate`` stays the string Zoho sends (up to 9 + 9 digits, exact). Nested objects keep
unknown keys.
"""

from __future__ import annotations

import typing as t

ID = {"type": ["string"]}  # keys are never null


def _n(kind: str, **extra: t.Any) -> dict[str, t.Any]:
    return {"type": [kind, "null"], **extra}


STRING = _n("string")
DATETIME = _n("string", format="date-time")
BOOLEAN = _n("boolean")
INTEGER = _n("integer")
NUMBER = _n("number")


def _object(**properties: dict[str, t.Any]) -> dict[str, t.Any]:
    return _n("object", properties=properties, additionalProperties=True)


NAMED = _object(id=STRING, name=STRING)  # {id, name}: a user, role, profile, territory ...
OPEN_OBJECT = _n("object", additionalProperties=True)
# Keys whose form nothing shows (only null in every example, or contradicting sources): any JSON
# value, kept as sent (target-clickhouse: a String column).
ANY = {
    "anyOf": [{"type": kind} for kind in ("string", "number", "boolean", "object", "array", "null")]
}


def _schema(keys: list[str], **properties: dict[str, t.Any]) -> dict[str, t.Any]:
    return {
        "type": "object",
        "properties": {**dict.fromkeys(keys, ID), **properties},
        "required": keys,
    }


def _strings(*names: str) -> dict[str, dict[str, t.Any]]:
    return dict.fromkeys(names, STRING)


USERS = _schema(
    ["id"],
    **_strings("full_name", "first_name", "last_name", "email", "alias", "status"),
    role=NAMED,
    profile=NAMED,
    confirm=BOOLEAN,
    **_strings("type__s", "status_reason__s", "zuid"),
    Reporting_To=NAMED,
    created_by=NAMED,
    created_time=DATETIME,
    Modified_By=NAMED,
    Modified_Time=DATETIME,
    **_strings("locale", "language", "country_locale", "time_zone"),
    offset=INTEGER,  # milliseconds
    **_strings("time_format", "date_format", "decimal_separator", "number_separator"),
    **_strings("name_format__s", "sort_order_preference__s"),
    **{"$current_shift": NAMED, "$next_shift": NAMED, "$shift_effective_from": ANY},
    customize_info=OPEN_OBJECT,
    theme=OPEN_OBJECT,
    **_strings("phone", "mobile", "fax", "street", "city", "state", "zip", "country"),
    dob=_n("string", format="date"),
    **_strings("website", "signature", "image_link"),
    microsoft=BOOLEAN,
    sandboxDeveloper=BOOLEAN,
    personal_account=BOOLEAN,
    Isonline=BOOLEAN,
    **_strings("Currency", "default_tab_group"),
    # Keys of the v8 OpenAPI description of a user that the contract does not list.
    **_strings("ezuid", "category", "sort_order_preference"),
    imap_status=BOOLEAN,
    ntc_enabled=BOOLEAN,
    ntc_notification_type=_n("array", items=INTEGER),
    rtl_enabled=BOOLEAN,
    telephony_enabled=BOOLEAN,
)

ROLES = _schema(
    ["id"],
    **_strings("name", "display_label", "api_name", "description"),
    share_with_peers=BOOLEAN,
    forecast_manager=NAMED,
    reporting_to=NAMED,  # the parent role; null for the top role
    created_by__s=NAMED,
    modified_by__s=NAMED,
    created_time__s=DATETIME,
    modified_time__s=DATETIME,
)

_STAMPS = {
    "created_time": DATETIME,
    "created_by": NAMED,
    "modified_time": DATETIME,
    "modified_by": NAMED,
}

PROFILES = _schema(
    ["id"],
    **_strings("name", "display_label", "api_name", "description", "type"),
    custom=BOOLEAN,
    **_STAMPS,
)

TERRITORIES = _schema(
    ["id"],
    **_strings("name", "api_name", "description", "permission_type"),
    manager=_object(id=STRING, name=STRING, zuid=STRING, status=STRING),
    reporting_to=NAMED,  # the parent territory; null for the root
    **_STAMPS,
)

CURRENCIES = _schema(
    ["id"],
    **_strings("name", "iso_code", "symbol", "exchange_rate"),
    is_base=BOOLEAN,
    is_active=BOOLEAN,
    prefix_symbol=BOOLEAN,
    exchange_rate_auto_update=BOOLEAN,
    format=_object(
        numeral_system=STRING,
        decimal_places=STRING,
        decimal_separator=STRING,
        thousand_separator=STRING,
    ),
    **_STAMPS,
    exchange_rate_updated_time=DATETIME,
)

ORG = _schema(
    ["id"],
    **_strings("company_name", "alias", "domain_name", "primary_email", "primary_zuid"),
    **_strings("zgid", "ezgid", "type"),
    created_time=DATETIME,
    **_strings("phone", "mobile", "fax", "website", "employee_count", "description"),
    **_strings("street", "city", "state", "zip", "country", "country_code"),
    **_strings("iso_code", "currency", "currency_symbol", "currency_locale", "time_zone"),
    mc_status=BOOLEAN,
    gapps_enabled=BOOLEAN,
    translation_enabled=BOOLEAN,
    privacy_settings=BOOLEAN,
    hipaa_compliance_enabled=BOOLEAN,
    lite_users_enabled=BOOLEAN,
    deletable_org_account=BOOLEAN,
    **dict.fromkeys(("photo_id", "call_icon", "zia_portal_id", "zia_zgid"), ANY),
    max_per_page=INTEGER,
    oauth_presence=BOOLEAN,
    hierarchy_preferences=_object(type=STRING, strictly_reporting=BOOLEAN),
    license_details=_object(
        paid=BOOLEAN,
        **_strings("paid_type", "paid_expiry", "trial_type", "trial_expiry", "trial_action"),
        users_license_purchased=INTEGER,
        portal_users_license_purchased=INTEGER,
    ),
    checkin_preferences=OPEN_OBJECT,
)

_STAGE = {
    **_strings("display_value", "actual_value"),
    "sequence_number": INTEGER,  # 1-based position in its pipeline
    "forecast_type": STRING,
    "forecast_category": NAMED,
    "colour_code": STRING,
}

PIPELINES = _schema(
    ["layout_id", "id"],
    layout_name=STRING,
    **_strings("display_value", "actual_value"),
    default=BOOLEAN,
    maps=_n("array", items=_object(id=STRING, **_STAGE)),
    child_available=BOOLEAN,  # sub-pipelines (unconfirmed)
    parent=ANY,
)

PIPELINE_STAGES = _schema(
    ["layout_id", "pipeline_id", "id"],
    **_strings("pipeline_display_value", "pipeline_actual_value"),
    **_STAGE,
    probability=NUMBER,  # of the Deals Stage picklist value (2.4: unconfirmed)
)
