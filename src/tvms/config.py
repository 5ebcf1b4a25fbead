"""Configuration from `TVMS_*` environment variables, checked once at start.

Every problem is a `ConfigError` whose message is one line naming the variable, so the CLI
can print it and exit without a traceback.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

DEFAULT_CORS_ORIGINS = (
    "https://itms.solutions",
    "https://www.itms.solutions",
    "https://*.pages.dev",
    "http://localhost:3000",
)

SERVERS = ("uvicorn", "hypercorn")
"""The HTTP servers `tvms serve` can run on (`TVMS_SERVER`, `--server`); the first is the default."""


class ConfigError(Exception):
    """A bad setting; the message is one line fit for the terminal."""


@dataclass(frozen=True, slots=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    server: str = "uvicorn"
    data_dir: Path = Path("data")
    database_url: str = ""
    storage_url: str = ""
    secret_key: str | None = None
    cors_origins: tuple[str, ...] = DEFAULT_CORS_ORIGINS
    max_body_bytes: int = 10 * 1024 * 1024
    max_batch: int = 100
    request_timeout: float = 30.0
    body_timeout: float = 30.0
    body_buffer_bytes: int = 64 * 1024 * 1024
    log_level: str = "INFO"
    license_file: Path | None = None
    metrics_dir: Path | None = None
    """Where every worker writes its metrics (`PROMETHEUS_MULTIPROC_DIR`; `tvms serve` makes one)."""
    bcrypt_rounds: int = 12
    report_lease_s: float = 60.0
    """How long a report job stays with a worker that stopped renewing it (a crashed replica)."""
    public_url: str = ""
    """`scheme://host[:port][/prefix]` the service is reached at (TVMS_PUBLIC_URL), for absolute links."""
    trust_forwarded: bool = False
    """Build links from X-Forwarded-Host/-Proto (TVMS_TRUST_FORWARDED=1: a proxy sets them)."""
    rate_limit: int = 1000
    """Anonymous or failed calls a client may make per `rate_limit_window_s` (0: no limit)."""
    rate_limit_window_s: int = 60
    db_fast_paths: bool = True
    """SQLite reads on the event loop under a time budget, parked PostgreSQL connections
    (TVMS_DB_FAST_PATHS=0 turns both off: same results, the plain driver paths)."""
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'tvms.db'}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or f"file://{(self.data_dir / 'storage').as_posix()}"


N = TypeVar("N", int, float)


def _number(env: Mapping[str, str], name: str, default: N, low: N, high: N, parse: type[N], kind: str) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = parse(raw)
    except ValueError:
        raise ConfigError(f"{name} must be {kind}, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    return _number(env, name, default, low, high, int, "a whole number")


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    return _number(env, name, default, low, high, float, "a number")


def _database_url(raw: str) -> str:
    if raw.startswith(("sqlite:///", "postgresql://", "postgres://")):
        if raw.startswith("sqlite:///") and raw in ("sqlite:///", "sqlite:///:memory:"):
            raise ConfigError("TVMS_DATABASE_URL must name a database file, e.g. sqlite:///data/tvms.db")
        return raw
    raise ConfigError(
        f"TVMS_DATABASE_URL must start with sqlite:/// or postgresql://, got {raw.split(':', 1)[0]!r}"
    )


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST = re.compile(
    rf"(?:{_LABEL}(?:\.{_LABEL})*\.?|\[[0-9A-Fa-f:.]{{2,45}}\])(?::(?:[1-9][0-9]{{0,4}}))?",
)


def valid_host(value: str) -> bool:
    """`host[:port]` as a Host header may carry it, and nothing else (no path, user, spaces):
    what `TVMS_PUBLIC_URL` must name, and what `tvms.rpc.origin` accepts from a request."""
    if len(value) > 260 or not _HOST.fullmatch(value):
        return False
    _, colon, port = value.rpartition(":")
    return not colon or "]" in port or int(port) <= 65535


def _public_url(raw: str) -> str:
    parts = urlsplit(raw)
    if (
        parts.scheme not in ("http", "https")
        or not valid_host(parts.netloc)
        or parts.query
        or parts.fragment
        or not all(ch.isprintable() and not ch.isspace() for ch in parts.path)
    ):
        raise ConfigError(f"TVMS_PUBLIC_URL must be http(s)://host[:port][/path], got {raw[:100]!r}")
    return raw.rstrip("/")


def _flag(env: Mapping[str, str], name: str, default: bool = False) -> bool:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name} must be 1 or 0, got {raw[:20]!r}")


ENVIRONMENT: tuple[tuple[str, str], ...] = (
    ("TVMS_DATABASE_URL", "sqlite:///path or postgresql://… (default sqlite:///<data dir>/tvms.db)"),
    ("TVMS_STORAGE_URL", "file://dir or s3://bucket?endpoint=…&region=… (default <data dir>/storage)"),
    ("AWS_*", "S3 credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or any botocore source)"),
    ("TVMS_DATA_DIR", "local data directory (default ./data)"),
    ("TVMS_SECRET_KEY", "token signing key, >= 32 bytes; required with several workers or PostgreSQL"),
    ("TVMS_HOST", "address `serve` binds (default 127.0.0.1)"),
    ("TVMS_PORT", "port `serve` listens on (default 8000)"),
    ("TVMS_WORKERS", "worker processes (default 1)"),
    ("TVMS_SERVER", f"HTTP server: {' or '.join(SERVERS)} (default {SERVERS[0]})"),
    ("TVMS_PUBLIC_URL", "https://host[/prefix] clients reach the service at; links are built on it"),
    ("TVMS_TRUST_FORWARDED", "1: links follow X-Forwarded-Host/-Proto (only behind a proxy; default 0)"),
    ("TVMS_LOG_LEVEL", "debug, info, warning or error (JSON lines on stderr; default info)"),
    ("TVMS_CORS_ORIGINS", "comma-separated allowed origins (default the documented ones)"),
    ("TVMS_MAX_BODY_BYTES", "request body limit (default 10485760)"),
    ("TVMS_MAX_BATCH", "requests per batch (default 100)"),
    ("TVMS_REQUEST_TIMEOUT", "seconds one HTTP request may take (default 30)"),
    ("TVMS_BODY_TIMEOUT", "seconds a request body may take to arrive (default 30)"),
    ("TVMS_BODY_BUFFER_BYTES", "bytes all unfinished bodies of a process may hold (default 67108864)"),
    ("TVMS_RATE_LIMIT", "anonymous or failed calls per client per window, 0: off (default 1000)"),
    ("TVMS_RATE_LIMIT_WINDOW", "the rate limit's window in seconds (default 60)"),
    ("TVMS_LICENSE_FILE", "JSON licence file (default the unlimited enterprise licence)"),
    ("TVMS_BCRYPT_ROUNDS", "password hashing cost, 4 to 31 (default 12)"),
    (
        "TVMS_DB_FAST_PATHS",
        "0: SQLite reads off the event loop, no parked PostgreSQL connections (default 1)",
    ),
    ("TVMS_REPORT_LEASE_S", "seconds before a stopped replica's running report is retried (default 60)"),
)
"""Every variable the service reads, with its meaning: `tvms --help` lists these."""


def load_config(env: Mapping[str, str] | None = None) -> Config:
    """The configuration from the environment (or the given mapping)."""
    env = os.environ if env is None else env
    level = env.get("TVMS_LOG_LEVEL", "INFO").upper()
    if level not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise ConfigError(f"TVMS_LOG_LEVEL must be debug, info, warning or error, got {level.lower()!r}")
    origins = env.get("TVMS_CORS_ORIGINS")
    cors = (
        DEFAULT_CORS_ORIGINS
        if origins is None
        else tuple(origin.strip() for origin in origins.split(",") if origin.strip())
    )
    for origin in cors:
        if origin != "*" and not origin.startswith(("http://", "https://")):
            raise ConfigError(f"TVMS_CORS_ORIGINS: {origin!r} is not an http(s) origin")
    storage_url = env.get("TVMS_STORAGE_URL", "")
    if storage_url and not storage_url.startswith(("file://", "s3://")):
        raise ConfigError("TVMS_STORAGE_URL must start with file:// or s3://")
    license_file = env.get("TVMS_LICENSE_FILE") or None
    if license_file is not None and not Path(license_file).is_file():
        raise ConfigError(f"TVMS_LICENSE_FILE: no such file {license_file!r}")
    database_url = env.get("TVMS_DATABASE_URL", "")
    server = (env.get("TVMS_SERVER") or "uvicorn").lower()
    if server not in SERVERS:
        raise ConfigError(f"TVMS_SERVER must be one of {', '.join(SERVERS)}, got {server!r}")
    metrics_dir = env.get("PROMETHEUS_MULTIPROC_DIR") or None
    if metrics_dir is not None and not Path(metrics_dir).is_dir():
        raise ConfigError(f"PROMETHEUS_MULTIPROC_DIR: no such directory {metrics_dir!r}")
    config = Config(
        host=env.get("TVMS_HOST", "127.0.0.1") or "127.0.0.1",
        port=_int(env, "TVMS_PORT", 8000, 1, 65535),
        workers=_int(env, "TVMS_WORKERS", 1, 1, 64),
        server=server,
        data_dir=Path(env.get("TVMS_DATA_DIR") or "data"),
        database_url=_database_url(database_url) if database_url else "",
        storage_url=storage_url,
        secret_key=env.get("TVMS_SECRET_KEY") or None,
        cors_origins=cors,
        max_body_bytes=_int(env, "TVMS_MAX_BODY_BYTES", 10 * 1024 * 1024, 1024, 1024**3),
        max_batch=_int(env, "TVMS_MAX_BATCH", 100, 1, 10_000),
        request_timeout=_float(env, "TVMS_REQUEST_TIMEOUT", 30.0, 0.1, 3600.0),
        body_timeout=_float(env, "TVMS_BODY_TIMEOUT", 30.0, 0.1, 3600.0),
        body_buffer_bytes=_int(env, "TVMS_BODY_BUFFER_BYTES", 64 * 1024 * 1024, 1024, 1024**4),
        log_level=level,
        license_file=Path(license_file) if license_file else None,
        metrics_dir=Path(metrics_dir) if metrics_dir else None,
        bcrypt_rounds=_int(env, "TVMS_BCRYPT_ROUNDS", 12, 4, 31),
        report_lease_s=_float(env, "TVMS_REPORT_LEASE_S", 60.0, 3.0, 3600.0),
        public_url=_public_url(env["TVMS_PUBLIC_URL"]) if env.get("TVMS_PUBLIC_URL") else "",
        trust_forwarded=_flag(env, "TVMS_TRUST_FORWARDED"),
        rate_limit=_int(env, "TVMS_RATE_LIMIT", 1000, 0, 10_000_000),
        rate_limit_window_s=_int(env, "TVMS_RATE_LIMIT_WINDOW", 60, 1, 86_400),
        db_fast_paths=_flag(env, "TVMS_DB_FAST_PATHS", default=True),
    )
    if config.body_buffer_bytes < config.max_body_bytes:
        raise ConfigError(
            f"TVMS_BODY_BUFFER_BYTES ({config.body_buffer_bytes}) must be at least TVMS_MAX_BODY_BYTES"
            f" ({config.max_body_bytes}), or no body of the largest size could ever be read"
        )
    return config


def log_level_number(config: Config) -> int:
    return logging.getLevelNamesMapping()[config.log_level]
