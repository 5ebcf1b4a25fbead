import { label } from "../format";
import { useCall } from "../hooks";
import { Link, navigate } from "../router";
import { ErrorMessage, Loading, Page } from "../ui";

const COLOURS: Record<string, string> = {
  ONLINE: "#16a34a",
  OFFLINE: "#6b7280",
  MAINTENANCE: "#d97706",
  ERROR: "#dc2626",
};
const W = 1000;
const H = 640;
const PAD = 40;

/** Locations and sensors as projected points on a plain background: no tile server needed. */
export function MapPage() {
  const sensors = useCall("sensors.getAllSensors");
  const locations = useCall("locations.getAll", { take: 100 });
  const error = sensors.error ?? locations.error;
  if (!sensors.data || !locations.data) {
    return (
      <Page title="Map">
        <ErrorMessage error={error} />
        {error ? null : <Loading what="the map" />}
      </Page>
    );
  }
  const places = locations.data.locations;
  const points = sensors.data.flatMap((sensor) => {
    const at = sensor.coordinates ?? sensor.location;
    return at ? [{ sensor, lat: at.latitude, lon: at.longitude }] : [];
  });
  const lats = [...points.map((p) => p.lat), ...places.map((p) => p.latitude)];
  const lons = [...points.map((p) => p.lon), ...places.map((p) => p.longitude)];
  const [minLat, maxLat] = [Math.min(...lats), Math.max(...lats)];
  const [minLon, maxLon] = [Math.min(...lons), Math.max(...lons)];
  // Equirectangular, longitudes shrunk by cos(latitude) so distances look right locally.
  const k = Math.cos((((minLat + maxLat) / 2) * Math.PI) / 180);
  const spanX = Math.max((maxLon - minLon) * k, 1e-6);
  const spanY = Math.max(maxLat - minLat, 1e-6);
  const scale = Math.min((W - 2 * PAD) / spanX, (H - 2 * PAD) / spanY);
  const x = (lon: number) => PAD + (lon - minLon) * k * scale;
  const y = (lat: number) => H - PAD - (lat - minLat) * scale;
  const counts = new Map<string, number>();
  for (const { sensor } of points) counts.set(sensor.status, (counts.get(sensor.status) ?? 0) + 1);
  return (
    <Page title="Map">
      <p className="legend">
        {Object.entries(COLOURS).map(([status, colour]) => (
          <span key={status}>
            <svg width="12" height="12" aria-hidden="true">
              <circle cx="6" cy="6" r="5" fill={colour} />
            </svg>{" "}
            {label(status)} ({counts.get(status) ?? 0})
          </span>
        ))}
        <span>■ location</span>
      </p>
      {lats.length === 0 ? (
        <p className="muted">No location or sensor has coordinates yet.</p>
      ) : (
        <svg className="map" viewBox={`0 0 ${W} ${H}`} role="img" aria-label="Map of locations and sensors">
          <title>Locations and sensors</title>
          <rect width={W} height={H} fill="#f1f5f9" />
          {places.map((place) => (
            <g key={place.id}>
              <rect
                x={x(place.longitude) - 5}
                y={y(place.latitude) - 5}
                width="10"
                height="10"
                fill="#1e3a8a"
              />
              <text x={x(place.longitude) + 8} y={y(place.latitude) + 4} fontSize="11" fill="#1e293b">
                {place.name}
              </text>
            </g>
          ))}
          {points.map(({ sensor, lat, lon }) => (
            // biome-ignore lint/a11y/useSemanticElements: an SVG shape cannot be a <button>
            <circle
              key={sensor.id}
              cx={x(lon)}
              cy={y(lat)}
              r="5"
              fill={COLOURS[sensor.status]}
              stroke="#fff"
              role="button"
              tabIndex={0}
              aria-label={`${sensor.name}, ${label(sensor.status)}`}
              onClick={() => navigate(`/sensors/${sensor.id}`)}
              onKeyDown={(event) => {
                if (event.key === "Enter") navigate(`/sensors/${sensor.id}`);
              }}
            >
              <title>{`${sensor.name} (${label(sensor.type)}) — ${label(sensor.status)}`}</title>
            </circle>
          ))}
        </svg>
      )}
      <p className="muted">
        {points.length} sensors and {places.length} locations placed. <Link href="/locations">Locations</Link>{" "}
        · <Link href="/sensors">Sensors</Link>
      </p>
    </Page>
  );
}
