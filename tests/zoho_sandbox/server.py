"""The sandbox HTTP server: Zoho Accounts and CRM v8 on one loopback port, plus a control API.

Routing, authentication, faults and accounting live here; the endpoint rules live in
:mod:`.crm_api` and :mod:`.oauth`. ``/__sandbox__/...`` is the control interface used by tests and
demos running the sandbox in another process; in-process tests call :class:`Sandbox` methods.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from .bulk_read import BulkOptions, BulkRead
from .crm_api import ApiError, CrmApi, Limits
from .faults import Faults, Stats
from .finance import Finance
from .notifications import Notifications, send_books_webhook
from .oauth import ALL_SCOPES, Accounts, TokenError, has_scope
from .reference import Reference
from .seed import ModuleSpec, default_specs, seed_store
from .store import CrmStore, FieldMeta

if TYPE_CHECKING:
    from .reference_options import ReferenceOptions

BOOKS_ORG = "10234695"
SECOND_ORG = "60012345"
CLIENT_ID = "1000.SANDBOXCLIENT0000000000000000"
CLIENT_SECRET = "sandbox-client-secret-0f9e8d7c6b5a"
REFRESH_TOKEN = "1000.sandboxrefresh0000000000000000.00000000000000000000000000000000"
#: How often the server loop checks for ``stop()``: a stop waits for at most this long (the
#: standard library's 0.5 s default made every sandbox a test starts cost half a second).
POLL_SECONDS = 0.05


class Sandbox:
    """One offline Zoho: accounts, CRM data, limits, faults and counters."""

    def __init__(
        self,
        *,
        specs: list[ModuleSpec] | None = None,
        limits: Limits | None = None,
        zone: str = "Asia/Kolkata",
        dc: str = "com",
        token_ttl: int = 3600,
        bulk: BulkOptions | None = None,
        reference: ReferenceOptions | None = None,
    ) -> None:
        self.store = CrmStore(zone)
        seed_store(self.store, default_specs() if specs is None else specs)
        self.limits = limits or Limits()
        if self.limits.detail_row_order != self.store.row_order:
            self.store.reorder_rows(self.limits.detail_row_order)
        self.crm = CrmApi(self.store, self.limits)
        self.bulk = BulkRead(self.store, bulk or BulkOptions())
        # Late bound: ReadHooks may replace ``self.crm``.
        self.bulk.reachable = lambda module: self.crm.reachable(module)  # noqa: PLW0108
        self.accounts = Accounts(dc=dc, token_ttl=token_ttl)
        self.accounts.register_client(CLIENT_ID, CLIENT_SECRET)
        self.accounts.issue_refresh_token(CLIENT_ID, token=REFRESH_TOKEN)
        self.faults = Faults()
        self.stats = Stats()
        self.finance = Finance(self.store.clock)
        for org_id, offset in ((BOOKS_ORG, 330), (SECOND_ORG, -300)):
            self.finance.seed(self.finance.add_org(org_id, offset))
        self.notifications = Notifications(self.store, lambda: self.base_url)
        self.reference = Reference(self.store, reference)  # users, roles, ... pipelines (2.4)
        self.extra_routes: list[Any] = [self.finance, self.notifications, self.reference]
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.base_url = ""

    # ----------------------------------------------------------------- lifecycle
    def start(self, port: int = 0) -> str:
        """Serve on 127.0.0.1 (ephemeral port by default) in a daemon thread; return the base URL."""
        handler = type("Handler", (_Handler,), {"sandbox": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(POLL_SECONDS,), daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving."""
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def tap_config(self, **overrides: Any) -> dict[str, Any]:
        """A tap-zoho config pointing at this sandbox."""
        config = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": REFRESH_TOKEN,
            "api_domain": self.base_url,
        }
        config.update(overrides)
        return config

    # ----------------------------------------------------------------- control
    def update(self, module: str, record_id: str, changes: dict[str, Any]) -> None:
        """Modify a record; its Modified_Time moves forward."""
        self.store.update_record(module, record_id, changes)

    def create(self, module: str, values: dict[str, Any]) -> str:
        """Insert a record stamped now; return its id."""
        self.store.clock.advance()
        return self.store.put_record(module, values)

    def delete(self, module: str, record_id: str, *, permanent: bool = False) -> None:
        """Delete a record (recycle bin or purge)."""
        self.store.delete_record(module, record_id, permanent=permanent)

    def add_field(
        self,
        module: str,
        api_name: str,
        data_type: str = "text",
        json_type: str = "string",
        default: Any = None,
    ) -> None:
        """Add a custom field to a module."""
        self.store.add_field(
            module,
            FieldMeta(api_name, data_type, json_type, length=255, custom_field=True),
            default,
        )

    def records(self, module: str) -> dict[str, dict[str, Any]]:
        """A copy of the live records of a module, by id."""
        with self.store.lock:
            return {rid: dict(r) for rid, r in self.store.modules[module].records.items()}

    def on_call(self, after_calls: int, action: Any) -> None:
        """Run ``action`` once, right before serving API call number ``after_calls + 1``."""
        self.faults.hooks.append((after_calls, action))

    def deny_scope(self, scope: str, refresh_token: str = REFRESH_TOKEN) -> None:
        """Withhold ``ZohoCRM.<scope>`` (``users``, ``org``, ``settings.roles``...) from a token."""
        self.accounts.deny_scope(refresh_token, scope)

    def on_path_call(self, path_contains: str, nth: int, action: Any) -> None:
        """Run ``action`` once, right before serving the ``nth`` API call to a matching path.

        Lets a test edit records between two pages of one read (records shifting mid-paging).
        """
        self.faults.path_hooks.append([path_contains, nth, action])


