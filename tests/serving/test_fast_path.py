"""`POST /rpc` without `Origin` takes a shorter way through the app: same answer, same headers."""

from __future__ import annotations

import httpx

CALL = {"jsonrpc": "2.0", "method": "system.getLicense", "id": 1}


async def test_with_and_without_origin_the_answer_is_the_same(client: httpx.AsyncClient) -> None:
    plain = await client.post("/rpc", json=CALL, headers={"x-request-id": "fast-1"})
    cross = await client.post(
        "/rpc", json=CALL, headers={"x-request-id": "fast-2", "origin": "http://localhost:3000"}
    )
    assert plain.status_code == cross.status_code == 200
    assert plain.content == cross.content
    assert plain.headers["x-request-id"] == "fast-1" and cross.headers["x-request-id"] == "fast-2"
    assert plain.headers["vary"] == "Origin"  # as the CORS middleware marks a request without Origin
    assert cross.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert plain.headers["content-type"] == cross.headers["content-type"] == "application/json"


async def test_the_short_way_keeps_every_limit(client: httpx.AsyncClient) -> None:
    framing = await client.post(
        "/rpc", content=b"{}", headers={"content-type": "application/json", "transfer-encoding": "chunked"}
    )
    assert framing.status_code == 400 and framing.json()["error"]["data"]["code"] == "BAD_REQUEST"
    wrong_type = await client.post("/rpc", content=b"{}", headers={"content-type": "text/plain"})
    assert wrong_type.json()["error"]["data"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert wrong_type.headers["x-request-id"]
