"""The served OpenRPC document: its info block, an absolute server URL, and the official validator."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest

from tests.support import call
from tvms.app import DESCRIPTION

VALIDATOR_DIR = Path(__file__).parent / "openrpc_validator"


@pytest.fixture(scope="session")
def official_validator() -> Path:
    """tests/clients/openrpc_validator with @open-rpc/schema-utils-js installed (`npm ci`, once)."""
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.fail("node and npm must be on the PATH for the OpenRPC validator test")
    done = subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"],
        cwd=VALIDATOR_DIR,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return VALIDATOR_DIR


def validate(directory: Path, document: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None
    return subprocess.run(
        [node, "validate.mjs"],
        cwd=directory,
        input=msgspec.json.encode(document).decode(),
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_the_info_block_describes_the_service(client: httpx.AsyncClient) -> None:
    info = (await client.get("/openrpc.json")).json()["info"]
    assert info == {"title": "TVMS API", "version": info["version"], "description": DESCRIPTION}
    assert "users.update" not in info["description"]


async def test_the_served_document_passes_the_official_validator(
    client: httpx.AsyncClient, official_validator: Path
) -> None:
    document = (await client.get("/openrpc.json")).json()
    assert document["servers"] == [{"name": "default", "url": "http://tvms.test/rpc"}]
    checked = validate(official_validator, document)
    assert checked.returncode == 0 and checked.stdout.strip() == "valid", checked.stdout + checked.stderr


async def test_the_official_validator_checks_formats(
    client: httpx.AsyncClient, official_validator: Path
) -> None:
    document = (await client.get("/openrpc.json")).json()
    relative = {**document, "servers": [{"name": "default", "url": "/rpc"}]}
    checked = validate(official_validator, relative)
    assert checked.returncode == 1
    assert "servers[0].url" in checked.stdout and '"uri"' in checked.stdout


async def test_rpc_discover_announces_the_same_absolute_server(client: httpx.AsyncClient) -> None:
    discovered = (await call(client, "rpc.discover"))["result"]
    assert discovered == (await client.get("/openrpc.json")).json()
    other = (await client.get("/openrpc.json", headers={"host": "api.city.example:8443"})).json()
    assert other["servers"][0]["url"] == "http://api.city.example:8443/rpc"
