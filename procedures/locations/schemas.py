"""Wire types of `locations.*` (documented shapes)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, UnsetType

from procedures.paging import Search, Skip, SortOrder
from procedures.schemas import Input, IsoTime, Output
from procedures.sensors.schemas import Id, Latitude, Longitude, SensorStatus, SensorType

LocationType = Literal["INTERSECTION", "HIGHWAY", "CHECKPOINT", "PARKING", "ZONE", "CUSTOM"]
LOCATION_TYPES: list[LocationType] = ["INTERSECTION", "HIGHWAY", "CHECKPOINT", "PARKING", "ZONE", "CUSTOM"]
LocationStatus = Literal["ACTIVE", "INACTIVE", "MAINTENANCE"]

LocationName = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=r"\S")]
Address = Annotated[str, msgspec.Meta(min_length=1, max_length=255, pattern=r"\S")]
Description = Annotated[str, msgspec.Meta(max_length=1000)]
IdList = Annotated[list[Id], msgspec.Meta(max_length=1000)]


class Location(Output):
    id: str
    name: str
    address: str
    type: LocationType
    latitude: float
    longitude: float
    status: LocationStatus
    description: str | None
    sensor_count: int
    created_at: IsoTime
    updated_at: IsoTime


class LocationSensor(Output):
    id: str
    name: str
    device_id: str
    type: SensorType
    status: SensorStatus


class LocationDetail(Output):
    id: str
    name: str
    address: str
    type: LocationType
    latitude: float
    longitude: float
    status: LocationStatus
    description: str | None
    created_at: IsoTime
    updated_at: IsoTime
    sensors: list[LocationSensor]


class LocationPage(Output):
    locations: list[Location]
    total: int
    page_count: int


class LocationDeleted(Output):
    success: bool
    id: str


class LocationsDeleted(Output):
    deleted: int


class LocationListInput(Input):
    skip: Skip = 0
    take: Annotated[int, msgspec.Meta(ge=1, le=100)] = 50
    search: Search | None = None
    type: LocationType | None = None
    status: LocationStatus | None = None
    sort_by: Literal["name", "type", "status", "createdAt"] = "createdAt"
    sort_order: SortOrder = "desc"


class LocationIdInput(Input):
    id: Id


class LocationCreateInput(Input):
    name: LocationName
    address: Address
    type: LocationType
    latitude: Latitude
    longitude: Longitude
    status: LocationStatus = "ACTIVE"
    description: Description | None = None


class LocationUpdateInput(Input):
    """Fields left out stay as they are; `description: null` clears it."""

    id: Id
    name: LocationName | UnsetType = UNSET
    address: Address | UnsetType = UNSET
    type: LocationType | UnsetType = UNSET
    latitude: Latitude | UnsetType = UNSET
    longitude: Longitude | UnsetType = UNSET
    status: LocationStatus | UnsetType = UNSET
    description: Description | UnsetType | None = UNSET


class LocationSensorsInput(Input):
    id: Id
    sensor_ids: IdList


class LocationBulkDeleteInput(Input):
    ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=1000)]
