"""Fixtures for the storage suite: every backend test runs on local files AND on a real
SeaweedFS S3 server (started once per session on free loopback ports)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from tests.storage.seaweed import SeaweedS3, seaweedfs
from tvms.app import Api, create_app
from tvms.config import Config
from tvms.storage import LocalStorage, Storage, storage_routes
from tvms.storage.s3 import S3Storage

LOCAL_BASE = "http://tvms.test"


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedS3]:
    """One SeaweedFS for the session; a missing `weed` binary is an error, never a skip."""
    with seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as server:
        yield server


async def new_s3_storage(seaweed: SeaweedS3) -> S3Storage:
    """An S3Storage on a fresh bucket of the test server."""
    storage = S3Storage(
        f"t-{uuid.uuid4().hex[:20]}",
        endpoint=seaweed.endpoint,
        access_key=seaweed.access_key,
        secret_key=seaweed.secret_key,
    )
    await storage.create_bucket()
    return storage


@dataclass
class Backend:
    storage: Storage
    http: httpx.AsyncClient
    """Reaches signed URLs: the app's routes for local files, the network for S3."""


@asynccontextmanager
async def local_app(tmp_path: Path) -> AsyncIterator[Starlette]:
    """An app serving only the local backend's signed-URL routes."""
    config = Config(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'unused.db'}",
        storage_url=f"file://{tmp_path / 'storage'}?public_url={LOCAL_BASE}",
    )
    app = create_app(config, Api(routers=[], routes=storage_routes()))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture(params=["local", "s3"])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "local":
        async with local_app(tmp_path) as app:
            storage: Storage = app.state.services.storage
            assert isinstance(storage, LocalStorage)
            mounts = {LOCAL_BASE: httpx.ASGITransport(app=app)}
            async with httpx.AsyncClient(mounts=mounts) as http:
                yield Backend(storage, http)
    else:
        s3 = await new_s3_storage(request.getfixturevalue("seaweed"))
        try:
            async with httpx.AsyncClient() as http:
                yield Backend(s3, http)
        finally:
            await s3.close()
