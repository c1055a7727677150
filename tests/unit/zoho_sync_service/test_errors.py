"""One error tree: every failure the service reports on purpose is a ServiceError, one line."""

from __future__ import annotations

from zoho_sync_service import cli, intake
from zoho_sync_service.errors import (
    AlreadyRunningError,
    ChannelError,
    RejectedError,
    ServiceError,
    SettingsError,
)
from zoho_sync_service.instance import InstanceLock


def test_every_error_the_service_raises_on_purpose_is_a_service_error():
    for error in (RejectedError, SettingsError, ChannelError, AlreadyRunningError):
        assert issubclass(error, ServiceError)
    assert issubclass(SettingsError, ValueError)  # what callers caught before still catches it
    assert intake.RejectedError is RejectedError


def test_the_cli_turns_any_service_error_into_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    database = tmp_path / "service.db"
    monkeypatch.setenv("ZOHO_SYNC_SERVICE_DATABASE", str(database))
    holder = InstanceLock(database)
    holder.acquire("http://127.0.0.1:8080")
    try:
        assert cli.main(["--project-dir", str(tmp_path), "serve", "--port", "0"]) == 2
    finally:
        holder.release()
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert line.startswith("zoho-sync-service: another zoho-sync-service (pid ")
    monkeypatch.setenv("ZOHO_SYNC_SERVICE_DEBOUNCE_SECONDS", "soon")
    assert cli.main(["--project-dir", str(tmp_path), "runs"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "ZOHO_SYNC_SERVICE_DEBOUNCE_SECONDS: not a number" in line
