"""The organisation's reference data endpoints (``shared/zoho-api.md`` 2.4), as strict as Zoho.

Users (``type``, paging, ``ids``, ``If-Modified-Since``), roles, profiles (``type``,
``include_types``, paging), territories (paging up to 2,000, ``ids``, ``include_inner_details``),
currencies, the organisation, layouts and the Deals pipelines. Every endpoint answers 401
``OAUTH_SCOPE_MISMATCH`` without its scope; territory management and multi-currency can be off
(400 ``FEATURE_NOT_ENABLED``, 403 ``CURRENCIES_NOT_ENABLED``); the API user's profile can be
refused an entity (403 ``NO_PERMISSION``, roles 400 ``AUTHORIZATION_FAILED``). A call answered
below 400 costs one credit and is counted under its kind (``crm_users``, ``crm_roles``, ...); an
error costs nothing and is counted under its code.

Where the contract marks a point unconfirmed, :class:`ReferenceOptions` selects the reading; the
defaults are the stricter ones.
"""

from __future__ import annotations

import copy
import threading
from typing import TYPE_CHECKING, Any

from .deal_pipelines import pipelines_of, stage_picklist
from .oauth import has_scope
from .reference_options import ReferenceOptions
from .reference_seed import ReferenceWorld, seed_reference
from .store import epoch_of

if TYPE_CHECKING:
    from .oauth import AccessToken
    from .store import CrmStore

CRM = "/crm/v8/"
Answer = tuple[int, Any, dict[str, str], str]
# Endpoint -> (path under /crm/v8, kind, scope)
ENDPOINTS = {
    "users": ("users", "crm_users", "ZohoCRM.users.READ"),
    "roles": ("settings/roles", "crm_roles", "ZohoCRM.settings.roles.READ"),
    "profiles": ("settings/profiles", "crm_profiles", "ZohoCRM.settings.profiles.READ"),
    "territories": ("settings/territories", "crm_territories", "ZohoCRM.settings.territories.READ"),
    "currencies": ("org/currencies", "crm_currencies", "ZohoCRM.settings.currencies.READ"),
    "org": ("org", "crm_org", "ZohoCRM.org.READ"),
    "layouts": ("settings/layouts", "crm_layouts", "ZohoCRM.settings.layouts.READ"),
    "pipeline": ("settings/pipeline", "crm_pipelines", "ZohoCRM.settings.pipeline.READ"),
}
BY_PATH = {path: name for name, (path, _, _) in ENDPOINTS.items()}
UMBRELLA = "ZohoCRM.settings.READ"
API_USER = "5843104000000231001"  # whose token the sandbox issues (``type=CurrentUser``)
ADMIN_PROFILE = "5843104000000015972"
USER_TYPES = {
    "AllUsers": lambda u: u["status"] != "deleted",  # see ReferenceOptions
    "ActiveUsers": lambda u: u["status"] == "active",
    "DeactiveUsers": lambda u: u["status"] == "inactive",
    "ConfirmedUsers": lambda u: u["confirm"] and u["status"] != "deleted",
    "NotConfirmedUsers": lambda u: not u["confirm"] and u["status"] != "deleted",
    "DeletedUsers": lambda u: u["status"] == "deleted",
    "ActiveConfirmedUsers": lambda u: u["status"] == "active" and u["confirm"],
    "AdminUsers": lambda u: u["profile"]["id"] == ADMIN_PROFILE and u["status"] != "deleted",
    "ActiveConfirmedAdmins": lambda u: (
        u["profile"]["id"] == ADMIN_PROFILE and u["status"] == "active" and u["confirm"]
    ),
    "CurrentUser": lambda u: u["id"] == API_USER,
    "AllActiveUsers": lambda u: u["status"] == "active",
    "ActiveAndDeactive": lambda u: u["status"] in {"active", "inactive"},
}
PROFILE_TYPES = {"private_profile", "normal_profile", "portal_profile"}
INCLUDE_TYPES = {"Lite": "lite_profile", "Support": "support_profile"}
INNER_DETAILS = {"manager.zuid", "manager.status"}
REFUSALS = {
    "roles": (400, "AUTHORIZATION_FAILED", "User does not have sufficient privilege to read roles"),
    "profiles": (403, "NO_PERMISSION", "permission denied"),
}
PERMISSIONS = {"profiles": "Crm_Implied_Manage_Profiles", "users": "Crm_Implied_Manage_Users"}


