"""The service's public base URL (`scheme://host[:port][/prefix]`), for the absolute links it hands out.

From the configured public URL (`TVMS_PUBLIC_URL`) when set; else from the request: its scheme
and `Host` header, or `X-Forwarded-Proto` / `X-Forwarded-Host` when the configuration says a
trusted proxy sets them (`TVMS_TRUST_FORWARDED=1`; otherwise any client could point the links
at another host). A header that is not a plain host name, IPv4 or bracketed IPv6 address with
an optional port is ignored, and the configured listen address is the last resort.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tvms.config import valid_host

if TYPE_CHECKING:
    from tvms.config import Config
    from tvms.rpc.credentials import Credentials

_SCHEMES = ("http", "https")


def base_url(config: Config, credentials: Credentials | None = None) -> str:
    """The base URL links are built on, without a trailing slash."""
    if config.public_url:
        return config.public_url
    if credentials is not None:
        scheme, host = credentials.scheme, credentials.host
        if config.trust_forwarded:
            if credentials.forwarded_proto in _SCHEMES:
                scheme = credentials.forwarded_proto
            if credentials.forwarded_host is not None and valid_host(credentials.forwarded_host):
                host = credentials.forwarded_host
        if host is not None and valid_host(host) and scheme in _SCHEMES:
            return f"{scheme}://{host.lower()}"
    host = config.host if ":" not in config.host else f"[{config.host}]"
    return f"http://{host}:{config.port}"


def absolute(url: str, base: str) -> str:
    """`url` made absolute on `base` when it is root-relative (as local storage signs them)."""
    return base + url if url.startswith("/") and not url.startswith("//") else url
