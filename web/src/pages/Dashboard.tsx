import { useQuery } from "@tanstack/react-query";
import { BarChart } from "../charts";
import { formatDate, formatTime, label, today, tzQuery } from "../format";
import { useCall } from "../hooks";
import { Link } from "../router";
import { ErrorMessage, Loading, Page, Stat, Status } from "../ui";

export function Dashboard() {
  // Every call below waits for the time zone (already cached after sign-in), so the first load
  // is one batch.
  const tzq = useQuery(tzQuery);
  const tz = tzq.data;
  const period = tz ? today(tz) : null;
  const enabled = period !== null;
  const stats = useCall("reports.getDashboardStats", {}, { enabled });
  const sensors = useCall("sensors.getStats", undefined, { enabled });
  const volume = useCall("reports.getTrafficVolume", period ? { ...period, groupBy: "hour" } : undefined, {
    enabled,
  });
  const pending = useCall("events.getAll", { reviewStatus: "PENDING", take: 8 }, { enabled });
  const health = useCall("system.health", undefined, { enabled });
  const licence = useCall("system.getLicense", undefined, { enabled });

  const error = tzq.error ?? stats.error ?? sensors.error ?? volume.error ?? pending.error ?? health.error;
  return (
    <Page title="Dashboard">
      <ErrorMessage error={error} />
      {!tz || !stats.data || !sensors.data ? (
        <Loading what="the dashboard" />
      ) : (
        <>
          <p className="muted">
            Today in {tz.timezone}, from {formatDate(stats.data.from, tz)} to {formatDate(stats.data.to, tz)}
          </p>
          <section className="stats" aria-label="Today">
            <Stat label="Events today" value={stats.data.totalEvents} testId="events-today" />
            <Stat label="Violations today" value={stats.data.totalViolations} testId="violations-today" />
            <Stat
              label="Waiting for review (today)"
              value={stats.data.pendingReviews}
              testId="pending-reviews"
            />
          </section>
          <h2>Sensors</h2>
          <section className="stats" aria-label="Sensors by status">
            <Stat label="Total" value={sensors.data.total} testId="sensors-total" />
            {Object.entries(sensors.data.byStatus).map(([status, count]) => (
              <Stat key={status} label={label(status)} value={count} testId={`sensors-${status}`} />
            ))}
          </section>
          <div className="charts">
            <BarChart
              title="Sensors by type"
              bars={Object.entries(sensors.data.byType).map(([type, count]) => ({
                label: label(type),
                value: count,
              }))}
              color="#0d9488"
              horizontal
            />
            <BarChart
              title="Violations today by type"
              bars={stats.data.violationsByType.map((item) => ({
                label: label(item.type),
                value: item.count,
              }))}
              color="#dc2626"
              horizontal
            />
            <BarChart
              title="Traffic volume today by hour"
              bars={(volume.data?.buckets ?? []).map((bucket) => ({
                label: formatTime(bucket.start, tz),
                value: bucket.count,
              }))}
              labelEvery={3}
            />
          </div>
          <h2>
            Latest violations waiting for review (<Link href="/events?review=PENDING">all</Link>)
          </h2>
          {pending.data ? (
            pending.data.events.length === 0 ? (
              <p className="muted">Nothing waits for review.</p>
            ) : (
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Type</th>
                    <th scope="col">Plate</th>
                    <th scope="col">Review</th>
                  </tr>
                </thead>
                <tbody>
                  {pending.data.events.map((event) => (
                    <tr key={event.id}>
                      <td>
                        <Link href={`/events/${event.id}`}>{formatDate(event.occurredAt, tz)}</Link>
                      </td>
                      <td>{label(event.type)}</td>
                      <td>{event.plate ?? "—"}</td>
                      <td>
                        <Status value={event.reviewStatus} />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )
          ) : null}
          <div className="two">
            <section aria-label="System health">
              <h2>System health</h2>
              {health.data ? (
                <ul className="plain">
                  <li>
                    Overall <Status value={health.data.status} /> · version {health.data.version} · engine{" "}
                    {health.data.engine}
                  </li>
                  {Object.entries(health.data.checks).map(([name, check]) => (
                    <li key={name}>
                      {label(name)} <Status value={check.status} /> {check.latencyMs.toFixed(1)} ms
                      {check.error ? ` · ${check.error}` : ""}
                    </li>
                  ))}
                </ul>
              ) : null}
            </section>
            <section aria-label="Licence">
              <h2>Licence</h2>
              {licence.data ? (
                <ul className="plain">
                  <li>
                    {licence.data.organization} · {licence.data.type} ·{" "}
                    {licence.data.valid ? "valid" : "NOT valid"}
                  </li>
                  <li>
                    Expires: {licence.data.expiresAt ? formatDate(licence.data.expiresAt, tz) : "never"}
                  </li>
                  <li>
                    Users: {licence.data.maxUsers < 0 ? "unlimited" : licence.data.maxUsers} · Sensors:{" "}
                    {licence.data.maxSensors < 0 ? "unlimited" : licence.data.maxSensors}
                  </li>
                  <li>Features: {licence.data.features.join(", ")}</li>
                </ul>
              ) : null}
            </section>
          </div>
        </>
      )}
    </Page>
  );
}
