// The reference of `make bench`: the same two procedures as TVMS on tRPC v11, mounted on Hono
// (@hono/node-server), reading the same SQLite file with better-sqlite3, inputs checked by zod.
// Usage: node server.mjs --port N --db path/to/tvms.db [--workers N]  (workers: Node's cluster)
import cluster from "node:cluster";
import { parseArgs } from "node:util";
import { serve } from "@hono/node-server";
import { trpcServer } from "@hono/trpc-server";
import { initTRPC } from "@trpc/server";
import Database from "better-sqlite3";
import { Hono } from "hono";
import { z } from "zod";

const { values: args } = parseArgs({
  options: { port: { type: "string" }, db: { type: "string" }, workers: { type: "string", default: "1" } },
});
const workers = Number(args.workers);

if (workers > 1 && cluster.isPrimary) {
  for (let i = 0; i < workers; i++) cluster.fork();
  process.on("SIGTERM", () => {
    for (const worker of Object.values(cluster.workers)) worker.kill("SIGTERM");
    process.exit(0);
  });
} else {
  const db = new Database(args.db, { readonly: true });
  const LICENSE = {
    valid: true,
    type: "enterprise",
    expiresAt: null,
    features: ["dashboard", "sensors", "events", "reports", "analytics", "users", "settings", "api"],
    maxSensors: 10000,
    maxUsers: 100,
  };
  const ORDER = {
    name: "name", type: "type", status: "status", createdAt: "created_at",
    lastHeartbeat: "COALESCE(last_heartbeat_at, -1)",
  };
  const COLUMNS =
    "id, name, device_id, type, status, ip_address, latitude, longitude, location_id, parent_sensor_id, " +
    "firmware_version, heartbeat_timeout_s, last_heartbeat_at, last_event_at, created_at, updated_at";
  const pages = new Map();
  const page = (sortBy, order, filtered) => {
    const key = `${sortBy} ${order} ${filtered}`;
    if (!pages.has(key)) {
      const where = filtered
        ? "deleted_at IS NULL AND (name LIKE @search OR device_id LIKE @search)"
        : "deleted_at IS NULL";
      pages.set(key, {
        rows: db.prepare(
          `SELECT ${COLUMNS} FROM sensors WHERE ${where} ORDER BY ${ORDER[sortBy]} ${order}, id ${order} ` +
            "LIMIT @take OFFSET @skip",
        ),
        count: db.prepare(`SELECT COUNT(*) AS n FROM sensors WHERE ${where}`),
      });
    }
    return pages.get(key);
  };
  const iso = (ms) => (ms == null ? null : new Date(Number(ms)).toISOString());
  const sensor = (row, now) => ({
    id: row.id,
    name: row.name,
    deviceId: row.device_id,
    type: row.type,
    status:
      row.status === "ONLINE" && (row.last_heartbeat_at == null ||
        now - row.last_heartbeat_at > row.heartbeat_timeout_s * 1000) ? "OFFLINE" : row.status,
    ipAddress: row.ip_address,
    coordinates: row.latitude == null ? null : { latitude: row.latitude, longitude: row.longitude },
    locationId: row.location_id,
    parentSensorId: row.parent_sensor_id,
    firmwareVersion: row.firmware_version,
    apiKeyPrefix: null,
    heartbeatTimeoutS: row.heartbeat_timeout_s,
    lastHeartbeat: iso(row.last_heartbeat_at),
    lastEventAt: iso(row.last_event_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  });

  const t = initTRPC.create();
  const router = t.router({
    system: t.router({ getLicense: t.procedure.query(() => LICENSE) }),
    sensors: t.router({
      getAll: t.procedure
        .input(
          z.object({
            skip: z.number().int().min(0).default(0),
            take: z.number().int().min(1).max(100).default(10),
            search: z.string().max(200).optional(),
            sortBy: z.enum(["name", "type", "status", "createdAt", "lastHeartbeat"]).default("createdAt"),
            sortOrder: z.enum(["asc", "desc"]).default("desc"),
          }).strict().default({}),
        )
        .query(({ input }) => {
          const filtered = Boolean(input.search);
          const statements = page(input.sortBy, input.sortOrder, filtered);
          const params = { skip: input.skip, take: input.take, search: filtered ? `%${input.search}%` : undefined };
          if (!filtered) delete params.search;
          const rows = statements.rows.all(params);
          const total = statements.count.get(filtered ? { search: params.search } : {}).n;
          const now = Date.now();
          return { sensors: rows.map((row) => sensor(row, now)), total, pageCount: Math.ceil(total / input.take) };
        }),
    }),
  });

  const app = new Hono();
  app.use("/trpc/*", trpcServer({ router, endpoint: "/trpc" }));
  app.get("/bare", (c) => c.json(LICENSE)); // Node's own ceiling: no tRPC, no validation
  serve({ fetch: app.fetch, port: Number(args.port), hostname: "127.0.0.1" });
  process.on("SIGTERM", () => process.exit(0));
}
