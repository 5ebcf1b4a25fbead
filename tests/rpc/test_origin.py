"""The public base URL that absolute links are built on: configured, else the request's, safely."""

from __future__ import annotations

import pytest

from tvms.config import Config, ConfigError, load_config, valid_host
from tvms.rpc import Credentials
from tvms.rpc.origin import absolute, base_url


def test_the_configured_public_url_wins() -> None:
    config = Config(public_url="https://tvms.city.example/api")
    assert base_url(config, Credentials(host="evil.example")) == "https://tvms.city.example/api"


def test_the_host_header_is_used_when_nothing_is_configured() -> None:
    assert base_url(Config(), Credentials(host="Api.City.Example:8080")) == "http://api.city.example:8080"
    assert base_url(Config(), Credentials(scheme="https", host="[::1]:8443")) == "https://[::1]:8443"


@pytest.mark.parametrize(
    "host",
    [
        "evil.example/path",
        "user@evil.example",
        "evil.example:99999",
        "evil example",
        "evil.example\r\nX: y",
        "-bad.example",
        "",
        "a" * 300,
        "evil.example:8080:1",
    ],
)
def test_a_malformed_host_header_is_ignored(host: str) -> None:
    assert not valid_host(host)
    assert base_url(Config(port=8123), Credentials(host=host)) == "http://127.0.0.1:8123"


def test_forwarded_headers_count_only_when_trusted() -> None:
    proxied = Credentials(host="10.0.0.5:8000", forwarded_host="tvms.city.example", forwarded_proto="https")
    assert base_url(Config(), proxied) == "http://10.0.0.5:8000"
    assert base_url(Config(trust_forwarded=True), proxied) == "https://tvms.city.example"
    forged = Credentials(host="tvms.city.example", forwarded_host="x/y", forwarded_proto="javascript")
    assert base_url(Config(trust_forwarded=True), forged) == "http://tvms.city.example"


def test_only_root_relative_urls_are_joined() -> None:
    assert absolute("/storage/objects/a.jpg?x=1", "https://h") == "https://h/storage/objects/a.jpg?x=1"
    assert absolute("https://s3.example/b/a.jpg", "https://h") == "https://s3.example/b/a.jpg"
    assert absolute("//other.example/a", "https://h") == "//other.example/a"


def test_public_url_and_forwarding_are_configured_from_the_environment() -> None:
    config = load_config({"TVMS_PUBLIC_URL": "https://tvms.city.example/", "TVMS_TRUST_FORWARDED": "1"})
    assert config.public_url == "https://tvms.city.example"
    assert config.trust_forwarded
    for bad in ("ftp://x", "https://x/?q=1", "tvms.city.example", "https://a b"):
        with pytest.raises(ConfigError, match="TVMS_PUBLIC_URL"):
            load_config({"TVMS_PUBLIC_URL": bad})
    with pytest.raises(ConfigError, match="TVMS_TRUST_FORWARDED"):
        load_config({"TVMS_TRUST_FORWARDED": "maybe"})