def list_kind(store: CrmStore, module: str) -> str:
    """The request kind of a list: Get Records, the Subform API, or a linking module (3.3)."""
    found = store.modules.get(module)
    kind = found.generated_type if found is not None else ""
    return {"subform": "crm_subform_list", "linking": "crm_linking_list"}.get(kind, "records")


def _json_bytes(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    sandbox: Sandbox
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """Quiet: the tests read counters, not access logs."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """Every response's ``Date`` header: the sandbox clock, whole seconds, like Zoho's."""
        return formatdate(self.sandbox.store.clock.served(), usegmt=True)

    # ----------------------------------------------------------------- plumbing
    def _send(self, status: int, body: Any = None, headers: dict[str, str] | None = None) -> None:
        if isinstance(body, bytes):
            payload = body
        else:
            payload = b"" if body is None or status in {204, 304} else _json_bytes(body)
        self.send_response(status)
        if payload and not isinstance(body, bytes):
            self.send_header("Content-Type", "application/json;charset=UTF-8")
        headers = {**self._credit_headers(), **(headers or {})}
        self.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if payload:
            self.wfile.write(payload)

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    def _dispatch(self, method: str) -> None:
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        body = self._body = self._read_body()
        try:
            if url.path.startswith("/__sandbox__/"):
                self._control(url.path.removeprefix("/__sandbox__/"), query, body)
            elif url.path == "/oauth/v2/token" and method == "POST":
                self._token(query, body)
            else:
                self._api(method, url.path, query)
        except (BrokenPipeError, ConnectionResetError):
            pass

    # ----------------------------------------------------------------- accounts
    def _token(self, query: dict[str, str], body: bytes) -> None:
        params = {**query, **dict(parse_qsl(body.decode()))}
        sandbox = self.sandbox
        fault = sandbox.faults.take("/oauth/v2/token")
        if fault == "500":
            self._send(500, {"error": "internal_error"})
            return
        try:
            answer = sandbox.accounts.refresh(
                params, sandbox.base_url, throttled=fault == "throttle"
            )
        except TokenError as err:
            sandbox.stats.record(
                "token_error", "/oauth/v2/token", sandbox.faults.token_error_status, 0
            )
            self._send(sandbox.faults.token_error_status, err.body)
            return
        sandbox.stats.record("token", "/oauth/v2/token", 200, 0)
        self._send(200, answer)

    # ----------------------------------------------------------------- API calls
    def _api(self, method: str, path: str, query: dict[str, str]) -> None:
        sandbox = self.sandbox
        faults = sandbox.faults
        with sandbox.stats.lock:
            sandbox.stats.api_calls += 1
            call_number = sandbox.stats.api_calls
        for after, action in list(faults.hooks):
            if call_number == after + 1:
                faults.hooks.remove((after, action))
                action()
        for hook in list(faults.path_hooks):
            if hook[0] in path:
                hook[1] -= 1
                if hook[1] == 0:
                    faults.path_hooks.remove(hook)
                    hook[2]()
        if faults.revoke_after_calls is not None and call_number > faults.revoke_after_calls:
            faults.revoke_after_calls = None
            sandbox.accounts.revoke_access_tokens()
        if faults.latency_seconds:
            time.sleep(faults.latency_seconds)
        fault = faults.take(path)
        if fault == "slow":
            time.sleep(faults.slow_seconds)
        if fault == "drop":
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        if fault == "429":
            self._error(
                path, 429, "TOO_MANY_REQUESTS", "You have exceeded the allowed concurrency limit"
            )
            return
        if fault == "500":
            self._error(path, 500, "INTERNAL_ERROR", "Internal server error")
            return
        if not sandbox.stats.start(faults.max_concurrency):
            self._error(
                path, 429, "TOO_MANY_REQUESTS", "You have exceeded the allowed concurrency limit"
            )
            return
        try:
            self._authorised_api(method, path, query, fault)
        finally:
            sandbox.stats.finish()

    def _error(
        self, path: str, status: int, code: str, message: str, details: dict | None = None
    ) -> None:
        self.sandbox.stats.record(code, path, status, 0)
        self._send(
            status, {"code": code, "details": details or {}, "message": message, "status": "error"}
        )

    def _authorised_api(
        self, method: str, path: str, query: dict[str, str], fault: str | None
    ) -> None:
        sandbox = self.sandbox
        header = self.headers.get("Authorization", "")
        prefix, _, token = header.partition(" ")
        if prefix not in {"Zoho-oauthtoken", "Bearer"} or not token:
            self._error(path, 401, "AUTHENTICATION_FAILURE", "Authentication failed")
            return
        access = sandbox.accounts.check(token)
        if access is None or fault == "auth_failure":
            self._error(path, 401, sandbox.faults.expired_token_code, "invalid oauth token")
            return
        budget = sandbox.faults.daily_credit_budget
        cost = 50 if method == "POST" and sandbox.bulk.handles(path) else 1
        if budget is not None and sandbox.stats.credits + cost > budget:
            self._error(
                path, 429, "TOO_MANY_REQUESTS", "API requests for the 24-hour period exceeded"
            )
            return
        if sandbox.bulk.handles(path):
            self._bulk(method, path, access.scopes)
            return
        for route in sandbox.extra_routes:
            if route.handles(path):
                extra = {"body": self._body} if getattr(route, "wants_body", False) else {}
                status, body, headers, kind = route.serve(
                    method, path, query, self.headers, access, **extra
                )
                charge = getattr(route, "credits", None)
                cost = charge(status) if charge else (1 if status < 500 else 0)
                sandbox.stats.record(kind, path, status, cost)
                self._send(status, body, headers)
                return
        try:
            kind, status, body = self._crm(method, path, query, access.scopes)
        except ApiError as err:
            sandbox.stats.record(err.body["code"], path, err.status, 1 if err.status == 400 else 0)
            self._send(err.status, err.body)
            return
        sandbox.stats.record(kind, path, status, 1)
        self._send(status, body)

    def _bulk(self, method: str, path: str, scopes: frozenset[str]) -> None:
        """Bulk Read (``shared/zoho-api.md`` 4.4): its own costs; errors cost nothing."""
        sandbox = self.sandbox
        try:
            self._need(scopes, "ZohoCRM.bulk.READ", "ZohoCRM.bulk.ALL")
            self._need(scopes, "ZohoCRM.modules.READ", "ZohoCRM.modules.ALL")
            kind, status, body, headers, cost = sandbox.bulk.serve(method, path, self._body)
        except ApiError as err:
            sandbox.stats.record(err.body["code"], path, err.status, 0)
            self._send(err.status, err.body)
            return
        sandbox.stats.record(kind, path, status, cost)
        self._send(status, body, headers)

    def _credit_headers(self) -> dict[str, str]:
        """``X-API-CREDITS-REMAINING`` once half the daily budget is used (5.1, unconfirmed)."""
        budget = self.sandbox.faults.daily_credit_budget
        used = self.sandbox.stats.credits
        if budget is None or not self.path.startswith("/crm/") or used * 2 < budget:
            return {}
        return {"X-API-CREDITS-REMAINING": str(max(budget - used, 0))}

    def _crm(  # noqa: PLR0911 - one return per route
        self, method: str, path: str, query: dict[str, str], scopes: frozenset[str]
    ) -> tuple[str, int, Any]:
        crm = self.sandbox.crm
        if method != "GET":
            raise ApiError(
                400, "INVALID_REQUEST_METHOD", "The http request method type is not a valid one"
            )
        parts = path.strip("/").split("/")
        if parts[:2] != ["crm", "v8"] or len(parts) < 3:
            raise ApiError(
                404,
                "INVALID_URL_PATTERN",
                "Please check if the URL trying to access is a correct one",
            )
        rest = parts[2:]
        headers = {k.lower(): v for k, v in self.headers.items()}
        if rest == ["settings", "modules"]:
            self._need(scopes, "ZohoCRM.settings.modules.READ", "ZohoCRM.settings.READ")
            return ("modules", *crm.modules())
        if rest[:2] == ["settings", "modules"] and len(rest) == 3:
            self._need(scopes, "ZohoCRM.settings.modules.READ", "ZohoCRM.settings.READ")
            return ("module", *crm.module(rest[2]))
        if rest == ["settings", "fields"]:
            self._need(scopes, "ZohoCRM.settings.fields.READ", "ZohoCRM.settings.READ")
            return ("fields", *crm.fields(query))
        module = rest[0]
        self._need(scopes, "ZohoCRM.modules.READ", f"ZohoCRM.modules.{module}.READ")
        if len(rest) == 1:
            with self.sandbox.stats.lock:
                self.sandbox.stats.queries.append((path, dict(query)))
            return (list_kind(self.sandbox.store, module), *crm.records(module, query, headers))
        if len(rest) == 4 and rest[2:] == ["actions", "fetch_full_data"]:
            return ("crm_rich_text", *crm.rich_text(module, rest[1], query))
        if rest[1:] == ["deleted"]:
            with self.sandbox.stats.lock:
                self.sandbox.stats.queries.append((path, dict(query)))
            return ("deleted", *crm.deleted(module, query, headers))
        if len(rest) == 2 and rest[1] != "actions":  # /{module}/{id}
            return ("record", *crm.record(module, rest[1], query))
        if rest[1:] == ["actions", "count"]:
            return ("count", *crm.count(module))
        raise ApiError(
            404, "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"
        )

    @staticmethod
    def _need(scopes: frozenset[str], *candidates: str) -> None:
        if not has_scope(scopes, *candidates):
            raise ApiError(401, "OAUTH_SCOPE_MISMATCH", "invalid oauth scope to access this URL")

    # ----------------------------------------------------------------- control API
    def _control(self, action: str, query: dict[str, str], body: bytes) -> None:
        sandbox = self.sandbox
        args = json.loads(body) if body else {}
        if action == "stats":
            self._send(200, sandbox.stats.snapshot())
        elif action == "records":
            self._send(200, sandbox.records(query["module"]))
        elif action == "config":
            self._send(200, sandbox.tap_config())
        elif action == "update":
            sandbox.update(args["module"], args["id"], args["changes"])
            self._send(200, {"ok": True})
        elif action == "create":
            self._send(200, {"id": sandbox.create(args["module"], args["values"])})
        elif action == "delete":
            sandbox.delete(args["module"], args["id"], permanent=args.get("permanent", False))
            self._send(200, {"ok": True})
        elif action == "add_field":
            sandbox.add_field(
                args["module"],
                args["api_name"],
                args.get("data_type", "text"),
                args.get("json_type", "string"),
                args.get("default"),
            )
            self._send(200, {"ok": True})
        elif action == "fault":
            sandbox.faults.inject(args["kind"], args.get("times", 1), args.get("path_contains", ""))
            self._send(200, {"ok": True})
        elif action == "item_update":
            sandbox.finance.update_item(args["organization_id"], args["id"], args["changes"])
            self._send(200, {"ok": True})
        elif action == "item_create":
            org = sandbox.finance.orgs[args["organization_id"]]
            self._send(200, {"id": sandbox.finance.put_item(org, args["values"])})
        elif action == "item_delete":
            sandbox.finance.delete_item(args["organization_id"], args["id"])
            self._send(200, {"ok": True})
        elif action == "items":
            org = sandbox.finance.orgs[query["organization_id"]]
            self._send(200, org.items)
        elif action == "limits":  # readings and limits of the CRM endpoints (crm_api.Limits)
            for key, value in args.items():
                if not hasattr(sandbox.limits, key):
                    self._send(400, {"error": f"unknown limit {key}"})
                    return
                is_set = isinstance(getattr(sandbox.limits, key), frozenset) or key in {
                    "subform_modules",
                    "refused_modules",
                }
                setattr(
                    sandbox.limits, key, frozenset(value) if is_set and value is not None else value
                )
                if key == "detail_row_order":
                    sandbox.store.reorder_rows(str(value))
            self._send(200, {"ok": True})
        elif action == "latency":
            sandbox.faults.latency_seconds = float(args["seconds"])
            self._send(200, {"ok": True})
        elif action == "token_ttl":
            sandbox.accounts.token_ttl = int(args["seconds"])
            self._send(200, {"ok": True})
        elif action == "notify":
            sent = sandbox.notifications.notify(
                args["module"], args["ids"], args.get("operation", "update")
            )
            self._send(200, {"statuses": [d.status for d in sent]})
        elif action == "books_webhook":
            item = sandbox.finance.orgs[args["organization_id"]].items[args["item_id"]]
            status, _ = send_books_webhook(args["url"], "item", item, secret=args.get("secret"))
            self._send(200, {"status": status})
        elif action == "clock":
            clock = sandbox.store.clock
            if args.get("pin"):
                clock.pin()
            elif args.get("pin") is False:
                clock.unpin()
            if args.get("step"):
                clock.step(int(args["step"]))
            self._send(200, {"now": clock.now(), "served": clock.served()})
        elif action == "revoke":
            sandbox.accounts.revoke_access_tokens()
            self._send(200, {"ok": True})
        else:
            answer = sandbox.reference.control(action, args)
            if answer is None:
                self._send(404, {"error": f"unknown control action {action}"})
            else:
                self._send(200, answer)


__all__ = [
    "ALL_SCOPES",
    "BOOKS_ORG",
    "CLIENT_ID",
    "CLIENT_SECRET",
    "REFRESH_TOKEN",
    "Limits",
    "Sandbox",
]
