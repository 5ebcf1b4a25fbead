"""The generated client's `login` with a second factor: the MFA step is followed at once when a
code is given, and surfaced as a typed error (with its reason and challenge) when not."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from tvms_client import AsyncClient
from tvms_client.errors import PreconditionFailedError, UnauthorizedError

from tests.auth.support import PASSWORD, enable, login, make_user, now_code
from tvms.clock import ManualClock


async def test_login_follows_the_mfa_step(
    app: Starlette, client: httpx.AsyncClient, clock: ManualClock
) -> None:
    user_id = await make_user(app, "mfa@example.com")
    secret, codes = await enable(client, clock, await login(client, "mfa@example.com"))
    transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 50002))
    async with AsyncClient("http://tvms.test", transport=transport) as tvms:
        with pytest.raises(PreconditionFailedError) as raised:
            await tvms.login("mfa@example.com", PASSWORD)
        assert raised.value.reason == "MFA_REQUIRED" and raised.value.challenge
        assert tvms.token is None
        with pytest.raises(UnauthorizedError):
            await tvms.login(
                "mfa@example.com",
                PASSWORD,
                code="000000" if now_code(clock, secret) != "000000" else "111111",
            )
        assert tvms.token is None
        session = await tvms.login("mfa@example.com", PASSWORD, code=now_code(clock, secret))
        assert tvms.token == session.token
        assert (await tvms.auth.me()).id == user_id
        assert (await tvms.auth.mfa.get_status()).recovery_codes_left == 10
        await tvms.login("mfa@example.com", PASSWORD, code=codes[0])
        assert (await tvms.auth.mfa.get_status()).recovery_codes_left == 9
