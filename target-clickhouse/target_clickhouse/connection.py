"""One ClickHouse client per target: embedded chDB when no host is set, HTTP(S) otherwise.

chDB runs one engine per process and per data path, so the embedded client is shared and guarded
by a lock. Over HTTP the client is built without a session id: concurrent inserts on one session
fail with "Session is locked" (error 373), and inserts need no session state.
"""

from __future__ import annotations

import threading
import typing as t
from pathlib import Path

import clickhouse_connect
from clickhouse_connect.driver.external import ExternalData

from .errors import ClickHouseUnavailableError
from .loadplan import INPUT_SETTINGS, MISFIT_SETTINGS

if t.TYPE_CHECKING:
    from clickhouse_connect.driver.client import Client

    from .loadplan import LoadPlan

__all__ = ["DEFAULT_EMBEDDED_PATH", "Connection", "client_kwargs"]

DEFAULT_EMBEDDED_PATH = ".clickhouse"

#: Input settings of the embedded engine's inserts, on top of :data:`.loadplan.INPUT_SETTINGS`.
#: The engine shares this process's cores with the reader, which fills the next batch
#: meanwhile. A batch is parsed on one thread: parallel parsing first scans the whole batch for
#: row boundaries on a thread of its own and hands chunks between threads, which costs more CPU
#: than it saves time here, where converting and writing the rows take as long as parsing.
EMBEDDED_INPUT_SETTINGS: dict[str, int | str] = {
    **INPUT_SETTINGS,
    "input_format_parallel_parsing": 0,
}


def client_kwargs(config: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """Keyword arguments for ``clickhouse_connect.get_client`` from the target's settings."""
    settings = dict(config.get("client_settings") or {})
    if not config.get("host"):
        path = Path(config.get("path") or DEFAULT_EMBEDDED_PATH).resolve()
        path.mkdir(parents=True, exist_ok=True)
        return {"interface": "chdb", "path": str(path), "settings": settings}
    secure = bool(config.get("secure", False))
    return {
        "host": config["host"],
        "port": int(config.get("port") or (8443 if secure else 8123)),
        "username": config.get("username") or "default",
        "password": config.get("password") or "",
        "secure": secure,
        "verify": bool(config.get("verify", True)),
        "autogenerate_session_id": False,
        "connect_timeout": int(config.get("connect_timeout", 10)),
        "send_receive_timeout": int(config.get("send_receive_timeout", 300)),
        "settings": settings,
    }


class Connection:
    """The target's client, with a lock for the embedded engine."""

    def __init__(self, config: t.Mapping[str, t.Any]) -> None:
        """Open the client now, so a bad host or path fails before any data is read."""
        self.embedded = not config.get("host")
        kwargs = client_kwargs(config)
        try:
            self.client: Client = clickhouse_connect.get_client(**kwargs)
        except clickhouse_connect.driver.exceptions.Error as exc:
            where = kwargs.get("path") or f"{kwargs['host']}:{kwargs['port']}"
            reason = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else repr(exc)
            msg = f"cannot connect to ClickHouse at {where}: {reason}"
            raise ClickHouseUnavailableError(msg) from None
        self._lock = threading.Lock() if self.embedded else None

    def command(self, sql: str) -> None:
        """Run a statement that returns nothing of interest."""
        with self._guard():
            self.client.command(sql)

    def query_rows(self, sql: str, parameters: dict[str, t.Any]) -> list[t.Sequence[t.Any]]:
        """Run a parameterised query (values are bound, never pasted into SQL)."""
        with self._guard():
            return list(self.client.query(sql, parameters=parameters).result_rows)

    def insert_batch(self, plan: LoadPlan, path: str, settings: dict[str, t.Any]) -> None:
        """Insert a batch file of record JSON lines through ``plan``; returns once acknowledged.

        The embedded engine reads the file itself (``file()``); a server gets its bytes as the
        request body of an ``INSERT ... SELECT ... FROM input()``.
        """
        if self.embedded:
            settings = {**EMBEDDED_INPUT_SETTINGS, **settings}
            with self._guard():
                self.client.command(plan.insert_from_file(path), settings=settings)
                # The engine shares this process: hand the insert's memory back to the OS now,
                # so peak memory is one batch's worth however many batches a run loads.
                self.client.command("SYSTEM JEMALLOC PURGE")
            return
        body = Path(path).read_bytes()
        settings = {**INPUT_SETTINGS, **settings}
        self.client.command(plan.insert_from_body(), data=body, settings=settings)

    def misfit(self, plan: LoadPlan, path: str, index: int) -> tuple[int, str | None] | None:
        """(0-based line, JSON text) of the first value of a batch file failing ``index``'s check.

        The embedded engine reads the file; a server gets it as external data (a temporary
        table of this query only).
        """
        if self.embedded:
            sql = plan.misfit_query(index, plan.file_source(path))
            with self._guard():
                rows = self.client.query(sql, settings=MISFIT_SETTINGS).result_rows
        else:
            data = ExternalData(
                file_name="batch.jsonl",
                data=Path(path).read_bytes(),
                fmt="JSONEachRow",
                structure=plan.structure(),
            )
            sql = plan.misfit_query(index, "batch")
            rows = self.client.query(sql, settings=MISFIT_SETTINGS, external_data=data).result_rows
        return (int(rows[0][0]), rows[0][1]) if rows else None

    def close(self) -> None:
        """Close the client (chDB releases its data path lock)."""
        self.client.close()

    def _guard(self) -> t.ContextManager[t.Any]:
        import contextlib  # noqa: PLC0415

        return self._lock if self._lock is not None else contextlib.nullcontext()
