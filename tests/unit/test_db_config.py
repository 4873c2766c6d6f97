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
    assert config["engine"] == "nurture.sqlite_backend"  # Tortoise's, safe against cancellation
    assert "connection_class" not in config["credentials"]


def test_the_sqlite_file_is_read_as_tortoise_reads_it() -> None:
    from pathlib import Path

    from nurture.db import sqlite_file
    from nurture.settings import load_settings

    def file_of(url: str) -> Path | None:
        settings = load_settings(environ={"NURTURE_DATABASE_URL": url, "NURTURE_SECRET_KEY": "k" * 40},
                                 dotenv_path=None)
        return sqlite_file(settings)

    assert file_of("sqlite://var/nurture.sqlite3") == Path("var/nurture.sqlite3")  # relative stays relative
    assert file_of("sqlite:///srv/nurture.sqlite3") == Path("/srv/nurture.sqlite3")
    assert file_of("postgres://postgres@127.0.0.1:5432/test") is None
