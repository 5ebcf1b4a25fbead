"""`events.*`: traffic events from devices, their evidence files and violation review."""

from procedures.events import evidence, ingest, queries, review
from tvms.rpc import Router

events = Router("events", include=[evidence.router, ingest.router, queries.router, review.router])
"""Evidence uploads, ingestion, the queries and the review, in that order."""

__all__ = ["events"]
