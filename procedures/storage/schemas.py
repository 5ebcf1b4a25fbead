"""Wire types of `storage.*`."""

from __future__ import annotations

from typing import Annotated

from msgspec import UNSET, Meta, UnsetType

from procedures.schemas import Input, IsoTime, Output
from tvms.storage import MAX_OBJECT_BYTES

Key = Annotated[str, Meta(min_length=1, max_length=512)]


class Bucket(Output):
    """The store (named from configuration): bytes and files in it, and its newest change."""

    name: str
    size: int
    file_count: int
    last_modified: IsoTime
    """The newest object's time; for an empty store, the time of the call."""


class Folder(Output):
    """A top-level folder of the object layout (events, violations, reports, sensors)."""

    name: str
    size: int
    file_count: int
    last_modified: IsoTime | UnsetType = UNSET
    """The newest object's time; left out while the folder is empty."""


class StorageStats(Output):
    total_storage: int
    used_storage: int
    available_storage: int
    buckets: list[Bucket]
    """One bucket, as documented."""
    folders: list[Folder]
    """Usage per top-level folder (ours): the documented folders always, then any other."""


class UploadUrlInput(Input):
    folder: Annotated[str, Meta(min_length=1, max_length=256)]
    filename: Annotated[str, Meta(min_length=1, max_length=128)]
    content_type: Annotated[str, Meta(min_length=1, max_length=100)]
    size: Annotated[int, Meta(ge=1, le=MAX_OBJECT_BYTES)]


class UploadUrl(Output):
    key: str
    url: str
    method: str
    headers: dict[str, str]
    expires_at: IsoTime


class KeyInput(Input):
    key: Key


class DownloadUrl(Output):
    url: str
    expires_at: IsoTime


class ListInput(Input):
    prefix: Annotated[str, Meta(max_length=512)] = ""
    cursor: Annotated[str, Meta(min_length=1, max_length=1024)] | None = None
    take: Annotated[int, Meta(ge=1, le=1000)] = 100


class StoredObject(Output):
    key: str
    size: int
    content_type: str
    last_modified: IsoTime


class ObjectList(Output):
    items: list[StoredObject]
    next_cursor: str | None


class Deleted(Output):
    key: str
    deleted: bool
