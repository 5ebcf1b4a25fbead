import type { SensorPage } from "../api";
import { formatDate, label, useTimezone } from "../format";
import { useCall } from "../hooks";
import { Link } from "../router";
import { ErrorMessage, Loading, Page, Stat, Status } from "../ui";

/** Health monitor: the service's checks, storage, and the sensors that need attention. */
export function Health() {
  const health = useCall("system.health", undefined, { refetchInterval: 10_000 });
  const stats = useCall("sensors.getStats", undefined, { refetchInterval: 10_000 });
  const storage = useCall("storage.getStats");
  const offline = useCall("sensors.getAll", {
    status: "OFFLINE",
    take: 20,
    sortBy: "lastHeartbeat",
    sortOrder: "desc",
  });
  const failing = useCall("sensors.getAll", {
    status: "ERROR",
    take: 20,
    sortBy: "lastHeartbeat",
    sortOrder: "desc",
  });
  return (
    <Page title="Health monitor">
      <ErrorMessage error={health.error ?? stats.error ?? storage.error ?? offline.error ?? failing.error} />
      {!health.data || !stats.data ? (
        <Loading what="health" />
      ) : (
        <>
          <div className="stats">
            <Stat label="Service" value={<Status value={health.data.status} />} />
            {Object.entries(health.data.checks).map(([name, check]) => (
              <Stat key={name} label={label(name)} value={<Status value={check.status} />} />
            ))}
            <Stat label="Uptime" value={`${Math.round(health.data.uptimeS / 60)} min`} />
            <Stat label="Sensors online" value={`${stats.data.online} / ${stats.data.total}`} />
          </div>
          {storage.data ? (
            <p>
              Storage: {(storage.data.usedStorage / 1e6).toFixed(1)} MB used of{" "}
              {(storage.data.totalStorage / 1e9).toFixed(1)} GB
            </p>
          ) : null}
          <Attention title="Offline sensors" page={offline.data} status="OFFLINE" />
          <Attention title="Sensors in error" page={failing.data} status="ERROR" />
        </>
      )}
    </Page>
  );
}

/** The first sensors of one status; the rest are counted and linked to the filtered sensor list. */
function Attention({ title, page, status }: { title: string; page: SensorPage | undefined; status: string }) {
  const tz = useTimezone();
  const more = page ? page.total - page.sensors.length : 0;
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      {page && page.sensors.length > 0 ? (
        <ul>
          {page.sensors.map((sensor) => (
            <li key={sensor.id}>
              <Link href={`/sensors/${sensor.id}`}>{sensor.name}</Link> ({label(sensor.type)}) · last
              heartbeat {formatDate(sensor.lastHeartbeat, tz)}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">None.</p>
      )}
      {more > 0 ? (
        <p>
          and <Link href={`/sensors?status=${status}`}>{more} more</Link>
        </p>
      ) : null}
    </section>
  );
}
