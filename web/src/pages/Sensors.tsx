import { type FormEvent, useEffect, useState } from "react";
import { errorText, type Sensor, type SensorCreateInput, type SensorListInput } from "../api";
import { formatDate, label, useTimezone } from "../format";
import { useCall, useMutate } from "../hooks";
import { Link, navigate, setSearch, useSearch } from "../router";
import {
  ConfirmButton,
  canEdit,
  ErrorMessage,
  Loading,
  Page,
  Pager,
  SecretOnce,
  SelectField,
  Status,
  TextField,
  useCan,
} from "../ui";
import { DeviceHealth, useDeviceHealth } from "./SensorHealth";

export const SENSOR_TYPES = ["CAMERA", "RADAR", "ANPR", "SPEED_DETECTOR", "EDGE_CONTROLLER", "NVR"] as const;
export const SENSOR_STATUSES = ["ONLINE", "OFFLINE", "MAINTENANCE", "ERROR"] as const;
const SORTS = ["createdAt", "name", "type", "status", "lastHeartbeat"] as const;
const TAKE = 20;
// The sensor list is headed by the kind the menu item shows.
const LIST_TITLES: Record<string, string> = {
  "": "Field devices",
  EDGE_CONTROLLER: "Gateways",
  CAMERA: "Cameras",
  NVR: "NVRs",
};

function useLocationOptions() {
  const locations = useCall("locations.getAll", { take: 100, sortBy: "name", sortOrder: "asc" });
  return locations.data?.locations ?? [];
}

