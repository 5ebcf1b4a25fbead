// The "Device health" panel of a sensor page: the samples the device sent with metrics.ingest,
// bucketed by metrics.getSeries in the system time zone.
import { useState } from "react";
import type { SeriesBucket, Stat } from "../api";
import { LineChart } from "../charts";
import { useCall } from "../hooks";
import { ErrorMessage, SelectField } from "../ui";

const PERIODS = {
  day: { text: "Last 24 hours, hourly", groupBy: "hour", hours: 24, labelEvery: 4 },
  week: { text: "Last 7 days, daily", groupBy: "day", hours: 7 * 24, labelEvery: 1 },
} as const;
type Period = keyof typeof PERIODS;

type MetricKey = Exclude<keyof SeriesBucket, "start" | "end" | "label" | "samples">;
// `scale` turns the wire unit into the shown one (recording is the share of samples recording).
const METRICS: { key: MetricKey; title: string; unit: string; scale?: number }[] = [
  { key: "cpuPct", title: "CPU", unit: "%" },
  { key: "memoryPct", title: "Memory", unit: "%" },
  { key: "diskPct", title: "Disk", unit: "%" },
  { key: "storageUsedPct", title: "Storage used", unit: "%" },
  { key: "temperatureC", title: "Temperature", unit: "°C" },
  { key: "fps", title: "Frame rate", unit: "fps" },
  { key: "bitrateKbps", title: "Bitrate", unit: "kbit/s" },
  { key: "recording", title: "Recording", unit: "% of samples", scale: 100 },
  { key: "uptimeS", title: "Uptime", unit: "h", scale: 1 / 3600 },
];
const FIVE_MINUTES = 5 * 60_000;

/** The period and its series; call it with the page's other queries so they share one batch. */
export function useDeviceHealth(sensorId: string) {
  const [period, setPeriod] = useState<Period>("day");
  // The window ends at the next 5-minute mark: the query key stays the same while the page is open.
  const [to] = useState(() => Math.ceil((Date.now() + 1) / FIVE_MINUTES) * FIVE_MINUTES);
  const { groupBy, hours } = PERIODS[period];
  const series = useCall(
    "metrics.getSeries",
    {
      sensorId,
      from: new Date(to - hours * 3_600_000).toISOString(),
      to: new Date(to).toISOString(),
      groupBy,
    },
    { placeholderData: (previous) => previous },
  );
  return { period, setPeriod, series };
}

function shortLabel(label: string, hourly: boolean): string {
  // "2024-03-31T03:00+02:00" → "03:00"; "2024-03-31" → "03-31"
  return hourly ? label.slice(11, 16) : label.slice(5, 10);
}

function scaled(stat: Stat | null, scale: number): Stat | null {
  return stat && { avg: stat.avg * scale, min: stat.min * scale, max: stat.max * scale };
}

export function DeviceHealth({ health }: { health: ReturnType<typeof useDeviceHealth> }) {
  const { period, setPeriod, series } = health;
  const buckets = series.data?.buckets ?? [];
  const reported = METRICS.filter((metric) => buckets.some((bucket) => bucket[metric.key] !== null));
  // Labelled by what the answer holds: the previous period's answer stays shown while the next loads.
  const hourly = series.data?.groupBy === "hour";
  const labels = buckets.map((bucket) => shortLabel(bucket.label, hourly));
  const names = buckets.map((bucket) => bucket.label.slice(0, 16).replace("T", " "));
  return (
    <section aria-labelledby="device-health">
      <h2 id="device-health">Device health</h2>
      <div className="filters">
        <SelectField
          label="Period"
          value={period}
          onChange={(value) => setPeriod(value as Period)}
          options={Object.keys(PERIODS)}
          labels={(value) => PERIODS[value as Period].text}
        />
      </div>
      <ErrorMessage error={series.error} />
      {series.isPending ? (
        <p className="muted">Loading health samples…</p>
      ) : reported.length === 0 ? (
        <p className="muted">No health samples from this device in this period.</p>
      ) : (
        <div className="charts" data-testid="device-health-charts">
          {reported.map((metric) => (
            <LineChart
              key={metric.key}
              title={metric.title}
              unit={metric.unit}
              labels={labels}
              names={names}
              points={buckets.map((bucket) => scaled(bucket[metric.key], metric.scale ?? 1))}
              labelEvery={hourly ? PERIODS.day.labelEvery : PERIODS.week.labelEvery}
            />
          ))}
        </div>
      )}
    </section>
  );
}
