"""The conformance vectors, in process, against the real API (both database engines)."""

from __future__ import annotations

import httpx

from tvms.conformance import VECTORS, check_vector


async def test_every_vector(client: httpx.AsyncClient) -> None:
    # One test for all vectors: each would otherwise pay for a fresh database.
    failures = {}
    for vector in VECTORS:
        response = await client.post(
            "/rpc", content=vector.body, headers={"content-type": vector.content_type}
        )
        problems = check_vector(vector, response.status_code, dict(response.headers), response.content)
        if problems:
            failures[vector.name] = (problems, response.text[:300])
    assert failures == {}


def test_vector_names_are_unique() -> None:
    names = [v.name for v in VECTORS]
    assert len(names) == len(set(names))
