"""CRM API credits of one `meltano run crm-to-clickhouse` against the sandbox: polling vs notified.

    .venv/bin/python bench/service_credits.py

Prints the credits of a first full run of four modules, of an incremental run when nothing changed
(what each poll costs) and of the run a notification for one edited module starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.zoho_sandbox import Sandbox  # noqa: E402

CRM = ["Leads", "Accounts", "Deals", "Contacts"]
POLLS_PER_DAY = 288  # every five minutes


def main() -> None:
    sandbox = Sandbox()
    sandbox.start()
    tmp = tempfile.mkdtemp()
    config = sandbox.tap_config()
    meltano = REPO / ".venv-meltano" / "bin" / "meltano"
    base = {
        **os.environ,
        "PATH": f"{meltano.parent}:{os.environ['PATH']}",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp}/meltano.db",
        "MELTANO_ENVIRONMENT": "sandbox",
        "TAP_ZOHO_CLIENT_ID": config["client_id"],
        "TAP_ZOHO_CLIENT_SECRET": config["client_secret"],
        "TAP_ZOHO_REFRESH_TOKEN": config["refresh_token"],
        "TAP_ZOHO_API_DOMAIN": sandbox.base_url,
        "TARGET_CLICKHOUSE_PATH": f"{tmp}/clickhouse",
    }

    def spent(modules: list[str]) -> int:
        before = sandbox.stats.credits
        env = {**base, "TAP_ZOHO_CRM_MODULES": json.dumps(modules)}
        done = subprocess.run(
            [str(meltano), "run", "crm-to-clickhouse"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return sandbox.stats.credits - before

    full = spent(CRM)
    poll = spent(CRM)
    sandbox.update("Leads", min(sandbox.records("Leads")), {"Last_Name": "Edited"})
    notified = spent(["Leads"])
    sandbox.stop()
    print(f"first full run, {len(CRM)} modules: {full} credits")
    print(f"incremental run, nothing changed (one poll): {poll} credits")
    print(f"polling every 5 minutes: {poll * POLLS_PER_DAY} credits a day")
    print(f"run started by a Leads notification (one edit): {notified} credits")


if __name__ == "__main__":
    main()
