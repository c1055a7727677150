"""The service's settings, read once from the environment.

``meltano invoke zoho-sync-service`` exports the utility's settings as ``ZOHO_SYNC_SERVICE_<NAME>``
(the webhook secret as ``ZOHO_WEBHOOK_SECRET``); run on its own, the same variables configure it.
Zoho credentials for the channel commands fall back to tap-zoho's own variables, so one ``.env``
serves the tap and the service.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import SettingsError

PREFIX = "ZOHO_SYNC_SERVICE_"


def _env(name: str, default: str = "") -> str:
    return os.environ.get(PREFIX + name, "").strip() or default


def _number(name: str, default: float) -> float:
    raw = _env(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name}: not a number: {raw!r}") from None
    if value < 0:
        raise SettingsError(f"{PREFIX}{name}: must not be negative: {raw!r}")
    return value


def _names(name: str) -> frozenset[str] | None:
    """A JSON array or comma-separated list of names (None when unset)."""
    raw = _env(name)
    if not raw:
        return None
    try:
        value = json.loads(raw)
    except ValueError:
        value = [part.strip() for part in raw.split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingsError(f"{PREFIX}{name}: expected a list of names: {raw!r}")
    return frozenset(v.strip() for v in value if v.strip())


@dataclass(frozen=True)
class ZohoCredentials:
    """What the channel commands need to call ``/crm/v8/actions/watch``."""

    client_id: str
    client_secret: str
    refresh_token: str
    api_domain: str
    accounts_domain: str


@dataclass(frozen=True)
class Settings:
    """Everything the service reads from its environment."""

    project_dir: Path
    database: Path
    meltano: str
    token: str = ""
    webhook_secret: str = ""
    channel_token: str = ""
    crm_job: str = "crm-to-clickhouse"
    crm_extractor: str = "tap-zoho"
    books_job: str = "products-to-erp"
    books_extractor: str = "tap-zoho-products"
    books_loader: str = "target-tsh-postgres"
    debounce_seconds: float = 3.0
    max_delay_seconds: float = 0.0  # 0: 30 s, or five debounces when that is longer
    max_body_bytes: int = 1_048_576
    retry_attempts: int = 3
    retry_backoff_seconds: float = 10.0
    run_timeout_seconds: float = 3600.0
    max_runs_per_window: int = 4
    run_window_seconds: float = 600.0
    notify_url: str = ""
    channel_lifetime_seconds: float = 23 * 3600.0
    channel_renew_before_seconds: float = 3 * 3600.0
    channel_check_seconds: float = 60.0
    crm_modules: frozenset[str] | None = None
    replay_window_seconds: float = 600.0
    signature_tolerance_seconds: float = 300.0
    body_timeout_seconds: float = 10.0
    pass_env: frozenset[str] = frozenset()

    @classmethod
    def from_environment(cls, project_dir: Path | None = None) -> Settings:
        """Read the environment; raise :class:`SettingsError` naming the first bad value."""
        root = Path(project_dir or os.environ.get("MELTANO_PROJECT_ROOT") or Path.cwd()).resolve()
        meltano = _env("MELTANO_EXECUTABLE") or shutil.which("meltano") or "meltano"
        database = Path(_env("DATABASE") or root / ".meltano" / "zoho-sync-service.db")
        return cls(
            project_dir=root,
            database=database if database.is_absolute() else root / database,
            meltano=meltano,
            token=_env("TOKEN"),
            webhook_secret=os.environ.get("ZOHO_WEBHOOK_SECRET", "").strip(),
            channel_token=_env("CHANNEL_TOKEN"),
            crm_job=_env("CRM_JOB", cls.crm_job),
            crm_extractor=_env("CRM_EXTRACTOR", cls.crm_extractor),
            books_job=_env("BOOKS_JOB", cls.books_job),
            books_extractor=_env("BOOKS_EXTRACTOR", cls.books_extractor),
            books_loader=_env("BOOKS_LOADER", cls.books_loader),
            debounce_seconds=_number("DEBOUNCE_SECONDS", cls.debounce_seconds),
            max_delay_seconds=_number("MAX_DELAY_SECONDS", cls.max_delay_seconds),
            max_body_bytes=int(_number("MAX_BODY_BYTES", cls.max_body_bytes)),
            retry_attempts=max(1, int(_number("RETRY_ATTEMPTS", cls.retry_attempts))),
            retry_backoff_seconds=_number("RETRY_BACKOFF_SECONDS", cls.retry_backoff_seconds),
            run_timeout_seconds=_number("RUN_TIMEOUT_SECONDS", cls.run_timeout_seconds),
            max_runs_per_window=int(_number("MAX_RUNS_PER_WINDOW", cls.max_runs_per_window)),
            run_window_seconds=_number("RUN_WINDOW_SECONDS", cls.run_window_seconds),
            notify_url=_env("NOTIFY_URL"),
            channel_lifetime_seconds=_number(
                "CHANNEL_LIFETIME_SECONDS", cls.channel_lifetime_seconds
            ),
            channel_renew_before_seconds=_number(
                "CHANNEL_RENEW_BEFORE_SECONDS", cls.channel_renew_before_seconds
            ),
            channel_check_seconds=max(
                0.2, _number("CHANNEL_CHECK_SECONDS", cls.channel_check_seconds)
            ),
            crm_modules=_names("CRM_MODULES"),
            replay_window_seconds=_number("REPLAY_WINDOW_SECONDS", cls.replay_window_seconds),
            signature_tolerance_seconds=_number(
                "SIGNATURE_TOLERANCE_SECONDS", cls.signature_tolerance_seconds
            ),
            body_timeout_seconds=max(
                0.1, _number("BODY_TIMEOUT_SECONDS", cls.body_timeout_seconds)
            ),
            pass_env=_names("PASS_ENV") or frozenset(),
        )

    def zoho_credentials(self) -> ZohoCredentials:
        """Zoho OAuth settings: the service's own, else tap-zoho's; raise when incomplete."""

        def pick(name: str) -> str:
            return _env(name.upper()) or os.environ.get(f"TAP_ZOHO_{name.upper()}", "").strip()

        values = {n: pick(n) for n in ("client_id", "client_secret", "refresh_token")}
        missing = [n for n, v in values.items() if not v]
        if missing:
            names = ", ".join(f"{PREFIX}{n.upper()} (or TAP_ZOHO_{n.upper()})" for n in missing)
            raise SettingsError(f"Zoho credentials missing: set {names}")
        api_domain = (pick("api_domain") or "https://www.zohoapis.com").rstrip("/")
        if "://" not in api_domain:
            api_domain = f"https://{api_domain}"
        accounts = pick("accounts_domain").rstrip("/") or accounts_domain_for(api_domain)
        return ZohoCredentials(**values, api_domain=api_domain, accounts_domain=accounts)


def accounts_domain_for(api_domain: str) -> str:
    """Zoho Accounts server of a Zoho API domain (``zoho-api.md`` 1.1); others serve their own."""
    host = api_domain.split("://", 1)[-1].split("/", 1)[0].lower()
    for prefix in ("www.zohoapis.", "sandbox.zohoapis.", "developer.zohoapis."):
        if host.startswith(prefix):
            tld = host.removeprefix(prefix)
            return (
                "https://accounts.zohocloud.ca" if tld == "ca" else f"https://accounts.zoho.{tld}"
            )
    return api_domain
