"""Evidence files: a device asks for a signed upload URL, uploads, then asks us to verify.

Verification reads the object back and compares its size and SHA-256 with what the device
announced: a match is VERIFIED, anything else QUARANTINED (kept for inspection, never served).

The upload URL is signed for the announced SHA-256 and never replaces an existing object, so
once the bytes are in place (and verified) a still-valid URL cannot swap them for others.
"""

from __future__ import annotations

import re
from typing import Any

from procedures.events.access import calling_sensor
from procedures.events.layout import CONTENT_TYPES_BY_KIND, evidence_key
from procedures.events.rows import EVIDENCE_COLUMNS, evidence_from_row
from procedures.events.schemas import CompleteUploadInput, Evidence, EvidenceUpload, EvidenceUploadInput
from procedures.settings.store import get_value
from procedures.storage.quota import complete, release, reserve
from tvms.clock import iso_ms
from tvms.db import IntegrityError, Row
from tvms.ids import new_id
from tvms.rpc import DEVICE, Context, ErrorCode, Router, RpcError, invalid_params
from tvms.rpc.origin import absolute
from tvms.storage import ObjectNotFound

router = Router("events")

_SHA256 = re.compile(r"[0-9a-f]{64}")


async def _owned_event(ctx: Context, event_id: str) -> Row:
    """The event, if the calling device (or a child of this gateway) produced it."""
    row = await ctx.db.fetchrow(
        "SELECT e.id, e.occurred_at, e.is_violation FROM events e JOIN sensors s ON s.id = e.sensor_id"
        " WHERE e.id = :event_id AND (s.id = :me OR s.parent_sensor_id = :me)",
        {"event_id": event_id, "me": calling_sensor(ctx)},
    )
    if row is None:  # someone else's event reads as absent: ids are not an oracle
        raise RpcError(ErrorCode.NOT_FOUND, f"Event {event_id[:128]!r} not found")
    return row


async def _register(ctx: Context, params: dict[str, Any]) -> tuple[str, str | None]:
    """Record the announcement: (the evidence id, the key of an earlier announcement of another
    type that it replaces, if any)."""
    replaced: str | None = None
    async with ctx.db.transaction() as tx:
        existing = await tx.fetchrow(
            "SELECT id, state, object_key FROM evidence WHERE event_id = :event_id AND kind = :kind",
            {"event_id": params["event_id"], "kind": params["kind"]},
        )
        if existing is None:
            try:
                await tx.execute(
                    "INSERT INTO evidence (id, event_id, kind, object_key, content_type, size, sha256, state,"
                    " created_at) VALUES (:id, :event_id, :kind, :key, :content_type, :size, :sha256,"
                    " 'PENDING_UPLOAD', :now)",
                    params,
                )
            except IntegrityError:
                raise RpcError(
                    ErrorCode.CONFLICT, "This evidence is being registered by another call"
                ) from None
            evidence_id = params["id"]
        elif existing["state"] != "PENDING_UPLOAD":
            raise RpcError(
                ErrorCode.CONFLICT, f"{params['kind']} of this event is already {existing['state']}"
            )
        else:
            evidence_id = existing["id"]
            if existing["object_key"] != params["key"]:
                replaced = existing["object_key"]
            await tx.execute(
                "UPDATE evidence SET object_key = :key, content_type = :content_type, size = :size,"
                " sha256 = :sha256 WHERE id = :id AND state = 'PENDING_UPLOAD'",
                {**params, "id": evidence_id},
            )
    return evidence_id, replaced


