"""Wire types of `commands.*` and the device side (`devices.*`): one typed payload per command."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from procedures.schemas import Input, Output

CommandType = Literal["PING", "REBOOT", "SNAPSHOT", "SET_CONFIG"]
CommandState = Literal["QUEUED", "DELIVERED", "RUNNING", "SUCCEEDED", "FAILED", "EXPIRED"]
OPEN_STATES = ("QUEUED", "DELIVERED", "RUNNING")
FINAL_STATES = ("SUCCEEDED", "FAILED", "EXPIRED")

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Attempt = Annotated[int, msgspec.Meta(ge=1, le=10)]
ConfigKey = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z][A-Za-z0-9_.]{0,63}$(?!\n)")]
ConfigValue = Annotated[str, msgspec.Meta(max_length=200)] | int | float | bool
ResultKey = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ResultValue = Annotated[str, msgspec.Meta(max_length=1000)] | int | float | bool | None
Sha256 = Annotated[str, msgspec.Meta(pattern=r"^[0-9a-f]{64}$(?!\n)")]
MAX_ARTIFACT_BYTES = 5 * 1024 * 1024
ARTIFACT_TYPES = {"image/jpeg": "jpg", "image/png": "png"}


class Ping(Input, tag_field="type", tag="PING"):
    """Answer at once (proves the command path end to end)."""


class Reboot(Input, tag_field="type", tag="REBOOT"):
    """Restart the device after `delayS` seconds."""

    delay_s: Annotated[int, msgspec.Meta(ge=0, le=3600)] = 0


class Snapshot(Input, tag_field="type", tag="SNAPSHOT"):
    """Take a still image and upload it as the command's artifact."""

    width: Annotated[int, msgspec.Meta(ge=64, le=3840)] = 640
    height: Annotated[int, msgspec.Meta(ge=48, le=2160)] = 360


class SetConfig(Input, tag_field="type", tag="SET_CONFIG"):
    """Apply configuration values (1 to 50 keys) on the device."""

    settings: Annotated[dict[ConfigKey, ConfigValue], msgspec.Meta(min_length=1, max_length=50)]


Command = Ping | Reboot | Snapshot | SetConfig
SNAPSHOT_TYPES = frozenset({"CAMERA", "ANPR", "NVR"})  # devices that have an image to give


class SendInput(Input):
    sensor_id: Id
    command: Command
    ttl_s: Annotated[int, msgspec.Meta(ge=10, le=86_400, description="seconds until it expires")] = 300
    max_attempts: Annotated[int, msgspec.Meta(ge=1, le=10)] = 3


class CommandIdInput(Input):
    id: Id


class CommandsGetAllInput(Input):
    sensor_id: Id | None = None
    state: CommandState | None = None
    type: CommandType | None = None
    skip: Annotated[int, msgspec.Meta(ge=0, le=1_000_000)] = 0
    take: Annotated[int, msgspec.Meta(ge=1, le=100)] = 20


class Artifact(Output):
    key: str
    content_type: str
    size: int
    url: str
    url_expires_at: str


class CommandView(Output):
    id: str
    sensor_id: str
    type: CommandType
    command: Command
    state: CommandState
    attempt: int
    max_attempts: int
    created_by: str
    created_at: str
    updated_at: str
    expires_at: str
    delivered_at: str | None
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None
    error: str | None
    artifact: Artifact | None


class CommandPage(Output):
    commands: list[CommandView]
    total: int
    page_count: int


# --- the device side ----------------------------------------------------------------------


class PollInput(Input):
    wait_s: Annotated[int, msgspec.Meta(ge=0, le=25, description="how long the server may wait")] = 0
    max: Annotated[int, msgspec.Meta(ge=1, le=20)] = 10


class DeviceCommand(Output):
    id: str
    sensor_id: str
    device_id: str
    attempt: int
    expires_at: str
    command: Command


class PollResult(Output):
    commands: list[DeviceCommand]


class ArtifactIn(Input):
    key: Annotated[str, msgspec.Meta(min_length=1, max_length=300)]
    size: Annotated[int, msgspec.Meta(ge=1, le=MAX_ARTIFACT_BYTES)]
    sha256: Sha256


class ReportInput(Input):
    id: Id
    attempt: Attempt
    state: Literal["RUNNING", "SUCCEEDED", "FAILED"]
    result: Annotated[dict[ResultKey, ResultValue], msgspec.Meta(max_length=50)] | None = None
    error: Annotated[str, msgspec.Meta(min_length=1, max_length=500)] | None = None
    artifact: ArtifactIn | None = None

    def __post_init__(self) -> None:
        if self.state == "FAILED" and self.error is None:
            raise ValueError("a FAILED report needs an `error`")
        if self.state != "SUCCEEDED" and self.artifact is not None:
            raise ValueError("only a SUCCEEDED report carries an `artifact`")


class ReportAck(Output):
    id: str
    state: CommandState
    attempt: int


class SnapshotUploadInput(Input):
    id: Id
    attempt: Attempt
    size: Annotated[int, msgspec.Meta(ge=1, le=MAX_ARTIFACT_BYTES)]
    sha256: Sha256
    content_type: Literal["image/jpeg", "image/png"] = "image/jpeg"


class SnapshotUpload(Output):
    key: str
    upload_url: str
    method: str
    headers: dict[str, str]
    expires_at: str
