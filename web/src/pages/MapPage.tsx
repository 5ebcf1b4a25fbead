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
/** Optional raster tiles, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`, set at build time
 * (`VITE_TVMS_TILE_URL`); without it the map needs no network at all. */
const TILE_URL = (import.meta as { env?: Record<string, string | undefined> }).env?.VITE_TVMS_TILE_URL;

/** Longitude/latitude → Web Mercator world pixels at zoom 0 (a 256-pixel world). */
function worldX(lon: number): number {
  return ((lon + 180) / 360) * 256;
}

function worldY(lat: number): number {
  const clamped = Math.max(-85.05, Math.min(85.05, lat));
  return ((1 - Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360)) / Math.PI) / 2) * 256;
}

function Tiles(props: { template: string; scale: number; offsetX: number; offsetY: number }) {
  const zoom = Math.max(0, Math.min(19, Math.floor(Math.log2(props.scale))));
  const count = 2 ** zoom;
  const size = (256 * props.scale) / count;
  const range = (offset: number, extent: number) => {
    const first = Math.max(0, Math.floor(-offset / size));
    const last = Math.min(count - 1, Math.floor((extent - offset) / size));
    return Array.from({ length: Math.max(0, last - first + 1) }, (_, index) => first + index);
  };
  const columns = range(props.offsetX, W);
  const rows = range(props.offsetY, H);
  if (columns.length * rows.length > 200) return null;
  return (
    <g>
      {columns.flatMap((column) =>
        rows.map((row) => (
          <image
            key={`${column}/${row}`}
            href={props.template
              .replace("{z}", String(zoom))
              .replace("{x}", String(column))
              .replace("{y}", String(row))}
            x={props.offsetX + column * size}
            y={props.offsetY + row * size}
            width={size}
            height={size}
          />
        )),
      )}
    </g>
  );
}

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const overlaps = (a: Box, b: Box) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;

/** Greedy label placement: a name is drawn only when its box hits no name drawn before it; the
 * others show on hover or keyboard focus. */
function placeLabels(places: { id: string; name: string; px: number; py: number }[]): Set<string> {
  // Every location's square is an obstacle too, so a name does not cover another location.
  const drawn: Box[] = places.map((place) => ({ x: place.px - 5, y: place.py - 5, w: 10, h: 10 }));
  const shown = new Set<string>();
  for (const place of places) {
    const box = { x: place.px + 6, y: place.py - 8, w: 4 + place.name.length * 7, h: 16 };
    if (drawn.some((other) => overlaps(box, other))) continue;
    drawn.push(box);
    shown.add(place.id);
  }
  return shown;
}

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
  // Web Mercator (what tile servers use), fitted to the points' bounds.
  const xs = lons.map(worldX);
  const ys = lats.map(worldY);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const scale = Math.min(
    (W - 2 * PAD) / Math.max(maxX - minX, 1e-9),
    (H - 2 * PAD) / Math.max(maxY - minY, 1e-9),
  );
  const offsetX = (W - (maxX - minX) * scale) / 2 - minX * scale;
  const offsetY = (H - (maxY - minY) * scale) / 2 - minY * scale;
  const x = (lon: number) => worldX(lon) * scale + offsetX;
  const y = (lat: number) => worldY(lat) * scale + offsetY;
  const shown = placeLabels(
    places.map((place) => ({
      id: place.id,
      name: place.name,
      px: x(place.longitude),
      py: y(place.latitude),
    })),
  );
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
          {TILE_URL ? <Tiles template={TILE_URL} scale={scale} offsetX={offsetX} offsetY={offsetY} /> : null}
          {places.map((place) => (
            <g
              key={place.id}
              className={shown.has(place.id) ? "place" : "place crowded"}
              tabIndex={0}
              aria-label={place.name}
            >
              <title>{place.name}</title>
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
