// Dates in the configured time zone and format (system.timezone.getTimezoneSettings).
import { useQuery } from "@tanstack/react-query";
import { client, type TimezoneSettings } from "./api";

export const DEFAULT_TZ: TimezoneSettings = {
  timezone: "Asia/Almaty",
  use24HourFormat: true,
  dateFormat: "DD/MM/YYYY",
  firstDayOfWeek: 1,
};

const TZ_KEY = "tvms.timezone";

function rememberedTimezone(): TimezoneSettings | undefined {
  try {
    return (JSON.parse(localStorage.getItem(TZ_KEY) ?? "null") as TimezoneSettings | null) ?? undefined;
  } catch {
    return undefined;
  }
}

/** The zone settings; the last ones seen are used at once (and refreshed in the same first batch),
 * so a page never waits a round trip for them. */
export const tzQuery = {
  queryKey: ["system.timezone.getTimezoneSettings"],
  queryFn: async () => {
    const settings = await client.call("system.timezone.getTimezoneSettings");
    localStorage.setItem(TZ_KEY, JSON.stringify(settings));
    return settings;
  },
  initialData: rememberedTimezone,
  initialDataUpdatedAt: 0,
  staleTime: 5 * 60_000,
};

export function useTimezone(): TimezoneSettings {
  return useQuery(tzQuery).data ?? DEFAULT_TZ;
}

function parts(date: Date, timeZone: string, hour12: boolean): Record<string, string> {
  const format = new Intl.DateTimeFormat("en-GB", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    hour12,
  });
  const out: Record<string, string> = {};
  for (const part of format.formatToParts(date)) out[part.type] = part.value;
  return out;
}

export function formatDate(iso: string | null | undefined, tz: TimezoneSettings, withTime = true): string {
  if (!iso) return "—";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const p = parts(date, tz.timezone, !tz.use24HourFormat);
  const day = tz.dateFormat.replace("YYYY", p.year).replace("MM", p.month).replace("DD", p.day);
  if (!withTime) return day;
  const hour = p.hour === "24" ? "00" : p.hour;
  const suffix = tz.use24HourFormat ? "" : ` ${(p.dayPeriod ?? "").toUpperCase()}`;
  return `${day} ${hour}:${p.minute}:${p.second}${suffix}`;
}

/** Milliseconds the zone is ahead of UTC at `ms`. */
function offsetAt(ms: number, timeZone: string): number {
  const p = parts(new Date(ms), timeZone, false);
  const wall = Date.UTC(
    +p.year,
    +p.month - 1,
    +p.day,
    +(p.hour === "24" ? "0" : p.hour),
    +p.minute,
    +p.second,
  );
  return wall - Math.floor(ms / 1000) * 1000;
}

/** The UTC instant of local midnight (in `timeZone`) of the day `ms` falls in, `days` later. */
export function localDayStart(ms: number, timeZone: string, days = 0): Date {
  const p = parts(new Date(ms), timeZone, false);
  const guess = Date.UTC(+p.year, +p.month - 1, +p.day + days);
  let start = guess - offsetAt(guess, timeZone);
  start = guess - offsetAt(start, timeZone);
  return new Date(start);
}

/** `[from, to)` of today in the configured zone, as ISO strings. */
export function today(tz: TimezoneSettings, now = Date.now()): { from: string; to: string } {
  return {
    from: localDayStart(now, tz.timezone).toISOString(),
    to: localDayStart(now, tz.timezone, 1).toISOString(),
  };
}

export function bytes(size: number | null | undefined): string {
  if (size === null || size === undefined) return "—";
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = size;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

const ACRONYMS = new Set(["ANPR", "NVR", "CSV", "JSON", "PDF"]);

/** `SPEED_DETECTOR` → "Speed Detector"; acronyms stay as they are. */
export function label(value: string | null | undefined): string {
  if (!value) return "—";
  return value
    .split("_")
    .map((word) => (ACRONYMS.has(word) ? word : word.charAt(0) + word.slice(1).toLowerCase()))
    .join(" ");
}

/** Hours and minutes only, in the configured zone and clock. */
export function formatTime(iso: string, tz: TimezoneSettings): string {
  return new Intl.DateTimeFormat("en-GB", {
    timeZone: tz.timezone,
    hour: "2-digit",
    minute: "2-digit",
    hour12: !tz.use24HourFormat,
  }).format(new Date(iso));
}
