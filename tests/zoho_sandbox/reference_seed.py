"""The organisation's reference data (``shared/zoho-api.md`` 2.4), seeded deterministically.

26 users (21 active, 2 of them not confirmed; 3 inactive; 2 deleted), the first six being the
users the records' ``Owner`` / ``Created_By`` / ``Modified_By`` name (same id, name and email, a
deleted one among them); 9 roles four levels deep; 5 profiles plus a Lite profile listed only with
``include_types=Lite``; 8 territories three levels deep under one root; 3 currencies; the
organisation; the Deals layouts and their pipelines of :mod:`.deal_pipelines`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .deal_pipelines import DEALS_LAYOUTS, pipelines_by_layout
from .store import BASE_INSTANT

ORG_ID = "5843104000000016001"
DAY = 86_400
BASE = int(BASE_INSTANT.timestamp())

# ----------------------------------------------------------------------------- organisation
# fmt: off
ROLES = [  # id suffix, name, parent suffix, description
    ("026005", "CEO", None, "Users with this role have access to the data owned by all other users."),
    ("026008", "VP Sales", "026005", "Heads the sales organisation"),
    ("026011", "VP Operations", "026005", None),
    ("026014", "Sales Manager EMEA", "026008", "Europe, Middle East and Africa"),
    ("026017", "Sales Manager APAC", "026008", "Asia Pacific"),
    ("026020", "Support Manager", "026011", None),
    ("026023", "Sales Rep EMEA", "026014", None),
    ("026026", "Sales Rep APAC", "026017", None),
    ("026029", "Support Agent", "026020", "First-line support"),
]
PROFILES = [  # id suffix, name, custom, type, description
    ("015972", "Administrator", False, "normal_profile", "This profile will have all the permissions."),
    ("015975", "Standard", False, "normal_profile", "This profile will have all the permissions except administrative privileges."),
    ("015978", "Sales Rep", True, "normal_profile", "Sales people: their own deals"),
    ("015981", "Support", True, "normal_profile", None),
    ("015984", "Read Only Auditor", True, "normal_profile", "Reads everything, edits nothing"),
    ("015987", "Lite User", False, "lite_profile", "Lite licence"),  # only with include_types=Lite
]
# name, first, last, email, role, profile, status, confirm, reporting-to index, zone, locale
USERS: list[tuple[str, str | None, str, str, str, str, str, bool, int | None, str, str]] = [
    ("Ana Silva", "Ana", "Silva", "ana@example.org", "026005", "015972", "active", True, None, "Europe/Lisbon", "pt_PT"),
    ("Bo Chen", "Bo", "Chen", "bo@example.org", "026008", "015975", "active", True, 0, "Asia/Singapore", "en_SG"),
    ("Мария Петрова", "Мария", "Петрова", "maria@example.org", "026014", "015978", "active", True, 1, "Europe/Berlin", "ru_RU"),
    ("O'Brien, Seán", "Seán", "O'Brien", "sean@example.org", "026023", "015978", "active", True, 2, "Europe/Dublin", "en_GB"),
    ("Kenji Watanabe", "Kenji", "Watanabe", "kenji@example.org", "026026", "015978", "inactive", True, 1, "Asia/Tokyo", "ja_JP"),
    ("Priya Raman", "Priya", "Raman", "priya@example.org", "026026", "015978", "deleted", True, 1, "Asia/Kolkata", "en_IN"),
    ("Zoë Ünal", "Zoë", "Ünal", "zoe@example.org", "026011", "015975", "active", True, 0, "Europe/Istanbul", "tr_TR"),
    ("José Núñez", "José", "Núñez", "jose@example.org", "026020", "015981", "active", True, 6, "America/Mexico_City", "es_MX"),
    ("李伟", None, "李伟", "li.wei@example.org", "026017", "015978", "active", True, 1, "Asia/Shanghai", "zh_CN"),
    ("Amara Okafor", "Amara", "Okafor", "amara@example.org", "026023", "015978", "active", True, 2, "Africa/Lagos", "en_NG"),
    ("Lars Østergaard", "Lars", "Østergaard", "lars@example.org", "026023", "015978", "active", True, 2, "Europe/Copenhagen", "da_DK"),
    ("Fatima Al-Sayed", "Fatima", "Al-Sayed", "fatima@example.org", "026023", "015978", "active", False, 2, "Asia/Dubai", "ar_AE"),
    ("Tom Becker", "Tom", "Becker", "tom@example.org", "026026", "015978", "active", True, 8, "Australia/Sydney", "en_AU"),
    ("Nguyễn Thị Lan", "Lan", "Nguyễn Thị", "lan@example.org", "026026", "015978", "active", True, 8, "Asia/Ho_Chi_Minh", "vi_VN"),
    ("Sofia Rossi", "Sofia", "Rossi", "sofia@example.org", "026029", "015981", "active", True, 7, "Europe/Rome", "it_IT"),
    ("Ahmed Hassan", "Ahmed", "Hassan", "ahmed@example.org", "026029", "015981", "active", True, 7, "Africa/Cairo", "ar_EG"),
    ("Emma Wilson", "Emma", "Wilson", "emma@example.org", "026029", "015981", "active", False, 7, "Europe/London", "en_GB"),
    ("Raj Patel", "Raj", "Patel", "raj@example.org", "026026", "015987", "active", True, 8, "Asia/Kolkata", "en_IN"),
    ("Chloé Martin", "Chloé", "Martin", "chloe@example.org", "026014", "015984", "active", True, 1, "Europe/Paris", "fr_FR"),
    ("Hans Müller", "Hans", "Müller", "hans@example.org", "026023", "015978", "active", True, 2, "Europe/Zurich", "de_CH"),
    ("Olga Ivanova", "Olga", "Ivanova", "olga@example.org", "026023", "015978", "active", True, 2, "Europe/Moscow", "ru_RU"),
    ("Pedro Alves", "Pedro", "Alves", "pedro@example.org", "026029", "015981", "active", True, 7, "America/Sao_Paulo", "pt_BR"),
    ("Yuki Tanaka", "Yuki", "Tanaka", "yuki@example.org", "026026", "015978", "active", True, 8, "Asia/Tokyo", "ja_JP"),
    ("Grace Kim", "Grace", "Kim", "grace@example.org", "026029", "015981", "inactive", True, 7, "Asia/Seoul", "ko_KR"),
    ("Diego Fernández", "Diego", "Fernández", "diego@example.org", "026023", "015978", "inactive", True, 2, "Europe/Madrid", "es_ES"),
    ("Ingrid Berg", "Ingrid", "Berg", "ingrid@example.org", "026023", "015978", "deleted", False, 2, "Europe/Oslo", "nb_NO"),
]
# fmt: on
RECORD_USERS = 6  # the first six users are the ones records name (seed.USERS)
# fmt: off
TERRITORIES = [  # id suffix, name, parent suffix, manager (user index), permission type
    ("092001", "Global", None, 0, "read_write_delete"),
    ("092002", "EMEA", "092001", 2, "read_write_delete"),
    ("092003", "APAC", "092001", 8, "read_write_delete"),
    ("092004", "Americas", "092001", None, "read_only"),
    ("092005", "UK & Ireland", "092002", 3, "read_write_delete"),
    ("092006", "DACH", "092002", 19, "read_only"),
    ("092007", "India", "092003", 17, "read_write_delete"),
    ("092008", "Japan", "092003", 22, "read_write_delete"),
]
CURRENCIES = [  # id, name, iso, symbol, rate, base, numeral system
    ("5843104000000038990", "Indian Rupee - INR", "INR", "₹", "1.000000000", True, "Indian"),
    ("5843104000000038993", "US Dollar - USD", "USD", "$", "0.012000000", False, "International"),
    ("5843104000000038996", "Euro - EUR", "EUR", "€", "0.011100000", False, "International"),
]
# fmt: on


def uid(index: int) -> str:
    """The id of the ``index``-th user."""
    return str(5843104000000231001 + index)


def record_users() -> list[dict[str, str]]:
    """``{name, id, email}`` of the users records name as owner, creator, modifier."""
    return [{"name": u[0], "id": uid(n), "email": u[3]} for n, u in enumerate(USERS[:RECORD_USERS])]


def _ref(suffix: str | None, names: dict[str, str]) -> dict[str, str] | None:
    if suffix is None:
        return None
    return {"name": names[suffix], "id": f"5843104000000{suffix}"}


def _user_ref(index: int | None) -> dict[str, str] | None:
    return None if index is None else {"name": USERS[index][0], "id": uid(index)}


@dataclass
class ReferenceWorld:
    """Every reference entity in its wire form, plus the instants the filters compare."""

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_modified: dict[str, int] = field(default_factory=dict)
    roles: list[dict[str, Any]] = field(default_factory=list)
    profiles: list[dict[str, Any]] = field(default_factory=list)
    territories: list[dict[str, Any]] = field(default_factory=list)
    currencies: list[dict[str, Any]] = field(default_factory=list)
    org: dict[str, Any] = field(default_factory=dict)
    layouts: list[dict[str, Any]] = field(default_factory=list)
    pipelines: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by layout id


def _user(n: int, dt: Callable[[int], str]) -> dict[str, Any]:
    name, first, last, email, role, profile, status, confirm, boss, zone, locale = USERS[n]
    roles = {r[0]: r[1] for r in ROLES}
    profiles = {p[0]: p[1] for p in PROFILES}
    admin = _user_ref(0)
    created = BASE - (400 - n * 7) * DAY
    return {
        "id": uid(n),
        "full_name": name,
        "first_name": first,
        "last_name": last,
        "email": email,
        "alias": first.lower() if first else None,
        "role": _ref(role, roles),
        "profile": _ref(profile, profiles),
        "status": status,
        "confirm": confirm,
        "type__s": "Lite User" if profile == "015987" else "Regular User",
        "status_reason__s": {"inactive": "Deactivated", "deleted": "Deleted"}.get(status),
        "zuid": str(60012000 + n),
        "Reporting_To": _user_ref(boss),
        "created_by": admin,
        "created_time": dt(created),
        "Modified_By": admin,
        "Modified_Time": dt(created + (n % 5 + 1) * 30 * DAY),
        "locale": locale,
        "language": locale.split("_")[0],
        "country_locale": locale,
        "time_zone": zone,
        "offset": 0 if zone.startswith("Europe/L") else 3_600_000 * (n % 9),
        "time_format": "HH:mm",
        "date_format": "dd/MM/yyyy" if n % 2 else "MM/dd/yyyy",
        "decimal_separator": "Period" if n % 3 else "Comma",
        "number_separator": "Comma",
        "name_format__s": "Salutation,First Name,Last Name",
        "sort_order_preference__s": "First Name,Last Name",
        "$current_shift": {"id": "5843104000000301001", "name": "Day shift"}
        if n % 4 == 1
        else None,
        "$next_shift": None,
        "$shift_effective_from": None,
        "customize_info": {
            "notes_desc": None,
            "show_right_panel": None,
            "bc_view": None,
            "show_home": False,
            "show_detail_view": True,
            "unpin_recent_item": None,
        },
        "theme": {
            "normal_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "selected_tab": {"font_color": "#FFFFFF", "background": "#222222"},
            "new_background": None,
            "background": "#F3F0EB",
            "screen": "fixed",
            "type": "default",
        },
        "phone": f"+44 20 7946 {n:04d}" if n % 3 else None,
        "mobile": f"+91 98450 {n:05d}" if n % 2 else None,
        "fax": None,
        "street": f"{n + 1} Harbour Road" if n % 4 == 0 else None,
        "city": zone.split("/")[-1].replace("_", " "),
        "state": None,
        "zip": None,
        "country": locale.split("_")[1],
        "dob": f"19{70 + n}-0{1 + n % 9}-1{n % 9}" if n % 5 == 0 else None,
        "website": None,
        "signature": f"<div>{name}</div>" if n < RECORD_USERS else None,
        "image_link": f"https://profile.zoho.com/file?ID={60012000 + n}&fs=thumb",
        "microsoft": False,
        "sandboxDeveloper": False,
        "personal_account": False,
        "Isonline": n % 3 == 0 and status == "active",
        "Currency": "INR",
        "default_tab_group": "0",
    }


def _stamps(n: int, dt: Callable[[int], str], *, system: bool = False) -> dict[str, Any]:
    if system:
        return {
            "created_time": None,
            "created_by": None,
            "modified_time": None,
            "modified_by": None,
        }
    admin = _user_ref(0)
    return {
        "created_time": dt(BASE - (300 - n) * DAY),
        "created_by": admin,
        "modified_time": dt(BASE - (200 - n) * DAY),
        "modified_by": admin,
    }


def _roles(dt: Callable[[int], str]) -> list[dict[str, Any]]:
    names = {r[0]: r[1] for r in ROLES}
    out = []
    for n, (suffix, name, parent, description) in enumerate(ROLES):
        stamps = _stamps(n, dt, system=parent is None)
        out.append(
            {
                "id": f"5843104000000{suffix}",
                "name": name,
                "display_label": name,
                "api_name": name.replace(" ", "_"),
                "description": description,
                "share_with_peers": n % 3 != 2,
                "forecast_manager": _user_ref(1) if suffix == "026008" else None,
                "reporting_to": _ref(parent, names),
                "created_by__s": stamps["created_by"],
                "modified_by__s": stamps["modified_by"],
                "created_time__s": stamps["created_time"],
                "modified_time__s": stamps["modified_time"],
            }
        )
    return out


def _profiles(dt: Callable[[int], str]) -> list[dict[str, Any]]:
    return [
        {
            "id": f"5843104000000{suffix}",
            "name": name,
            "display_label": name,
            "api_name": name.replace(" ", "_"),
            "description": description,
            "custom": custom,
            "type": kind,
            **_stamps(n, dt, system=not custom),
        }
        for n, (suffix, name, custom, kind, description) in enumerate(PROFILES)
    ]


def _territories(dt: Callable[[int], str]) -> list[dict[str, Any]]:
    names = {t[0]: t[1] for t in TERRITORIES}
    return [
        {
            "id": f"5843104000000{suffix}",
            "name": name,
            "api_name": name.replace(" & ", "_").replace(" ", "_"),
            "description": f"Accounts and deals of {name}" if n % 2 else None,
            "permission_type": permission,
            "manager": _user_ref(manager),
            "reporting_to": _ref(parent, names),
            **_stamps(n, dt),
        }
        for n, (suffix, name, parent, manager, permission) in enumerate(TERRITORIES)
    ]


def _currencies(dt: Callable[[int], str]) -> list[dict[str, Any]]:
    out = []
    for n, (cid, name, iso, symbol, rate, base, numerals) in enumerate(CURRENCIES):
        stamps = _stamps(n, dt)
        out.append(
            {
                "id": cid,
                "name": name,
                "iso_code": iso,
                "symbol": symbol,
                "exchange_rate": rate,
                "is_base": base,
                "is_active": True,
                "prefix_symbol": True,
                "exchange_rate_auto_update": not base,
                "format": {
                    "numeral_system": numerals,
                    "decimal_places": "2",
                    "decimal_separator": "Period",
                    "thousand_separator": "Comma",
                },
                **stamps,
                "exchange_rate_updated_time": None if base else stamps["modified_time"],
            }
        )
    return out


def _org(dt: Callable[[int], str]) -> dict[str, Any]:
    return {
        "id": ORG_ID,
        "company_name": "Harbour Trading Ltd.",
        "alias": "harbour",
        "domain_name": "org60012000",
        "primary_email": "ana@example.org",
        "primary_zuid": "60012000",
        "zgid": "60012001",
        "ezgid": "a1b2c3d4e5f60718",
        "type": "production",
        "created_time": dt(BASE - 500 * DAY),
        "phone": "+91 80 4000 1234",
        "mobile": None,
        "fax": None,
        "website": "https://harbour.example.org",
        "employee_count": "250",
        "description": None,
        "street": "12 Residency Road",
        "city": "Bengaluru",
        "state": "Karnataka",
        "zip": "560025",
        "country": "India",
        "country_code": "IN",
        "iso_code": "INR",
        "currency": "Indian Rupee - INR",
        "currency_symbol": "₹",
        "currency_locale": "en_IN",
        "time_zone": "Asia/Kolkata",
        "mc_status": True,
        "gapps_enabled": False,
        "translation_enabled": True,
        "privacy_settings": True,
        "hipaa_compliance_enabled": False,
        "lite_users_enabled": True,
        "deletable_org_account": False,
        "photo_id": None,
        "max_per_page": 200,
        "call_icon": None,
        "oauth_presence": True,
        "zia_portal_id": None,
        "zia_zgid": None,
        "hierarchy_preferences": {"type": "Role_Hierarchy", "strictly_reporting": False},
        "license_details": {
            "paid": True,
            "paid_type": "enterprise",
            "paid_expiry": dt(BASE + 200 * DAY),
            "trial_type": None,
            "trial_expiry": None,
            "trial_action": None,
            "users_license_purchased": 30,
            "portal_users_license_purchased": 0,
        },
        "checkin_preferences": {"location_mandatory": False},
    }


def _layout(n: int, lid: str, name: str, status: str, dt: Callable[[int], str]) -> dict[str, Any]:
    profiles = [
        {"name": p[1], "id": f"5843104000000{p[0]}", "default": n == 0} for p in PROFILES[:2]
    ]
    return {
        "id": lid,
        "name": name,
        "api_name": name.replace(" ", "_"),
        "display_label": name,
        "status": status,
        "visible": status == "active",
        "source": "crm",
        "generated_type": "default" if n == 0 else "custom",
        "show_business_card": False,
        "profiles": profiles,
        "sections": [
            {
                "display_label": "Deal Information",
                "api_name": "Deal_Information",
                "sequence_number": 1,
                "fields": [
                    {"api_name": "Deal_Name", "id": "5843104000000002557"},
                    {"api_name": "Stage", "id": "5843104000000002565"},
                    {"api_name": "Pipeline", "id": "5843104000000002567"},
                ],
            },
        ],
        **_stamps(n, dt),
        "convert_mapping": {},
        "actions_allowed": {
            "edit": True,
            "rename": True,
            "clone": True,
            "downgrade": n > 0,
            "delete": n > 0,
            "deactivate": n > 0,
            "set_layout_permissions": True,
        },
        "has_more_profiles": False,
        "created_for": None,
    }


def seed_reference(dt: Callable[[int], str], epoch_of: Callable[[str], int]) -> ReferenceWorld:
    """The reference world, datetimes rendered by ``dt`` (the API user's zone)."""
    world = ReferenceWorld()
    for n in range(len(USERS)):
        user = _user(n, dt)
        world.users[user["id"]] = user
        world.user_modified[user["id"]] = epoch_of(user["Modified_Time"])
    world.roles = _roles(dt)
    world.profiles = _profiles(dt)
    world.territories = _territories(dt)
    world.currencies = _currencies(dt)
    world.org = _org(dt)
    world.layouts = [_layout(n, *spec, dt) for n, spec in enumerate(DEALS_LAYOUTS)]
    world.pipelines = pipelines_by_layout()
    return world
