"""The tap-zoho command line: one clear error line per credential problem, no secrets, Singer modes, kills."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time

from tests.support.listing import ITEMS, activations, delete, listed
from tests.support.pipes import write_json
from tests.support.tap import FAST, TAP, books_config, leads_bookmark, run_cli, run_tap
from tests.zoho_sandbox import BOOKS_ORG, CLIENT_ID, Sandbox


def _error_lines(result):
    return [line for line in result.stderr.splitlines() if line.startswith("tap-zoho: error:")]


def _assert_secrets_absent(result, *secrets):
    for secret in secrets:
        assert secret not in result.stdout
        assert secret not in result.stderr


def test_a_wrong_client_secret_gives_one_error_line_and_exit_1(sandbox, tmp_path):
    config = sandbox.tap_config(client_secret="not-the-secret-1234")
    result = run_cli(["--config", str(write_json(tmp_path / "c.json", config))])

    assert result.returncode == 1
    assert len(_error_lines(result)) == 1
    assert "invalid_client_secret" in _error_lines(result)[0]
    _assert_secrets_absent(result, "not-the-secret-1234", config["refresh_token"])
    assert "Traceback" not in result.stderr


def test_a_client_from_another_data_centre_is_named_as_such(tmp_path):
    sandbox = Sandbox(specs=[])
    sandbox.accounts.register_client(CLIENT_ID, "sandbox-client-secret-0f9e8d7c6b5a", dc="eu")
    sandbox.start()
    try:
        config = sandbox.tap_config()
        result = run_cli(["--config", str(write_json(tmp_path / "c.json", config))])
    finally:
        sandbox.stop()

    assert result.returncode == 1
    line = _error_lines(result)[0]
    assert "invalid_client" in line
    assert "data centre" in line
    _assert_secrets_absent(result, config["client_secret"], config["refresh_token"])


def test_a_revoked_refresh_token_is_reported_with_http_200_error_bodies(sandbox, tmp_path):
    sandbox.faults.token_error_status = 200  # Zoho often answers errors with 200 (pitfall 6)
    sandbox.accounts.refresh_tokens[sandbox.tap_config()["refresh_token"]].revoked = True
    config = sandbox.tap_config()
    result = run_cli(["--config", str(write_json(tmp_path / "c.json", config))])

    assert result.returncode == 1
    assert "invalid_code" in _error_lines(result)[0]
    _assert_secrets_absent(result, config["client_secret"], config["refresh_token"])


def test_the_token_mint_throttle_is_reported_not_looped_on(sandbox, tmp_path):
    sandbox.accounts.mints_per_window = 0
    result = run_cli(["--config", str(write_json(tmp_path / "c.json", sandbox.tap_config()))])

    assert result.returncode == 1
    assert "Access Denied" in _error_lines(result)[0]
    assert sandbox.stats.requests["token_error"] == 1


def test_no_secret_or_access_token_appears_in_a_successful_runs_output(sandbox, tmp_path):
    config = sandbox.tap_config(crm_modules=["Accounts"])
    result = run_cli(["--config", str(write_json(tmp_path / "c.json", config))])

    assert result.returncode == 0, result.stderr[-2000:]
    tokens = list(sandbox.accounts.access_tokens)
    assert tokens
    _assert_secrets_absent(result, config["client_secret"], config["refresh_token"], *tokens)


def test_about_markdown_lists_the_settings():
    result = run_cli(["--about", "--format=markdown"])

    assert result.returncode == 0
    for setting in (
        "client_id",
        "client_secret",
        "refresh_token",
        "api_domain",
        "accounts_domain",
        "start_date",
        "crm_modules",
    ):
        assert f"| {setting} |" in result.stdout


def test_discover_names_streams_after_modules_with_keys_and_replication_key(sandbox, tmp_path):
    result = run_cli(
        ["--config", str(write_json(tmp_path / "c.json", sandbox.tap_config())), "--discover"]
    )

    catalog = json.loads(result.stdout)
    streams = {s["tap_stream_id"]: s for s in catalog["streams"]}
    assert {"leads", "accounts", "price_books", "projects_x", "campaigns"} <= streams.keys()
    assert not {"visits", "approvals", "social"} & streams.keys()
    leads = streams["leads"]
    root = next(m for m in leads["metadata"] if m["breadcrumb"] == [])["metadata"]
    assert root["table-key-properties"] == ["id"]
    assert root["valid-replication-keys"] == ["Modified_Time"]


def test_a_catalog_selects_streams_and_fields_and_only_those_fields_are_requested(
    sandbox, tmp_path
):
    config_path = write_json(tmp_path / "c.json", sandbox.tap_config())
    catalog = json.loads(run_cli(["--config", str(config_path), "--discover"]).stdout)
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            crumb = entry["breadcrumb"]
            if crumb == []:
                entry["metadata"]["selected"] = stream["tap_stream_id"] == "accounts"
            elif stream["tap_stream_id"] == "accounts":
                entry["metadata"]["selected"] = crumb[-1] in {"id", "Account_Name", "Modified_Time"}
    result = run_cli(
        ["--config", str(config_path), "--catalog", str(write_json(tmp_path / "cat.json", catalog))]
    )

    assert result.returncode == 0, result.stderr[-2000:]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    streams = {m["stream"] for m in records if m["type"] == "RECORD"}
    assert streams == {"accounts"}
    record = next(m["record"] for m in records if m["type"] == "RECORD")
    assert set(record) <= {"id", "Account_Name", "Modified_Time", "_sdc_deleted_at"}
    assert "Account_Name" in record
    requested = {q["fields"] for path, q in sandbox.stats.queries if path.endswith("/Accounts")}
    assert requested == {"Modified_Time,Account_Name"}


def test_state_from_a_file_makes_the_run_incremental(sandbox, tmp_path):
    config_path = write_json(tmp_path / "c.json", sandbox.tap_config(crm_modules=["Accounts"]))
    first = run_cli(["--config", str(config_path)])
    states = [
        json.loads(line)["value"]
        for line in first.stdout.splitlines()
        if json.loads(line)["type"] == "STATE"
    ]
    rid = sorted(sandbox.records("Accounts"))[7]
    sandbox.update("Accounts", rid, {"Rating": "Qualified"})

    second = run_cli(
        ["--config", str(config_path), "--state", str(write_json(tmp_path / "s.json", states[-1]))]
    )

    records = [
        json.loads(line)["record"]
        for line in second.stdout.splitlines()
        if json.loads(line)["type"] == "RECORD" and json.loads(line)["stream"] == "accounts"
    ]
    assert [r["id"] for r in records] == [rid]


def test_a_tap_killed_mid_module_resumes_from_its_last_state(full_sandbox, tmp_path):
    sandbox = full_sandbox
    sandbox.faults.latency_seconds = 0.05
    config = {
        **FAST,
        **sandbox.tap_config(
            crm_modules=["Leads"],
            page_size=50,
            crm_include_deleted=False,
            crm_detail_reads=False,
            state_checkpoint_records=10**9,  # only the time-based checkpoint
            state_checkpoint_seconds=1,
        ),
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [str(TAP), "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    before_state: set[str] = set()
    seen: list[str] = []
    state: dict = {}
    stop = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            message = json.loads(line)
            if message["type"] == "RECORD" and message["stream"] == "leads":
                seen.append(message["record"]["id"])
            elif message["type"] == "STATE" and leads_bookmark(message["value"]) and seen:
                state.clear()
                state.update(message["value"])
                before_state.clear()
                before_state.update(seen)
                stop.set()
                return
        stop.set()  # the tap ended without a STATE inside the module

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stop.wait(120)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    time.sleep(0.1)
    sandbox.faults.latency_seconds = 0
    live = set(sandbox.records("Leads"))

    assert state, "no STATE inside the module before the kill"
    assert 0 < len(before_state) < len(live)  # killed mid-module, with progress saved
    resumed = run_tap({**config, "state_checkpoint_records": 1000}, state=state)
    again = {r["id"] for r in resumed.records["leads"]}
    assert before_state | again == live  # nothing lost
    assert len(again) < len(live)  # the resumed run did not start over


def test_a_run_killed_mid_listing_claims_nothing_and_its_resume_lists_everything(finance, tmp_path):
    finance.faults.latency_seconds = 0.05
    config = {
        **FAST,
        **books_config(
            finance, page_size=10, state_checkpoint_records=15, state_checkpoint_seconds=0
        ),
    }
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    proc = subprocess.Popen(
        [str(TAP), "--config", str(path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    killed_run: list[dict] = []
    state: dict = {}
    stop = threading.Event()

    def read() -> None:
        for line in proc.stdout:
            message = json.loads(line)
            killed_run.append(message)
            bookmarks = message.get("value", {}).get("bookmarks", {}).get(ITEMS, {})
            partitions = bookmarks.get("partitions") or [{}]
            if message["type"] == "STATE" and partitions[0].get("replication_key_value"):
                state.update(message["value"])
                stop.set()
                return
        stop.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    stop.wait(120)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    finance.faults.latency_seconds = 0
    org = finance.finance.orgs[BOOKS_ORG]
    read_before = {
        m["record"]["item_id"] for m in killed_run if m["type"] == "RECORD" and m["stream"] == ITEMS
    }
    assert state, "no STATE inside the listing before the kill"
    assert 0 < len(read_before) < len(org.items)
    assert not [m for m in killed_run if m["type"] == "ACTIVATE_VERSION"]
    assert state["bookmarks"][ITEMS]["partitions"][0]["reconcile_pending"] is True
    delete(finance, sorted(read_before)[0], sorted(set(org.items) - read_before)[0])

    resumed = run_tap(config, state=state)

    (activation,) = activations(resumed)
    assert listed(resumed, activation["version"]) == set(org.items)
