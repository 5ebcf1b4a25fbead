from __future__ import annotations

from pathlib import Path

import pytest

from tvms.config import DEFAULT_CORS_ORIGINS, ConfigError, load_config


def test_defaults_need_nothing_configured() -> None:
    config = load_config({})
    assert (config.host, config.port, config.workers) == ("127.0.0.1", 8000, 1)
    assert config.data_dir == Path("data")
    assert config.resolved_database_url == "sqlite:///data/tvms.db"
    assert config.resolved_storage_url == "file://data/storage"
    assert config.cors_origins == DEFAULT_CORS_ORIGINS
    assert config.max_body_bytes == 10 * 1024 * 1024 and config.max_batch == 100
    assert config.request_timeout == 30.0


def test_values_from_the_environment(tmp_path: Path) -> None:
    license_file = tmp_path / "license.json"
    license_file.write_text("{}")
    config = load_config(
        {
            "TVMS_HOST": "0.0.0.0",
            "TVMS_PORT": "9000",
            "TVMS_WORKERS": "4",
            "TVMS_DATA_DIR": str(tmp_path),
            "TVMS_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/tvms",
            "TVMS_CORS_ORIGINS": "https://a.kz, https://*.b.kz",
            "TVMS_MAX_BATCH": "20",
            "TVMS_LOG_LEVEL": "debug",
            "TVMS_LICENSE_FILE": str(license_file),
        }
    )
    assert (config.host, config.port, config.workers) == ("0.0.0.0", 9000, 4)
    assert config.resolved_database_url == "postgresql://postgres@127.0.0.1:5432/tvms"
    assert config.resolved_storage_url == f"file://{tmp_path.as_posix()}/storage"
    assert config.cors_origins == ("https://a.kz", "https://*.b.kz")
    assert config.max_batch == 20 and config.log_level == "DEBUG" and config.license_file == license_file


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"TVMS_PORT": "http"}, "TVMS_PORT must be a whole number, got 'http'"),
        ({"TVMS_PORT": "70000"}, "TVMS_PORT must be between 1 and 65535, got 70000"),
        ({"TVMS_WORKERS": "0"}, "TVMS_WORKERS must be between 1 and 64, got 0"),
        (
            {"TVMS_DATABASE_URL": "mysql://root@localhost/x"},
            "TVMS_DATABASE_URL must start with sqlite:/// or postgresql://",
        ),
        ({"TVMS_DATABASE_URL": "sqlite:///:memory:"}, "TVMS_DATABASE_URL must name a database file"),
        ({"TVMS_LOG_LEVEL": "loud"}, "TVMS_LOG_LEVEL must be debug, info, warning or error"),
        ({"TVMS_CORS_ORIGINS": "ftp://x"}, "TVMS_CORS_ORIGINS: 'ftp://x' is not an http(s) origin"),
        ({"TVMS_STORAGE_URL": "gs://bucket"}, "TVMS_STORAGE_URL must start with file:// or s3://"),
        ({"TVMS_LICENSE_FILE": "/nonexistent/license.json"}, "TVMS_LICENSE_FILE: no such file"),
        ({"TVMS_REQUEST_TIMEOUT": "-1"}, "TVMS_REQUEST_TIMEOUT must be between"),
        ({"TVMS_MAX_BODY_BYTES": "10MB"}, "TVMS_MAX_BODY_BYTES must be a whole number"),
    ],
)
def test_bad_configuration_is_one_clear_line(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(env)
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)
