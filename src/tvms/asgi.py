"""`tvms.asgi:app` — the ASGI application configured from the environment."""

from tvms.server import asgi_app

app = asgi_app()
