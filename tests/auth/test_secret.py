"""The token secret: TVMS_SECRET_KEY (≥ 32 bytes) or a key generated once into the data dir (0600)."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import pytest

from tvms.config import Config, ConfigError
from tvms.security.tokens import check_secret, load_secret


def test_short_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_secret(Config(data_dir=tmp_path, secret_key="x" * 31))
    message = str(raised.value)
    assert "TVMS_SECRET_KEY must be at least 32 bytes (got 31)" in message and "\n" not in message
    assert not (tmp_path / "secret.key").exists()


def test_key_from_the_environment(tmp_path: Path) -> None:
    assert load_secret(Config(data_dir=tmp_path, secret_key="k" * 32)) == b"k" * 32
    assert load_secret(Config(data_dir=tmp_path, secret_key="é" * 16)) == "é".encode() * 16  # 32 bytes


def test_generated_once_with_mode_600(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    data = tmp_path / "data"
    config = Config(data_dir=data)
    with caplog.at_level(logging.WARNING, logger="tvms.security"):
        first = load_secret(config)
        second = load_secret(config)
    assert first == second and len(first) >= 32
    path = data / "secret.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    notes = [record for record in caplog.records if "generated a new secret key" in record.getMessage()]
    assert len(notes) == 1
    assert first.decode() not in caplog.text  # the key itself is never logged
    assert [p.name for p in data.iterdir()] == ["secret.key"]  # no temporary file left behind


def test_loose_permissions_are_tightened(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("s" * 40 + "\n")
    os.chmod(path, 0o644)
    assert load_secret(Config(data_dir=tmp_path)) == b"s" * 40
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_short_key_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.key"
    path.write_text("short")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError):
        load_secret(Config(data_dir=tmp_path))


def test_environment_key_wins_over_the_file(tmp_path: Path) -> None:
    (tmp_path / "secret.key").write_text("f" * 40)
    assert load_secret(Config(data_dir=tmp_path, secret_key="e" * 40)) == b"e" * 40


def test_check_secret_for_start_up(tmp_path: Path) -> None:
    check_secret(Config(data_dir=tmp_path))
    assert (tmp_path / "secret.key").exists()
    with pytest.raises(ConfigError):
        check_secret(Config(data_dir=tmp_path, secret_key="short"))
