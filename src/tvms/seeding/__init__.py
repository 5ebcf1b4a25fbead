"""Seeding from the command line: `tvms create-user`, and the demo data of `tvms seed --demo`
(the demo administrator, a demo city, demo events). Outside the API package: it uses the API's
public helpers, and nothing in the API uses it."""

from tvms.seeding.command import register

__all__ = ["register"]
