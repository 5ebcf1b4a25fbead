"""`events.*`: traffic events from devices, their evidence files and violation review."""

from procedures.events import evidence, ingest, queries, review
from procedures.events.router import events

__all__ = ["events", "evidence", "ingest", "queries", "review"]
