"""Hooks on the sandbox's list reads: edits timed to the exact moment a reader is exposed.

``Sandbox.on_call`` runs an action before call number *n*; a soak needs the moments that
matter instead, whatever number they get:

* :meth:`ReadHooks.before_next_page`: right before a follow-up page of a list is served
  (CRM ``page_token`` or ``page > 1``, Books ``page > 1``). The action gets the ids the window
  already served, in order; re-editing some of them moves them to the end, and every record
  after them shifts back one position (pitfall 1 of ``shared/zoho-api.md``).
* :meth:`ReadHooks.after_read`: an event set once a list answer carrying a record has been
  built, so an edit made after it is one the reader did not see (an edit "read in between").

Books/Inventory calls can also be slowed on their own (``books_delay``), so a Books run lasts
as long as a CRM run without slowing CRM.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from typing_extensions import override

from .crm_api import CrmApi, Response
from .finance import ITEM_FILTERS, parse
from .store import epoch_of

if TYPE_CHECKING:
    from .server import Sandbox

PageAction = Callable[[str, list[str]], None]  # (module or "items", ids already served)


class _HookedCrmApi(CrmApi):
    """The sandbox's CRM endpoints with :class:`ReadHooks` around Get Records."""

    def __init__(self, original: CrmApi, hooks: ReadHooks) -> None:
        super().__init__(original.store, original.limits)
        self.tokens = original.tokens
        self.hooks = hooks

    @override
    def records(self, name: str, query: dict[str, str], headers: dict[str, str]) -> Response:
        self.hooks.before_crm_page(name, query, headers)
        status, body = super().records(name, query, headers)
        if body and body.get("data"):
            self.hooks.seen("crm", [str(r["id"]) for r in body["data"]])
        return status, body


class ReadHooks:
    """Installed once per sandbox; every hook is one-shot."""

    def __init__(self, sandbox: Sandbox, *, books_delay: float = 0.0) -> None:
        self.sandbox = sandbox
        self.books_delay = books_delay
        self.lock = threading.Lock()
        self._page_actions: dict[str, list[PageAction]] = {"crm": [], "books": []}
        self._watched: dict[tuple[str, str], threading.Event] = {}
        sandbox.crm = _HookedCrmApi(sandbox.crm, self)
        self._finance = sandbox.finance
        sandbox.extra_routes = [
            self if route is sandbox.finance else route for route in sandbox.extra_routes
        ]

    # ------------------------------------------------------------------ registration
    def before_next_page(self, family: str, action: PageAction) -> None:
        """Run ``action`` once, before the next follow-up page of a ``crm`` or ``books`` list."""
        with self.lock:
            self._page_actions[family].append(action)

    def after_read(self, family: str, record_id: str) -> threading.Event:
        """An event set once a list answer of ``family`` carrying ``record_id`` is built."""
        event = threading.Event()
        with self.lock:
            self._watched[family, record_id] = event
        return event

    def clear(self, family: str) -> None:
        """Forget the pending hooks of ``family`` (between runs)."""
        with self.lock:
            self._page_actions[family].clear()
            for key in [k for k in self._watched if k[0] == family]:
                del self._watched[key]

    def _take_actions(self, family: str) -> list[PageAction]:
        with self.lock:
            actions, self._page_actions[family] = self._page_actions[family], []
        return actions

    def seen(self, family: str, ids: list[str]) -> None:
        with self.lock:
            if not self._watched:
                return
            for rid in ids:
                event = self._watched.pop((family, rid), None)
                if event is not None:
                    event.set()

    # ------------------------------------------------------------------ CRM
    def before_crm_page(self, name: str, query: dict[str, str], headers: dict[str, str]) -> None:
        """Run the CRM page hooks when this Get Records call continues a window."""
        follow_up = "page_token" in query or query.get("page", "1") not in {"1", ""}
        if follow_up and self._page_actions["crm"]:
            served = self._crm_served(name, query, headers)
            for action in self._take_actions("crm"):
                action(name, served)

    def _crm_served(self, name: str, query: dict[str, str], headers: dict[str, str]) -> list[str]:
        crm = self.sandbox.crm
        per_page = int(query.get("per_page", "200"))
        token = crm.tokens.get(query.get("page_token", ""))
        offset = token.offset if token else (int(query.get("page", "1")) - 1) * per_page
        since = headers.get("if-modified-since")
        module = self.sandbox.store.modules.get(name)
        if module is None:
            return []
        window = self.sandbox.store.window(
            module,
            sort_by=query.get("sort_by", "id"),
            descending=query.get("sort_order", "desc") == "desc",
            modified_after=epoch_of(since) if since else None,
            ids=None,
            converted=query.get("converted", "false"),
            approved=query.get("approved", "true"),
        )
        return window[:offset]

    # ------------------------------------------------------------------ Books / Inventory
    @property
    def wants_body(self) -> bool:
        """As the finance route."""
        return bool(getattr(self._finance, "wants_body", False))

    def handles(self, path: str) -> bool:
        """The finance route's paths."""
        return self._finance.handles(path)

    def serve(self, method: str, path: str, query: dict[str, str], *args: Any) -> Any:
        """Wait ``books_delay``, run page hooks, answer as the finance route does."""
        if self.books_delay:
            time.sleep(self.books_delay)
        follow_up = path.endswith("/items") and query.get("page", "1") != "1"
        if follow_up and self._page_actions["books"]:
            served = self._items_served(query)
            for action in self._take_actions("books"):
                action("items", served)
        answer = self._finance.serve(method, path, query, *args)
        body = answer[1]
        if isinstance(body, dict):
            rows = body.get("items") or body.get("contacts") or []
            self.seen("books", [str(r.get("item_id") or r.get("contact_id")) for r in rows])
        return answer

    def _items_served(self, query: dict[str, str]) -> list[str]:
        finance = self._finance
        org = finance.orgs.get(query.get("organization_id", ""))
        if org is None or query.get("sort_column") != "last_modified_time":
            return []
        status = ITEM_FILTERS.get(query.get("filter_by") or finance.default_filters["items"])
        since = query.get("last_modified_time")
        after = parse(since) if since else None
        with finance.lock:
            ids = [
                iid
                for iid, row in org.items.items()
                if (status is None or row.get("status") == status)
                and (after is None or org.modified[iid] > after)
            ]
            ids.sort(key=lambda iid: (org.modified[iid], iid))
        offset = (int(query.get("page", "1")) - 1) * int(query.get("per_page", "200"))
        return ids[:offset]
