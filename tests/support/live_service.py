"""A live zoho-sync-service (started by `meltano invoke`, real Meltano runs) and raw HTTP clients.

The hostile clients here speak HTTP/1.1 over sockets: what they send must not be tidied by a client
library, and a flood is pipelined over a few keep-alive connections so that the service, not the
client, is what the test spends its time on.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.meltano import meltano_env, project_copy
from tests.support.paths import MELTANO
from tests.support.ports import free_port
from tests.zoho_sandbox import BOOKS_ORG, Sandbox

CRM = ["Leads", "Accounts", "Deals", "Contacts"]
TOKEN = "hardening-bearer-token-never-logged"
SECRET = "hardening0webhook0secret42"
STATIC_CHANNEL_TOKEN = "hardening-static-channel-token"
BODY_TIMEOUT = 1.5


def hexmac(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class LiveService:
    """The sandbox, the stores and a running service, with what the tests drive and observe."""

    def __init__(self, sandbox: Sandbox, tmp: Path, erp: dict) -> None:
        self.sandbox = sandbox
        self.tmp = tmp
        self.project = project_copy(tmp / "project")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = tmp / "service.db"
        self.log = tmp / "service.log"
        self.proc: subprocess.Popen | None = None
        # One client for the polls (/health, /runs): a new httpx client per call builds an SSL
        # context each time, tens of milliseconds of CPU per poll while a test waits.
        self.http = httpx.Client(base_url=self.url, timeout=10)
        self.env = meltano_env(
            sandbox,
            tmp,
            TAP_ZOHO_CRM_MODULES=json.dumps(CRM),
            TARGET_TSH_POSTGRES_HOST=erp["host"],
            TARGET_TSH_POSTGRES_PORT=str(erp["port"]),
            TARGET_TSH_POSTGRES_USER=erp["user"],
            TARGET_TSH_POSTGRES_DATABASE=erp["database"],
            ZOHO_SYNC_SERVICE_TOKEN=TOKEN,
            ZOHO_WEBHOOK_SECRET=SECRET,
            ZOHO_SYNC_SERVICE_CHANNEL_TOKEN=STATIC_CHANNEL_TOKEN,
            ZOHO_SYNC_SERVICE_API_DOMAIN=sandbox.base_url,
            ZOHO_SYNC_SERVICE_NOTIFY_URL=f"{self.url}/webhooks/crm",
            ZOHO_SYNC_SERVICE_DATABASE=str(self.database),
            ZOHO_SYNC_SERVICE_DEBOUNCE_SECONDS="1.5",
            # a flood on a busy machine may outlast the default 30 s: it must still be one run
            ZOHO_SYNC_SERVICE_MAX_DELAY_SECONDS="300",
            ZOHO_SYNC_SERVICE_RETRY_BACKOFF_SECONDS="2",
            ZOHO_SYNC_SERVICE_MAX_RUNS_PER_WINDOW="90",
            ZOHO_SYNC_SERVICE_BODY_TIMEOUT_SECONDS=str(BODY_TIMEOUT),
            ZOHO_SYNC_SERVICE_CHANNEL_CHECK_SECONDS="0.3",
            UNRELATED_HOST_SECRET="not-for-any-plugin",
        )

    def start(self) -> None:
        self.proc = self.serve()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                if self.http.get("/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        self.stop()  # a fixture that fails in setup gets no teardown
        pytest.fail(f"the service did not start: {self.log.read_text()[-3000:]}")

    def serve(self, *args: str, port: int | None = None) -> subprocess.Popen:
        """``meltano invoke zoho-sync-service serve`` on this project (not waited for)."""
        with self.log.open("ab") as log:
            return subprocess.Popen(
                [
                    str(MELTANO),
                    "invoke",
                    "zoho-sync-service",
                    "serve",
                    "--port",
                    str(port or self.port),
                    *args,
                ],
                cwd=self.project,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
            self.proc = None

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """The console script itself."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("zoho-sync-service")), *args],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    # ------------------------------------------------------------------ observing
    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {TOKEN}"}

    def runs(self, job: str | None = None) -> list[dict]:
        params = {"limit": "500", **({"job": job} if job else {})}
        answer = self.http.get("/runs", params=params, headers=self.auth)
        assert answer.status_code == 200, answer.text
        return list(reversed(answer.json()["runs"]))

    def health(self) -> dict:
        answer = self.http.get("/health", headers=self.auth)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def idle(self, timeout: float = 120) -> None:
        """Wait until no job runs and nothing waits (debounce included)."""
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            jobs = self.health()["jobs"].values()
            if any(j["running"] or j["waiting"] for j in jobs):
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.5:
                return
            time.sleep(0.2)
        pytest.fail("the service did not become idle")

    def wait_running(self, job: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.health()["jobs"][job]["running"]:
                return
            time.sleep(0.1)
        pytest.fail(f"{job} never started running")

    def server_pid(self) -> int:
        """The service's own process (``meltano invoke`` starts it as a child)."""
        assert self.proc is not None
        for pid in descendants(self.proc.pid):
            if "serve" in cmdline(pid) and "meltano" not in Path(cmdline(pid)[0]).name:
                return pid
        pytest.fail("no service process under meltano invoke")

    def meltano_run_pid(self, job: str, timeout: float = 30) -> int:
        """The ``meltano run <job>`` the service started."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for pid in descendants(self.server_pid()):
                args = cmdline(pid)
                if "run" in args and job in args and "invoke" not in args:
                    return pid
            time.sleep(0.1)
        pytest.fail(f"no meltano run {job} under the service")

    def pending_rows(self) -> int:
        """Rows of the pending table, read from the database file itself."""
        db = sqlite3.connect(f"file:{self.database}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT count(*) FROM pending").fetchone()[0])
        finally:
            db.close()

    # ------------------------------------------------------------------ acting
    def item(self) -> dict:
        org = self.sandbox.finance.orgs[BOOKS_ORG]
        return next(r for r in org.items.values() if r["status"] == "active")

    def books_request(
        self,
        body: bytes,
        *,
        signature: str | None = None,
        query: str = "",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> bytes:
        """One raw ``POST /webhooks/books`` request (keep-alive)."""
        extra = dict(headers or {})
        if signature is not None:
            extra["X-Zoho-Webhook-Signature"] = signature
        return raw_request("POST", f"/webhooks/books{query}", body, content_type, extra)


def cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (part.decode(errors="replace").partition("=") for part in raw.split(b"\0") if part)
    return {key: value for key, _, value in pairs}


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (Linux /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def raw_request(
    method: str, path: str, body: bytes, content_type: str, headers: dict[str, str]
) -> bytes:
    lines = [
        f"{method} {path} HTTP/1.1",
        "Host: 127.0.0.1",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


async def _one_connection(port: int, requests: list[bytes]) -> Counter:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    statuses: Counter = Counter()

    async def send() -> None:
        for start in range(0, len(requests), 200):
            writer.write(b"".join(requests[start : start + 200]))
            await writer.drain()

    sending = asyncio.create_task(send())
    for _ in requests:
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        statuses[status] += 1
    await sending
    writer.close()
    await writer.wait_closed()
    return statuses


def flood(port: int, requests: list[bytes], connections: int = 8) -> Counter:
    """Send ``requests`` pipelined over ``connections`` keep-alive connections; count statuses."""

    async def run() -> Counter:
        shares = [requests[i::connections] for i in range(connections)]
        results = await asyncio.gather(*(_one_connection(port, s) for s in shares if s))
        return sum(results, Counter())

    return asyncio.run(run())


def exchange(port: int, data: bytes, *, timeout: float = 30.0, pause: float = 0.0) -> bytes:
    """Send ``data`` on a fresh connection (``pause`` s before closing our side); read the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        time.sleep(pause)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks):
                head, _, rest = b"".join(chunks).partition(b"\r\n\r\n")
                lengths = [
                    int(line.split(b":", 1)[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                ]
                if lengths and len(rest) >= lengths[0]:
                    break
        return b"".join(chunks)


def status_of(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer.split(b" ", 2)[1])
