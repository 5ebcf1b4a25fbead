"""What a request presented, before anything is verified."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the request presented, unverified: read by the principal resolver."""

    bearer: str | None = None
    api_key: str | None = None
    client: str | None = None
    user_agent: str | None = None
    scheme: str = "http"
    host: str | None = None
    """The `Host` header, unchecked: `tvms.rpc.origin` validates it before building a link."""
    forwarded_host: str | None = None
    forwarded_proto: str | None = None
