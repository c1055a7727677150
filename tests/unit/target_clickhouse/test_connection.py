"""Client settings: the HTTP client built from the target's settings, chDB without a host."""

from __future__ import annotations

from target_clickhouse.connection import client_kwargs


def test_http_client_is_built_from_the_settings_without_a_session_id():
    kwargs = client_kwargs(
        {
            "host": "ch.example.internal",
            "secure": True,
            "username": "loader",
            "password": "pw",
            "verify": False,
            "client_settings": {"async_insert": 1},
        }
    )

    assert kwargs["host"] == "ch.example.internal"
    assert kwargs["port"] == 8443
    assert kwargs["secure"] is True
    assert kwargs["verify"] is False
    assert kwargs["username"] == "loader"
    assert kwargs["password"] == "pw"
    assert kwargs["autogenerate_session_id"] is False
    assert kwargs["settings"] == {"async_insert": 1}
    assert client_kwargs({"host": "h"})["port"] == 8123


def test_without_a_host_the_embedded_engine_is_used(tmp_path):
    kwargs = client_kwargs({"path": str(tmp_path / "x")})
    assert kwargs["interface"] == "chdb"
    assert kwargs["path"] == str((tmp_path / "x").resolve())