export function SensorList() {
  const tz = useTimezone();
  const params = useSearch();
  const may = useCan(...canEdit);
  const page = Number(params.get("page") ?? "1") || 1;
  const [search, setSearchText] = useState(params.get("search") ?? "");
  useEffect(() => {
    const timer = setTimeout(() => {
      if ((params.get("search") ?? "") !== search) setSearch({ search, page: null });
    }, 300);
    return () => clearTimeout(timer);
  }, [search, params]);
  const input: SensorListInput = {
    skip: (page - 1) * TAKE,
    take: TAKE,
    search: params.get("search") || undefined,
    type: (params.get("type") || undefined) as SensorListInput["type"],
    status: (params.get("status") || undefined) as SensorListInput["status"],
    locationId: params.get("location") || undefined,
    sortBy: (params.get("sortBy") || "createdAt") as SensorListInput["sortBy"],
    sortOrder: (params.get("sortOrder") || "desc") as SensorListInput["sortOrder"],
  };
  const sensors = useCall("sensors.getAll", input, { placeholderData: (previous) => previous });
  const locations = useLocationOptions();
  const names = new Map(locations.map((location) => [location.id, location.name]));
  const sortHeader = (key: (typeof SORTS)[number], text: string) => {
    const active = input.sortBy === key;
    const next = active && input.sortOrder === "desc" ? "asc" : "desc";
    return (
      <th scope="col" aria-sort={active ? (input.sortOrder === "asc" ? "ascending" : "descending") : "none"}>
        <button
          type="button"
          className="link"
          onClick={() => setSearch({ sortBy: key, sortOrder: next, page: null })}
        >
          {text} {active ? (input.sortOrder === "asc" ? "▲" : "▼") : ""}
        </button>
      </th>
    );
  };
  return (
    <Page
      title={LIST_TITLES[params.get("type") ?? ""] ?? `${label(params.get("type") ?? "")} sensors`}
      actions={
        may ? (
          <Link className="button primary" href="/sensors/new">
            Register device
          </Link>
        ) : null
      }
    >
      <search className="filters">
        <TextField label="Search name or device id" value={search} onChange={setSearchText} name="search" />
        <SelectField
          label="Type"
          value={params.get("type") ?? ""}
          onChange={(type) => setSearch({ type, page: null })}
          options={SENSOR_TYPES}
          empty="All types"
          labels={label}
        />
        <SelectField
          label="Status"
          value={params.get("status") ?? ""}
          onChange={(status) => setSearch({ status, page: null })}
          options={SENSOR_STATUSES}
          empty="All statuses"
          labels={label}
        />
        <SelectField
          label="Location"
          value={params.get("location") ?? ""}
          onChange={(location) => setSearch({ location, page: null })}
          options={locations.map((location) => location.id)}
          empty="All locations"
          labels={(id) => names.get(id) ?? id}
        />
      </search>
      <ErrorMessage error={sensors.error} />
      {!sensors.data ? (
        <Loading what="sensors" />
      ) : (
        <>
          <table>
            <thead>
              <tr>
                {sortHeader("name", "Name")}
                <th scope="col">Device id</th>
                {sortHeader("type", "Type")}
                {sortHeader("status", "Status")}
                <th scope="col">Location</th>
                {sortHeader("lastHeartbeat", "Last heartbeat")}
                {sortHeader("createdAt", "Created")}
              </tr>
            </thead>
            <tbody>
              {sensors.data.sensors.map((sensor) => (
                <tr key={sensor.id}>
                  <td>
                    <Link href={`/sensors/${sensor.id}`}>{sensor.name}</Link>
                  </td>
                  <td>{sensor.deviceId}</td>
                  <td>{label(sensor.type)}</td>
                  <td>
                    <Status value={sensor.status} />
                  </td>
                  <td>{sensor.locationId ? (names.get(sensor.locationId) ?? "…") : "—"}</td>
                  <td>{formatDate(sensor.lastHeartbeat, tz)}</td>
                  <td>{formatDate(sensor.createdAt, tz)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {sensors.data.sensors.length === 0 ? <p className="muted">No sensor matches.</p> : null}
          <Pager
            page={page}
            pageCount={sensors.data.pageCount}
            total={sensors.data.total}
            onPage={(next) => setSearch({ page: next })}
          />
        </>
      )}
    </Page>
  );
}

export function SensorDetail({ id }: { id: string }) {
  const tz = useTimezone();
  const may = useCan(...canEdit);
  const sensor = useCall("sensors.getById", { id });
  // Ask for a signed URL only when a snapshot exists: a broken image is an error in the console.
  const stored = useCall("storage.list", { prefix: `sensors/${id}/snapshot`, take: 1 });
  const snapshotKey = stored.data?.items[0]?.key;
  const snapshot = useCall("storage.getDownloadUrl", { key: snapshotKey ?? "" }, { enabled: !!snapshotKey });
  const health = useDeviceHealth(id);
  const remove = useMutate("sensors.delete", ["sensors.", "locations."]);
  const rotate = useMutate("sensors.rotateApiKey", ["sensors."]);
  const [key, setKey] = useState<string | null>(null);
  const [showSnapshot, setShowSnapshot] = useState(true);
  if (sensor.error) return <Page title="Sensor">{<ErrorMessage error={sensor.error} />}</Page>;
  if (!sensor.data) return <Loading what="the sensor" />;
  const s = sensor.data;
  return (
    <Page
      title={s.name}
      actions={
        may ? (
          <>
            <Link className="button" href={`/sensors/${s.id}/edit`}>
              Edit
            </Link>
            <ConfirmButton
              label="Rotate key"
              question={`Issue a new device key for ${s.name}? The device's current key stops working.`}
              onConfirm={() => rotate.mutate({ id: s.id }, { onSuccess: (answer) => setKey(answer.apiKey) })}
            />
            <ConfirmButton
              label="Delete"
              question={`Delete the sensor ${s.name} (${s.deviceId})? This cannot be undone.`}
              busy={remove.isPending}
              onConfirm={() => remove.mutate({ id: s.id }, { onSuccess: () => navigate("/sensors") })}
            />
          </>
        ) : null
      }
    >
      <ErrorMessage error={remove.error ?? rotate.error ?? stored.error ?? snapshot.error} />
      {key ? <SecretOnce title="New device key" secret={key} onDone={() => setKey(null)} /> : null}
      <dl className="details">
        <dt>Device id</dt>
        <dd>{s.deviceId}</dd>
        <dt>Type</dt>
        <dd>{label(s.type)}</dd>
        <dt>Status</dt>
        <dd>
          <Status value={s.status} />
        </dd>
        <dt>Last heartbeat</dt>
        <dd>{formatDate(s.lastHeartbeat, tz)}</dd>
        <dt>Heartbeat timeout</dt>
        <dd>{s.heartbeatTimeoutS} s</dd>
        <dt>Last event</dt>
        <dd>{formatDate(s.lastEventAt, tz)}</dd>
        <dt>IP address</dt>
        <dd>{s.ipAddress ?? "—"}</dd>
        <dt>Firmware</dt>
        <dd>{s.firmwareVersion ?? "—"}</dd>
        <dt>Key prefix</dt>
        <dd>{s.apiKeyPrefix ? `${s.apiKeyPrefix}…` : "—"}</dd>
        <dt>Location</dt>
        <dd>{s.location ? `${s.location.name} — ${s.location.address}` : "—"}</dd>
        <dt>Coordinates</dt>
        <dd>{s.coordinates ? `${s.coordinates.latitude}, ${s.coordinates.longitude}` : "—"}</dd>
        <dt>Gateway</dt>
        <dd>
          {s.parentSensorId ? <Link href={`/sensors/${s.parentSensorId}`}>{s.parentSensorId}</Link> : "—"}
        </dd>
        <dt>Created</dt>
        <dd>{formatDate(s.createdAt, tz)}</dd>
        <dt>Updated</dt>
        <dd>{formatDate(s.updatedAt, tz)}</dd>
      </dl>
      <p className="muted">
        The API does not expose status history yet; the status above is the current one.
      </p>
      {/* Only a gateway (EDGE_CONTROLLER) can have devices behind it. */}
      {s.type === "EDGE_CONTROLLER" || s.children.length > 0 ? (
        <>
          <h2>Devices behind this gateway</h2>
          {s.children.length === 0 ? (
            <p className="muted">None.</p>
          ) : (
            <ul>
              {s.children.map((child) => (
                <li key={child.id}>
                  <Link href={`/sensors/${child.id}`}>{child.name}</Link> ({label(child.type)}){" "}
                  <Status value={child.status} />
                </li>
              ))}
            </ul>
          )}
        </>
      ) : null}
      <h2>Snapshot</h2>
      {snapshot.data && showSnapshot ? (
        <img
          className="snapshot"
          src={snapshot.data.url}
          alt={`Latest snapshot of ${s.name}`}
          onError={() => setShowSnapshot(false)}
        />
      ) : (
        <p className="muted">No snapshot uploaded.</p>
      )}
      <DeviceHealth health={health} />
    </Page>
  );
}

function toInput(form: Record<string, string>): SensorCreateInput {
  const lat = form.latitude.trim();
  const lon = form.longitude.trim();
  return {
    name: form.name.trim(),
    deviceId: form.deviceId.trim(),
    type: form.type as SensorCreateInput["type"],
    status: form.status as SensorCreateInput["status"],
    ipAddress: form.ipAddress.trim() || null,
    firmwareVersion: form.firmwareVersion.trim() || null,
    locationId: form.locationId || null,
    parentSensorId: form.parentSensorId.trim() || null,
    coordinates: lat && lon ? { latitude: Number(lat), longitude: Number(lon) } : null,
    heartbeatTimeoutS: Number(form.heartbeatTimeoutS) || 180,
  };
}

function fromSensor(sensor: Sensor | undefined): Record<string, string> {
  return {
    name: sensor?.name ?? "",
    deviceId: sensor?.deviceId ?? "",
    type: sensor?.type ?? "CAMERA",
    status: sensor?.status ?? "OFFLINE",
    ipAddress: sensor?.ipAddress ?? "",
    firmwareVersion: sensor?.firmwareVersion ?? "",
    locationId: sensor?.locationId ?? "",
    parentSensorId: sensor?.parentSensorId ?? "",
    latitude: sensor?.coordinates ? String(sensor.coordinates.latitude) : "",
    longitude: sensor?.coordinates ? String(sensor.coordinates.longitude) : "",
    heartbeatTimeoutS: String(sensor?.heartbeatTimeoutS ?? 180),
  };
}

export function SensorForm({ id }: { id?: string }) {
  const existing = useCall("sensors.getById", { id: id ?? "" }, { enabled: id !== undefined });
  if (id !== undefined && !existing.data) {
    return existing.error ? <ErrorMessage error={existing.error} /> : <Loading what="the sensor" />;
  }
  return <SensorFormBody sensor={existing.data} />;
}

function SensorFormBody({ sensor }: { sensor?: Sensor }) {
  const [form, setForm] = useState(() => fromSensor(sensor));
  const [created, setCreated] = useState<{ id: string; key: string } | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutate("sensors.create", ["sensors.", "locations."]);
  const update = useMutate("sensors.update", ["sensors.", "locations."]);
  const locations = useLocationOptions();
  const set = (key: string) => (value: string) => setForm((previous) => ({ ...previous, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    const input = toInput(form);
    if (sensor) {
      update.mutate(
        { id: sensor.id, ...input },
        {
          onSuccess: () => navigate(`/sensors/${sensor.id}`),
          onError: (error) => setProblem(errorText(error)),
        },
      );
    } else {
      create.mutate(input, {
        onSuccess: (answer) => setCreated({ id: answer.id, key: answer.apiKey }),
        onError: (error) => setProblem(errorText(error)),
      });
    }
  };
  if (created) {
    return (
      <Page title="Device registered">
        <SecretOnce
          title="Device key"
          secret={created.key}
          onDone={() => navigate(`/sensors/${created.id}`)}
        />
      </Page>
    );
  }
  return (
    <Page title={sensor ? `Edit ${sensor.name}` : "Register device"}>
      <form className="form" onSubmit={submit}>
        <TextField label="Name" value={form.name} onChange={set("name")} required name="name" />
        <TextField
          label="Device id"
          value={form.deviceId}
          onChange={set("deviceId")}
          required
          name="deviceId"
        />
        <SelectField
          label="Type"
          value={form.type}
          onChange={set("type")}
          options={SENSOR_TYPES}
          labels={label}
        />
        <SelectField
          label="Status"
          value={form.status}
          onChange={set("status")}
          options={SENSOR_STATUSES}
          labels={label}
        />
        <SelectField
          label="Location"
          value={form.locationId}
          onChange={set("locationId")}
          options={locations.map((location) => location.id)}
          empty="No location"
          labels={(id) => locations.find((location) => location.id === id)?.name ?? id}
        />
        <TextField
          label="Gateway sensor id (optional)"
          value={form.parentSensorId}
          onChange={set("parentSensorId")}
        />
        <TextField label="IP address" value={form.ipAddress} onChange={set("ipAddress")} />
        <TextField label="Firmware version" value={form.firmwareVersion} onChange={set("firmwareVersion")} />
        <TextField label="Latitude" type="number" value={form.latitude} onChange={set("latitude")} />
        <TextField label="Longitude" type="number" value={form.longitude} onChange={set("longitude")} />
        <TextField
          label="Heartbeat timeout (s)"
          type="number"
          value={form.heartbeatTimeoutS}
          onChange={set("heartbeatTimeoutS")}
        />
        {problem ? (
          <p role="alert" className="error">
            {problem}
          </p>
        ) : null}
        <div className="actions">
          <button type="button" onClick={() => window.history.back()}>
            Cancel
          </button>
          <button type="submit" className="primary" disabled={create.isPending || update.isPending}>
            {sensor ? "Save" : "Register"}
          </button>
        </div>
      </form>
    </Page>
  );
}
