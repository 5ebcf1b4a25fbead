"""`GET /api/v1/metrics/export`: the Prometheus text of `/metrics`, for ADMIN bearer tokens only."""

from __future__ import annotations

import httpx

from tests.support import as_device, as_role, call


async def test_an_admin_gets_the_same_text_as_metrics(client: httpx.AsyncClient) -> None:
    await call(client, "system.getLicense")
    response = await client.get("/api/v1/metrics/export", headers=as_role("ADMIN"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "system.getLicense" in response.text
    plain = (await client.get("/metrics")).text
    # the same families as /metrics (values such as process CPU time may move between the two GETs)
    assert _families(response.text) == _families(plain) != set()


def _families(text: str) -> set[str]:
    return {line for line in text.splitlines() if line.startswith("# TYPE ")}


async def test_without_a_token_it_is_401(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/metrics/export")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert "tvms_rpc" not in response.text


async def test_a_bad_token_is_401(client: httpx.AsyncClient) -> None:
    for token in ("nonsense", "test:ADMIN:", "eyJhbGciOiJub25lIn0.e30."):
        response = await client.get("/api/v1/metrics/export", headers={"authorization": f"Bearer {token}"})
        assert response.status_code == 401, token
        assert "tvms_rpc" not in response.text


async def test_other_roles_and_devices_are_403(client: httpx.AsyncClient) -> None:
    for headers in (as_role("OPERATOR"), as_role("VIEWER")):
        response = await client.get("/api/v1/metrics/export", headers=headers)
        assert response.status_code == 403
        assert "tvms_rpc" not in response.text
    # a device key is not a bearer token: the export wants one
    assert (await client.get("/api/v1/metrics/export", headers=as_device())).status_code == 401