@router.mutation("createEvidenceUpload", auth=DEVICE)
async def create_evidence_upload(ctx: Context, input: EvidenceUploadInput) -> EvidenceUpload:
    """A signed URL to PUT one evidence file of an event (then call completeEvidenceUpload).

    Announce the exact size and SHA-256: the upload is verified against them. Asking again for a
    kind that is still pending gives a fresh URL; a verified or quarantined kind is CONFLICT.
    The URL reserves `size` bytes of the storage quota (PAYLOAD_TOO_LARGE when it is used up);
    re-announcing another type removes what was uploaded for the earlier one.
    """
    if not await get_value(ctx, "features.evidenceUpload"):
        raise RpcError(ErrorCode.PRECONDITION_FAILED, "Evidence uploads are disabled")
    content_type = input.content_type.lower()
    sha256 = input.sha256.lower()
    if not _SHA256.fullmatch(sha256):  # the schema's pattern ends in `$`: it lets "…\n" through
        raise invalid_params("$.sha256", "sha256 must be 64 hex digits")
    if content_type not in CONTENT_TYPES_BY_KIND[input.kind]:
        allowed = ", ".join(CONTENT_TYPES_BY_KIND[input.kind])
        raise invalid_params("$.contentType", f"{input.kind} must be one of {allowed}")
    event = await _owned_event(ctx, input.event_id)
    key = evidence_key(
        event["id"], event["occurred_at"], bool(event["is_violation"]), input.kind, content_type
    )
    now = ctx.clock.now_ms()
    params = {
        "id": new_id(),
        "event_id": event["id"],
        "kind": input.kind,
        "key": key,
        "content_type": content_type,
        "size": input.size,
        "sha256": sha256,
        "now": now,
    }
    decided = await ctx.db.fetchval(
        "SELECT state FROM evidence WHERE event_id = :event_id AND kind = :kind"
        " AND state <> 'PENDING_UPLOAD'",
        {"event_id": event["id"], "kind": input.kind},
    )
    if decided is not None:  # said before any quota is reserved for it
        raise RpcError(ErrorCode.CONFLICT, f"{input.kind} of this event is already {decided}")
    await reserve(ctx, key, input.size)  # evidence counts against the storage quota
    try:
        evidence_id, replaced = await _register(ctx, params)
    except RpcError:
        await release(ctx, key)  # nothing is left of a refused announcement
        raise
    if replaced is not None:
        # Bytes uploaded for the earlier announcement are no item's file any more: remove them.
        # (Never served either way: storage.getDownloadUrl serves only verified items' files.)
        await ctx.storage.delete(replaced)
        await release(ctx, replaced)
    signed = await ctx.storage.presign_put(key, content_type, input.size, sha256=sha256)
    return EvidenceUpload(
        evidence_id=evidence_id,
        key=key,
        upload_url=absolute(signed.url, ctx.base_url),
        method="PUT",
        headers=signed.headers,
        expires_at=iso_ms(signed.expires_at_ms),
    )


@router.mutation("completeEvidenceUpload", auth=DEVICE)
async def complete_evidence_upload(ctx: Context, input: CompleteUploadInput) -> Evidence:
    """Check the uploaded file's size and SHA-256: VERIFIED when they match, else QUARANTINED.

    Calling it again returns the decided item unchanged. PRECONDITION_FAILED while nothing has
    been uploaded yet.
    """
    await _owned_event(ctx, input.event_id)
    row = await ctx.db.fetchrow(
        f"SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE event_id = :event_id AND object_key = :key",
        {"event_id": input.event_id, "key": input.key},
    )
    if row is None:
        raise RpcError(ErrorCode.NOT_FOUND, "No evidence upload with this key for this event")
    if row["state"] == "PENDING_UPLOAD":
        try:
            size, digest = await ctx.storage.sha256(row["object_key"])
        except ObjectNotFound:
            raise RpcError(
                ErrorCode.PRECONDITION_FAILED, "Nothing has been uploaded to this key yet"
            ) from None
        state = "VERIFIED" if (size, digest) == (row["size"], row["sha256"]) else "QUARANTINED"
        # Decide only against the announcement we compared with: a concurrent createEvidenceUpload
        # may have re-announced another size or digest meanwhile (then the row stays pending).
        await ctx.db.execute(
            "UPDATE evidence SET state = :state, received_size = :size, received_sha256 = :digest,"
            " completed_at = :now WHERE id = :id AND state = 'PENDING_UPLOAD'"
            " AND size = :announced_size AND sha256 = :announced_sha256",
            {
                "state": state,
                "size": size,
                "digest": digest,
                "now": ctx.clock.now_ms(),
                "id": row["id"],
                "announced_size": row["size"],
                "announced_sha256": row["sha256"],
            },
        )
        await complete(ctx, row["object_key"])
        row = await ctx.db.fetchrow(
            f"SELECT {EVIDENCE_COLUMNS} FROM evidence WHERE id = :id", {"id": row["id"]}
        )
        if row is None:
            raise RpcError(ErrorCode.NOT_FOUND, "The evidence item was deleted meanwhile")
    return evidence_from_row(row)
