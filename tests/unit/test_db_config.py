"""Database configuration: PostgreSQL pools skip asyncpg's per-release reset query."""

from __future__ import annotations

from nurture.db import UnresetConnection, connection_config


def test_postgres_connections_are_released_without_a_reset_query() -> None:
    config = connection_config("postgres://postgres@127.0.0.1:5432/test")
    assert config["engine"] == "tortoise.backends.asyncpg"
    assert config["credentials"]["connection_class"] is UnresetConnection
    assert config["credentials"]["database"] == "test"
    assert UnresetConnection.get_reset_query(None) == ""  # type: ignore[arg-type]


def test_sqlite_is_configured_from_its_url_alone() -> None:
    config = connection_config("sqlite:///tmp/nurture-test.db")
    assert config["engine"] == "tortoise.backends.sqlite"
    assert "connection_class" not in config["credentials"]