class RefError(Exception):
    """A Zoho error answer."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None) -> None:
        super().__init__(code)
        self.status = status
        self.body = {"code": code, "details": details or {}, "message": message, "status": "error"}


def _invalid(param: str, message: str = "invalid data") -> RefError:
    return RefError(400, "INVALID_DATA", message, {"param_name": param})


def _int(query: dict[str, str], name: str, default: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not raw.isdigit() or not 1 <= int(raw) <= high:
        raise RefError(
            400, "INVALID_DATA", "invalid data", {"param_name": name, "minimum": 1, "maximum": high}
        )
    return int(raw)


def _page(rows: list[Any], query: dict[str, str], max_per_page: int) -> tuple[list[Any], dict]:
    """One page of ``rows`` and its ``info``; an empty page is the caller's 204."""
    per_page = _int(query, "per_page", 200, max_per_page)
    page = _int(query, "page", 1, 10**9)
    chunk = rows[(page - 1) * per_page : page * per_page]
    more = page * per_page < len(rows)
    return chunk, {"per_page": per_page, "count": len(chunk), "page": page, "more_records": more}


def _ids(query: dict[str, str]) -> set[str] | None:
    raw = query.get("ids")
    if raw is None:
        return None
    ids = {i for i in raw.split(",") if i}
    if len(ids) > 100:
        raise RefError(400, "LIMIT_EXCEEDED", "limit exceeded", {"limit": 100, "param_name": "ids"})
    return ids


