"""A throwaway PostgreSQL server for the tests (real server, started and stopped by them).

As root, ``initdb`` refuses to run, so the data directory belongs to the ``postgres`` user and the
server runs as that user (``shared/platform-notes.md``, PostgreSQL).
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from tests.support.ports import free_port


def _bin_dir() -> Path:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if candidates:
        return Path(candidates[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    msg = "PostgreSQL server binaries not found: run `make test` (it installs them) or apt-get install postgresql"
    raise RuntimeError(msg)


class PgServer:
    """initdb + pg_ctl start on 127.0.0.1 at a free port; ``stop()`` removes everything."""

    def __init__(self, *, durable: bool = False) -> None:
        """``durable``: keep fsync on (benchmarks); tests turn it off for speed."""
        self.durable = durable
        self.bin = _bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="pg-tests-", dir="/tmp"))
        self.data = self.root / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0

    def _run(self, *args: str) -> None:
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_root:
            quoted = " ".join(f"'{a}'" for a in command)
            command = ["su", "postgres", "-s", "/bin/bash", "-c", quoted]
        subprocess.run(command, check=True, capture_output=True, timeout=120)

    def start(self) -> PgServer:
        """Create the cluster and start the server."""
        self.data.mkdir()
        if self.as_root:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.data, "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        if not self.durable:
            options += " -c fsync=off"
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.root / "log"),
            "-w",
            "start",
        )
        return self

    def stop(self) -> None:
        """Stop the server and delete its files."""
        try:
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def dsn(self, database: str = "postgres") -> dict[str, object]:
        """Connection settings for psycopg2 and for the target."""
        return {"host": "127.0.0.1", "port": self.port, "user": "postgres", "database": database}
