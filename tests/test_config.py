"""Settings: `TURASH_*_FILE` secrets, and configuration mistakes reported as such (exit 2), never as a crash."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from turash.config import ConfigurationError, Settings


def test_a_setting_can_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "db_url"
    secret.write_text("postgres://turash:s3cret@db/turash\n")  # as `echo ... > file` writes it
    monkeypatch.setenv("TURASH_DATABASE_URL_FILE", str(secret))
    monkeypatch.delenv("TURASH_DATABASE_URL", raising=False)
    assert Settings().database_url == "postgresql+psycopg://turash:s3cret@db/turash"  # read, then normalised
    (tmp_path / "limit").write_text("120")
    monkeypatch.setenv("TURASH_API_RATE_LIMIT_FILE", str(tmp_path / "limit"))
    assert Settings().api_rate_limit == 120  # typed like the variable itself


def test_the_variable_itself_wins_over_its_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "redis").write_text("redis://from-file:6379/0")
    monkeypatch.setenv("TURASH_REDIS_URL_FILE", str(tmp_path / "redis"))
    monkeypatch.setenv("TURASH_REDIS_URL", "redis://from-env:6379/0")
    assert Settings().redis_url == "redis://from-env:6379/0"


def test_an_unreadable_file_names_the_variable_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = tmp_path / "nope"
    monkeypatch.setenv("TURASH_SMTP_URL_FILE", str(missing))
    monkeypatch.delenv("TURASH_SMTP_URL", raising=False)
    with pytest.raises(ConfigurationError, match=rf"TURASH_SMTP_URL_FILE={missing}: cannot read the file"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("TURASH_API_RATE_LIMIT", "lots", "TURASH_API_RATE_LIMIT: Input should be a valid integer"),
        ("TURASH_NATS_URL_FILE", "/nonexistent/nats", "TURASH_NATS_URL_FILE=/nonexistent/nats: cannot read"),
    ],
)
def test_the_cli_reports_configuration_errors_with_exit_2(
    variable: str, value: str, message: str, tmp_path: Path
) -> None:
    env = {**os.environ, variable: value, "COLUMNS": "200"}
    env.pop("TURASH_DEBUG", None)
    done = subprocess.run(
        [sys.executable, "-m", "turash.cli", "match", "--format", "json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "configuration error:" in done.stderr and message in done.stderr
    assert "Traceback" not in done.stderr and "bug" not in done.stderr
