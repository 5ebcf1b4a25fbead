"""`tests.serving.slow_app:app`: the real API plus `serving.sleep`, which `tests.serving.run`
serves. A call that takes as long as a test needs, and tells when it has started, makes the
request timeout and graceful shutdown testable."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import msgspec
from starlette.applications import Starlette

from procedures import api
from tvms.app import create_app
from tvms.config import load_config, log_level_number
from tvms.logs import setup_logging
from tvms.rpc import PUBLIC, Context, Router

serving = Router("serving")


class SleepInput(msgspec.Struct, forbid_unknown_fields=True):
    seconds: float
    marker: str = ""


class Slept(msgspec.Struct):
    slept: float


@serving.query("sleep", auth=PUBLIC)
async def sleep(ctx: Context, input: SleepInput) -> Slept:
    """Sleep `seconds`; first write `marker` (a file path), so a test knows the call runs."""
    if input.marker:
        await asyncio.to_thread(Path(input.marker).write_text, "started")
    await asyncio.sleep(input.seconds)
    return Slept(slept=input.seconds)


def build() -> Starlette:
    config = load_config()
    setup_logging(log_level_number(config))
    real = api()
    return create_app(config, dataclasses.replace(real, routers=[*real.routers, serving]))


app = build()
