"""Wire types of `sensors.*`: the documented Sensor shape plus ours (firmware, key prefix)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from procedures.paging import Search, Skip, SortOrder
from procedures.schemas import Input, IsoTime, Output

SensorType = Literal["CAMERA", "RADAR", "ANPR", "SPEED_DETECTOR", "EDGE_CONTROLLER", "NVR"]
SensorStatus = Literal["ONLINE", "OFFLINE", "MAINTENANCE", "ERROR"]
SENSOR_TYPES: tuple[SensorType, ...] = ("CAMERA", "RADAR", "ANPR", "SPEED_DETECTOR", "EDGE_CONTROLLER", "NVR")
SENSOR_STATUSES: tuple[SensorStatus, ...] = ("ONLINE", "OFFLINE", "MAINTENANCE", "ERROR")
GATEWAY: SensorType = "EDGE_CONTROLLER"
# Only cameras and NVRs hang under a gateway (the gateway/NVR platform's topology).
CHILD_TYPES: frozenset[str] = frozenset({"CAMERA", "NVR"})

Id = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
DeviceId = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$(?!\n)",
        description="letters, digits and . _ : - (starting with a letter or digit)",
    ),
]
IpAddress = Annotated[str, msgspec.Meta(min_length=2, max_length=45, description="IPv4 or IPv6 address")]
Firmware = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
Latitude = Annotated[float, msgspec.Meta(ge=-90, le=90)]
Longitude = Annotated[float, msgspec.Meta(ge=-180, le=180)]
TimeoutS = Annotated[int, msgspec.Meta(ge=10, le=86_400, description="seconds without a heartbeat → OFFLINE")]
SensorSortBy = Literal["name", "type", "status", "createdAt", "lastHeartbeat"]


class Coordinates(Output):
    latitude: float
    longitude: float
    address: str | None = None


class CoordinatesInput(Input):
    latitude: Latitude
    longitude: Longitude
    address: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class Sensor(Output):
    """A sensor as every read shows it. Never carries key material, only `apiKeyPrefix`."""

    id: str
    name: str
    device_id: str
    type: SensorType
    status: SensorStatus
    ip_address: str | None
    coordinates: Coordinates | None
    location_id: str | None
    parent_sensor_id: str | None
    firmware_version: str | None
    api_key_prefix: str | None
    heartbeat_timeout_s: int = msgspec.field(name="heartbeatTimeoutS")
    last_heartbeat: IsoTime | None
    last_event_at: IsoTime | None
    created_at: IsoTime
    updated_at: IsoTime


class SensorWithKey(Sensor):
    """`sensors.create`'s answer: the sensor and its API key, shown this once only."""

    api_key: str


class SensorPage(Output):
    sensors: list[Sensor]
    total: int
    page_count: int


class SensorLocation(Output):
    id: str
    name: str
    address: str
    type: str
    latitude: float
    longitude: float


class SensorRef(Output):
    id: str
    name: str
    device_id: str
    type: SensorType
    status: SensorStatus


class SensorDetail(Sensor):
    """`sensors.getById`: the sensor, its location and the devices attached to it (gateways)."""

    location: SensorLocation | None
    children: list[SensorRef]


class MapSensor(Output):
    """One entry of `sensors.getAllSensors` (the map view): every sensor with its location."""

    id: str
    name: str
    device_id: str
    type: SensorType
    status: SensorStatus
    ip_address: str | None
    coordinates: Coordinates | None
    location_id: str | None
    parent_sensor_id: str | None
    last_heartbeat: IsoTime | None
    location: SensorLocation | None


class SensorStats(Output):
    total: int
    online: int
    offline: int
    maintenance: int
    error: int
    by_status: dict[str, int]
    by_type: dict[str, int]


class SensorApiKey(Output):
    api_key: str
    api_key_prefix: str


class SensorDeleted(Output):
    success: bool
    id: str


class SensorListInput(Input):
    skip: Skip = 0
    take: Annotated[int, msgspec.Meta(ge=1, le=100)] = 10
    search: Search | None = None
    type: SensorType | None = None
    status: SensorStatus | None = None
    location_id: Id | None = None
    parent_sensor_id: Id | None = None
    sort_by: SensorSortBy = "createdAt"
    sort_order: SortOrder = "desc"


class SensorIdInput(Input):
    id: Id


class SensorCreateInput(Input):
    name: Name
    device_id: DeviceId
    type: SensorType
    status: SensorStatus = "OFFLINE"
    ip_address: IpAddress | None = None
    coordinates: CoordinatesInput | None = None
    location_id: Id | None = None
    parent_sensor_id: Id | None = None
    firmware_version: Firmware | None = None
    heartbeat_timeout_s: TimeoutS = msgspec.field(default=180, name="heartbeatTimeoutS")


class SensorUpdateInput(Input):
    """Fields left out are unchanged; `null` clears an optional field."""

    id: Id
    name: Name | UnsetType = UNSET
    device_id: DeviceId | UnsetType = UNSET
    type: SensorType | UnsetType = UNSET
    status: SensorStatus | UnsetType = UNSET
    ip_address: IpAddress | UnsetType | None = UNSET
    coordinates: CoordinatesInput | UnsetType | None = UNSET
    location_id: Id | UnsetType | None = UNSET
    parent_sensor_id: Id | UnsetType | None = UNSET
    firmware_version: Firmware | UnsetType | None = UNSET
    heartbeat_timeout_s: TimeoutS | UnsetType = msgspec.field(default=UNSET, name="heartbeatTimeoutS")


class HeartbeatChild(Input):
    device_id: DeviceId
    status: Literal["ONLINE", "OFFLINE", "ERROR"]


class HeartbeatInput(Input):
    status: Literal["ONLINE", "ERROR"] = "ONLINE"
    uptime_s: Annotated[int, msgspec.Meta(ge=0, le=10**11)] | None = None
    cpu_pct: Annotated[float, msgspec.Meta(ge=0, le=100)] | None = None
    disk_used_bytes: Annotated[int, msgspec.Meta(ge=0, le=2**62)] | None = None
    disk_total_bytes: Annotated[int, msgspec.Meta(ge=0, le=2**62)] | None = None
    firmware_version: Firmware | None = None
    ip_address: IpAddress | None = None
    children: Annotated[list[HeartbeatChild], msgspec.Meta(max_length=256)] | None = None

    def __post_init__(self) -> None:
        if (
            self.disk_used_bytes is not None
            and self.disk_total_bytes is not None
            and self.disk_used_bytes > self.disk_total_bytes
        ):
            raise ValueError("`diskUsedBytes` must not exceed `diskTotalBytes`")
        if self.children:
            seen = [child.device_id for child in self.children]
            if len(set(seen)) != len(seen):
                raise ValueError("`children` lists a deviceId twice")


class HeartbeatAck(Output):
    server_time: IsoTime