class Reference:
    """The 2.4 endpoints over a seeded :class:`ReferenceWorld` (an ``extra_routes`` entry)."""

    def __init__(self, store: CrmStore, options: ReferenceOptions | None = None) -> None:
        self.store = store
        self.options = options or ReferenceOptions()
        self.world: ReferenceWorld = seed_reference(store.dt, epoch_of)
        self.calls: list[tuple[str, dict[str, str], str | None]] = []  # path, query, IMS header
        self.lock = threading.Lock()

    # ------------------------------------------------------------------ routing
    def handles(self, path: str) -> bool:
        """True for the 2.4 endpoints and their single-entity forms."""
        return self._endpoint(path) is not None

    @staticmethod
    def _endpoint(path: str) -> tuple[str, str | None] | None:
        if not path.startswith(CRM):
            return None
        rest = path[len(CRM) :].strip("/")
        if rest in BY_PATH:
            return BY_PATH[rest], None
        head, _, tail = rest.rpartition("/")
        if head in BY_PATH and head != "org" and tail:
            return BY_PATH[head], tail
        return None

    def credits(self, status: int) -> int:
        """One credit for a call answered below 400 (unconfirmed, 5.1); errors are free."""
        return 1 if status < 400 else 0

    def serve(
        self, method: str, path: str, query: dict[str, str], headers: Any, access: AccessToken
    ) -> Answer:
        """Answer one call: (status, body, headers, kind for the counters)."""
        endpoint, single = self._endpoint(path) or ("", None)
        _, kind, scope = ENDPOINTS[endpoint]
        since = headers.get("If-Modified-Since")
        with self.lock:
            self.calls.append((path, dict(query), since))
        try:
            self._check_method(method)
            self._check_scope(endpoint, scope, access)
            self._check_feature(endpoint)
            self._check_permission(endpoint)
            refused = sorted(self.options.refused_params & set(query))
            if refused:
                raise _invalid(refused[0])
            with self.store.lock:
                status, body = getattr(self, f"_{endpoint}")(single, query, since)
        except RefError as err:
            return err.status, err.body, {}, err.body["code"]
        return status, copy.deepcopy(body), {}, kind

    @staticmethod
    def _check_method(method: str) -> None:
        if method != "GET":
            raise RefError(
                400, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one"
            )

    def _check_scope(self, endpoint: str, scope: str, access: AccessToken) -> None:
        candidates = [scope]
        if endpoint not in {"users", "org", "pipeline"}:
            candidates.append(UMBRELLA)
        if endpoint == "pipeline" and self.options.settings_read_grants_pipeline:
            candidates.append(UMBRELLA)
        if not has_scope(access.scopes, *candidates):
            raise RefError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")

    def _check_feature(self, endpoint: str) -> None:
        if endpoint == "territories" and not self.options.territories_enabled:
            raise RefError(400, "FEATURE_NOT_ENABLED", "Territory Management is not enabled")
        if endpoint == "currencies" and not self.options.multi_currency:
            raise RefError(403, "CURRENCIES_NOT_ENABLED", "Multi currency is not enabled")

    def _check_permission(self, endpoint: str) -> None:
        if endpoint not in self.options.refused:
            return
        status, code, message = REFUSALS.get(endpoint, (403, "NO_PERMISSION", "permission denied"))
        permission = PERMISSIONS.get(endpoint, "Crm_Implied_View_Setup")
        details = {"permissions": [permission]} if code == "NO_PERMISSION" else {}
        raise RefError(status, code, message, details)

    # ------------------------------------------------------------------ users
    def _users(
        self, single: str | None, query: dict[str, str], since: str | None
    ) -> tuple[int, Any]:
        users = self.world.users
        if single is not None:
            if single not in users:
                raise RefError(
                    400,
                    "INVALID_DATA",
                    "the id given seems to be invalid",
                    {"resource_path_index": 0},
                )
            return 200, {"users": [users[single]]}
        kind = query.get("type", "AllUsers")
        if kind not in USER_TYPES:
            raise _invalid("type")
        wanted = USER_TYPES[kind]
        everyone = kind == "AllUsers" and self.options.all_users_include_deleted
        ids = _ids(query)
        after = self._since(since)
        rows = [
            u
            for u in users.values()
            if (everyone or wanted(u))
            and (ids is None or u["id"] in ids)
            and (after is None or self._newer(self.world.user_modified[u["id"]], after))
        ]
        if self.options.users_newest_first:
            rows.sort(key=lambda u: (-self.world.user_modified[u["id"]], int(u["id"])))
        else:
            rows.sort(key=lambda u: int(u["id"]))
        chunk, info = _page(rows, query, 200)
        if not chunk:
            first = info["page"] == 1
            return (
                self.options.users_not_modified_status if after is not None and first else 204
            ), None
        return 200, {"users": chunk, "info": info}

    def _newer(self, modified: int, after: int) -> bool:
        return (
            modified >= after if self.options.users_modified_since_inclusive else modified > after
        )

    @staticmethod
    def _since(raw: str | None) -> int | None:
        if raw is None:
            return None
        try:
            return epoch_of(raw)
        except ValueError:
            raise RefError(
                400,
                "INVALID_DATA",
                "invalid If-Modified-Since",
                {"header_name": "If-Modified-Since"},
            ) from None

    # ------------------------------------------------------------------ settings
    def _single(self, rows: list[dict[str, Any]], single: str, key: str) -> tuple[int, Any]:
        found = [r for r in rows if r["id"] == single]
        if not found:
            raise RefError(
                400, "INVALID_DATA", "the id given seems to be invalid", {"resource_path_index": 0}
            )
        return 200, {key: found}

    def _roles(
        self, single: str | None, query: dict[str, str], since: str | None
    ) -> tuple[int, Any]:
        if single is not None:
            return self._single(self.world.roles, single, "roles")
        return 200, {"roles": self.world.roles}

    def _profiles(
        self, single: str | None, query: dict[str, str], since: str | None
    ) -> tuple[int, Any]:
        if single is not None:
            return self._single(self.world.profiles, single, "profiles")
        kind = query.get("type")
        if kind is not None and kind not in PROFILE_TYPES:
            raise _invalid("type")
        extra = set()
        for name in (query.get("include_types") or "").split(","):
            if name and name not in INCLUDE_TYPES:
                raise _invalid("include_types")
            if name:
                extra.add(INCLUDE_TYPES[name])
        rows = [
            p
            for p in self.world.profiles
            if (
                p["type"] == kind
                if kind
                else p["type"] not in INCLUDE_TYPES.values() or p["type"] in extra
            )
        ]
        chunk, info = _page(rows, query, 200)
        if not chunk:
            return 204, None
        info["license_limit"] = {"limit": 30, "consumed": len(self.world.users)}
        return 200, {"profiles": chunk, "info": info}

    def _territories(
        self, single: str | None, query: dict[str, str], since: str | None
    ) -> tuple[int, Any]:
        details = {d for d in (query.get("include_inner_details") or "").split(",") if d}
        if details - INNER_DETAILS:
            raise _invalid("include_inner_details")
        rows = copy.deepcopy(self.world.territories)
        for row in rows:
            manager = row["manager"]
            user = self.world.users.get(manager["id"]) if manager else None
            if manager and user and "manager.zuid" in details:
                manager["zuid"] = user["zuid"]
            if manager and user and "manager.status" in details:
                manager["status"] = user["status"]
        if single is not None:
            return self._single(rows, single, "territories")
        ids = _ids(query)
        rows = [r for r in rows if ids is None or r["id"] in ids]
        chunk, info = _page(rows, query, 2000)
        if not chunk:
            return 204, None
        return 200, {"territories": chunk, "info": info}

    def _currencies(
        self, single: str | None, query: dict[str, str], since: str | None
    ) -> tuple[int, Any]:
        if single is not None:
            return self._single(self.world.currencies, single, "currencies")
        if not self.world.currencies:
            return 204, None
        return 200, {"currencies": self.world.currencies}

    def _org(self, single: str | None, query: dict[str, str], since: str | None) -> tuple[int, Any]:
        return 200, {"org": [{**self.world.org, "mc_status": self.options.multi_currency}]}

    def _layouts(
        self, single: str | None, query: dict[str, str], since: str | None
    ) -> tuple[int, Any]:
        module = query.get("module")
        if not module:
            raise RefError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "module"},
            )
        if module == "Deals":
            layouts = self.world.layouts
        elif module in self.store.modules:
            layouts = [self._standard_layout(module)]
        else:
            raise RefError(
                400,
                "INVALID_MODULE",
                "the module name given seems to be invalid",
                {"param_name": "module"},
            )
        if single is not None:
            return self._single(layouts, single, "layouts")
        return 200, {"layouts": layouts}

    def _standard_layout(self, module: str) -> dict[str, Any]:
        module_id = self.store.modules[module].module_id
        return {
            **self.world.layouts[0],
            "id": f"{module_id[:12]}9{module_id[13:]}",
            "name": "Standard",
        }

    def _pipeline(
        self, single: str | None, query: dict[str, str], since: str | None
    ) -> tuple[int, Any]:
        layout = query.get("layout_id")
        if not layout:
            raise RefError(
                400,
                "REQUIRED_PARAM_MISSING",
                "One of the expected parameter is missing",
                {"param_name": "layout_id"},
            )
        if layout not in {lay["id"] for lay in self.world.layouts}:
            raise _invalid("layout_id", "Invalid layoutid")  # unknown, or another module's layout
        pipelines = pipelines_of(
            self.world.pipelines,
            layout,
            shared=self.options.shared_pipeline,
            sub=self.options.sub_pipelines,
        )
        if single is not None:
            pipelines = [p for p in pipelines if p["id"] == single]
        if not pipelines:
            return 204, None
        return 200, {"pipeline": pipelines}

    # ------------------------------------------------------------------ edits
    def set_stage_probabilities(self, *, on: bool) -> None:
        """Whether the Deals ``Stage`` picklist carries probabilities (unconfirmed, 2.4)."""
        module = self.store.modules.get("Deals")
        for meta in module.fields if module else []:
            if meta.api_name == "Stage":
                meta.extra["pick_list_values"] = stage_picklist(probabilities=on)

    def update_user(self, user_id: str, changes: dict[str, Any]) -> None:
        """Change a user; its ``Modified_Time`` moves to the clock's next second."""
        with self.store.lock:
            user = self.world.users[user_id]
            epoch = self.store.clock.advance()
            user.update(changes)
            user["Modified_Time"] = self.store.dt(epoch)
            self.world.user_modified[user_id] = epoch

    def delete_user(self, user_id: str) -> None:
        """Delete a user: ``status`` becomes ``deleted`` (``Modified_Time`` only moves if told)."""
        if self.options.deletion_touches_user:
            self.update_user(user_id, {"status": "deleted"})
            return
        with self.store.lock:
            self.world.users[user_id]["status"] = "deleted"

    def remove(self, entity: str, entity_id: str) -> None:
        """Remove a role, profile or territory: it is simply no longer listed (2.4)."""
        with self.store.lock:
            rows = getattr(self.world, entity)
            rows[:] = [row for row in rows if row["id"] != entity_id]

    def control(self, action: str, args: dict[str, Any]) -> Any:
        """Control actions over HTTP (``/__sandbox__/<action>``); None when not one of ours."""
        if action == "reference_options":
            for key, value in args.items():
                setattr(self.options, key, set(value) if key == "refused" else value)
            return {"ok": True}
        if action == "user_update":
            self.update_user(args["id"], args["changes"])
            return {"ok": True}
        if action == "user_delete":
            self.delete_user(args["id"])
            return {"ok": True}
        return None
