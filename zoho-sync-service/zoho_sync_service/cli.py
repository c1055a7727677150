"""``zoho-sync-service``: serve, manage CRM notification channels, show run history.

Run it from a Meltano project directory (``meltano invoke zoho-sync-service ...`` does so).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import httpx
from typing_extensions import override

from .channels import ChannelManager, ZohoChannels
from .errors import ServiceError, SettingsError
from .history import History
from .instance import InstanceLock
from .jobs import Job
from .runner import env_name
from .settings import Settings

LOG = logging.getLogger("zoho_sync_service")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zoho-sync-service",
        description="Zoho webhooks and CRM notifications -> incremental Meltano runs.",
    )
    parser.add_argument("--project-dir", type=Path, help="Meltano project (default: current)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the HTTP service")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--log-level", default="info")

    channels = commands.add_parser("channels", help="CRM notification channels")
    actions = channels.add_subparsers(dest="action", required=True)
    subscribe = actions.add_parser("subscribe", help="subscribe channels for modules")
    subscribe.add_argument(
        "modules",
        nargs="*",
        help="CRM module API names (default: the CRM job's modules, crm_modules or the tap's)",
    )
    subscribe.add_argument("--notify-url", help="public URL of POST /webhooks/crm")
    actions.add_parser("list", help="channels known here and at Zoho")
    remove = actions.add_parser("remove", help="unsubscribe channels")
    remove.add_argument("channel_ids", nargs="*", help="channel ids (default: all of ours)")
    renew = actions.add_parser("renew", help="renew channels now")
    renew.add_argument(
        "--all", action="store_true", help="renew every channel, not only those due soon"
    )

    history = commands.add_parser("runs", help="run history, newest first")
    history.add_argument("--job")
    history.add_argument("--limit", type=int, default=20)
    return parser


def _print(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


async def _channels(settings: Settings, args: argparse.Namespace) -> Any:
    history = History(settings.database)
    manager = ChannelManager(
        ZohoChannels(settings.zoho_credentials()), history, settings.channel_lifetime_seconds
    )
    try:
        if args.action == "subscribe":
            modules = args.modules or sorted(_job_modules(settings))
            made = await manager.subscribe(modules, args.notify_url or settings.notify_url)
            return {"subscribed": [c.as_dict() for c in made]}
        if args.action == "list":
            return {
                "local": [c.as_dict() for c in history.channels()],
                "zoho": [
                    {k: v for k, v in w.items() if k != "token"}
                    for w in await manager.zoho.remote()
                ],
            }
        if args.action == "remove":
            return {"removed": await manager.remove(args.channel_ids or None)}
        renewed = await manager.renew_due(
            settings.channel_renew_before_seconds, everything=args.all
        )
        return {"renewed": [c.as_dict() for c in renewed]}
    finally:
        await manager.zoho.aclose()
        history.close()


class RedactQuery(logging.Filter):
    """Drop query strings from uvicorn's access log: a Books webhook may carry its secret there."""

    @override
    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the path argument of an access-log record; keep the record."""
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):  # noqa: PLR2004
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def _job_modules(settings: Settings) -> frozenset[str]:
    """The CRM modules the CRM job reads, as far as the environment tells."""
    modules = Job(
        settings.crm_job, "crm", settings.crm_extractor, allowed_modules=settings.crm_modules
    ).narrow(None)
    if not modules:
        raise SettingsError(
            "name the modules to subscribe, or set crm_modules "
            f"(ZOHO_SYNC_SERVICE_CRM_MODULES or {env_name(settings.crm_extractor)}_CRM_MODULES)"
        )
    return modules


def _serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn  # noqa: PLC0415 - only the serve command needs the server

    from .app import create_app  # noqa: PLC0415

    # First of all, before anything reads or writes the database: one service per database.
    lock = InstanceLock(settings.database)
    lock.acquire(f"http://{args.host}:{args.port}")
    if not settings.token:
        LOG.warning("ZOHO_SYNC_SERVICE_TOKEN is not set: the legacy endpoints answer 401")
    if not settings.webhook_secret:
        LOG.warning("ZOHO_WEBHOOK_SECRET is not set: POST /webhooks/books answers 401")
    config = uvicorn.Config(
        create_app(settings, lock),
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        timeout_graceful_shutdown=20,
    )
    logging.getLogger("uvicorn.access").addFilter(RedactQuery())  # after uvicorn's dictConfig
    uvicorn.Server(config).run()
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings.from_environment(args.project_dir)
        if args.command == "serve":
            return _serve(settings, args)
        if args.command == "channels":
            _print(asyncio.run(_channels(settings, args)))
            return 0
        history = History(settings.database)
        _print(history.runs(args.job, args.limit))
        history.close()
    except (ServiceError, httpx.HTTPError) as exc:
        sys.stderr.write(f"zoho-sync-service: {exc}\n")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
