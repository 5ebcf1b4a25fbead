"""The agent's durable outbox: a local SQLite file that holds every event until the server has it.

An event is written here (with its idempotency key, `externalId`) before anything is sent, and
leaves only when the server acknowledged it (CREATED or DUPLICATE: either way it is stored
exactly once there, because `events.ingest` dedupes on (sensor, externalId)). An event with
evidence stays, marked with its server id, until the image is uploaded and verified. Counters
live in the same file and change in the same transactions as the rows, so after any crash

    generated == acknowledged + rejected + dropped + queued

holds exactly. Drop policy, when the file's payload would exceed its disk budget: the oldest
entries go first. An event not yet acknowledged counts as `dropped`; an acknowledged event that
only waited for its image loses the image and counts as `evidenceDropped`. Nothing is dropped
silently: both counters are reported by the agent and the simulator.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    device_id TEXT NOT NULL,
    external_id TEXT NOT NULL UNIQUE,
    body BLOB NOT NULL,
    evidence BLOB,
    event_id TEXT,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (event_id, seq);
"""
COUNTERS = (
    "generated",
    "acknowledged",
    "rejected",
    "dropped",
    "evidenceGenerated",
    "evidenceUploaded",
    "evidenceDropped",
)


@dataclass(frozen=True, slots=True)
class Item:
    seq: int
    device_id: str
    external_id: str
    body: bytes
    evidence: bytes | None
    event_id: str | None


class Outbox:
    """One agent's queue file. Not shared between processes (one agent per file)."""

    def __init__(self, path: Path, budget_bytes: int) -> None:
        self.path = path
        self.budget_bytes = budget_bytes
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # WAL + NORMAL: a commit survives the agent's crash (SIGKILL); only a power cut may lose
        # the last commits. FULL costs an fsync per event (~5 ms here), which a simulator running
        # hundreds of agents in one event loop cannot pay.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.executemany(
                "INSERT OR IGNORE INTO counters (name, value) VALUES (?, 0)", [(c,) for c in COUNTERS]
            )
            # A fresh file gets a fresh prefix: keys never repeat those of a lost earlier file.
            self._db.execute(
                "INSERT OR IGNORE INTO meta (name, value) VALUES ('instance', ?)", (secrets.token_hex(4),)
            )
        self.instance: str = self._db.execute("SELECT value FROM meta WHERE name = 'instance'").fetchone()[0]

    def close(self) -> None:
        self._db.close()

    def _bump(self, name: str, by: int = 1) -> None:
        self._db.execute("UPDATE counters SET value = value + ? WHERE name = ?", (by, name))

    def add(self, device_id: str, make_body: Callable[[str], bytes], evidence: bytes | None = None) -> str:
        """Queue one event; `make_body(externalId)` gives its JSON. Returns the externalId."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            number = self._db.execute("SELECT value FROM counters WHERE name = 'generated'").fetchone()[0] + 1
            external_id = f"{self.instance}-{number}"
            body = make_body(external_id)
            size = len(body) + (len(evidence) if evidence else 0)
            self._make_room(size)
            self._db.execute(
                "INSERT INTO outbox (device_id, external_id, body, evidence, size, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (device_id, external_id, body, evidence, size, int(time.time() * 1000)),
            )
            self._bump("generated")
            if evidence is not None:
                self._bump("evidenceGenerated")
        return external_id

    def _make_room(self, size: int) -> None:
        used = self._db.execute("SELECT COALESCE(SUM(size), 0) FROM outbox").fetchone()[0]
        while used + size > self.budget_bytes:
            oldest = self._db.execute(
                "SELECT seq, size, event_id, evidence IS NOT NULL FROM outbox ORDER BY seq LIMIT 1"
            ).fetchone()
            if oldest is None:
                break  # one entry larger than the whole budget still goes in, alone
            seq, entry_size, event_id, had_evidence = oldest
            self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            if event_id is None:
                self._bump("dropped")
            if had_evidence:
                self._bump("evidenceDropped")
            used -= entry_size

    def unsent(self, limit: int) -> list[Item]:
        """The oldest events the server has not acknowledged yet."""
        return self._items("WHERE event_id IS NULL ORDER BY seq LIMIT ?", limit)

    def awaiting_evidence(self, limit: int) -> list[Item]:
        """Acknowledged events whose image is still to be uploaded."""
        return self._items("WHERE event_id IS NOT NULL ORDER BY seq LIMIT ?", limit)

    def _items(self, clause: str, limit: int) -> list[Item]:
        rows = self._db.execute(
            f"SELECT seq, device_id, external_id, body, evidence, event_id FROM outbox {clause}", (limit,)
        ).fetchall()
        return [Item(*row) for row in rows]

    def acknowledge(self, stored: dict[str, str], rejected: list[str]) -> None:
        """The server stored these (externalId → event id) and refused those, in one transaction."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for external_id, event_id in stored.items():
                row = self._db.execute(
                    "SELECT seq, evidence IS NOT NULL FROM outbox WHERE external_id = ? AND event_id IS NULL",
                    (external_id,),
                ).fetchone()
                if row is None:
                    continue  # dropped meanwhile, or acknowledged by an earlier answer
                if row[1]:
                    self._db.execute(
                        "UPDATE outbox SET event_id = ?, body = x'', size = LENGTH(evidence) WHERE seq = ?",
                        (event_id, row[0]),
                    )
                else:
                    self._db.execute("DELETE FROM outbox WHERE seq = ?", (row[0],))
                self._bump("acknowledged")
            for external_id in rejected:
                if self._db.execute(
                    "DELETE FROM outbox WHERE external_id = ? AND event_id IS NULL", (external_id,)
                ).rowcount:
                    self._bump("rejected")

    def evidence_done(self, seq: int, uploaded: bool) -> None:
        """The image of this acknowledged event is verified (or was refused for good)."""
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            if self._db.execute("DELETE FROM outbox WHERE seq = ?", (seq,)).rowcount:
                self._bump("evidenceUploaded" if uploaded else "evidenceDropped")

    def stats(self) -> dict[str, int]:
        """Every counter, plus `queued` (not yet acknowledged), `awaitingEvidence` and `bytes`."""
        counters = dict(self._db.execute("SELECT name, value FROM counters").fetchall())
        queued, waiting, used = self._db.execute(
            "SELECT COUNT(*) FILTER (WHERE event_id IS NULL), COUNT(event_id), COALESCE(SUM(size), 0)"
            " FROM outbox"
        ).fetchone()
        return {**counters, "queued": queued, "awaitingEvidence": waiting, "bytes": used}
