import { type FormEvent, useState } from "react";
import { errorText, type GetAllInput } from "../api";
import { formatDate, label, useTimezone } from "../format";
import { useCall, useMutate } from "../hooks";
import { Link, setSearch, useSearch } from "../router";
import {
  canEdit,
  ErrorMessage,
  Loading,
  Page,
  SearchField,
  SelectField,
  Status,
  TextField,
  useCan,
} from "../ui";

export const EVENT_TYPES = [
  "ANPR_READ",
  "SPEEDING",
  "RED_LIGHT",
  "WRONG_WAY",
  "ILLEGAL_PARKING",
  "LANE_VIOLATION",
  "NO_HELMET",
  "NO_SEATBELT",
  "MOBILE_PHONE",
  "STOPPED_VEHICLE",
  "ACCIDENT",
  "CONGESTION",
  "TRAFFIC_COUNT",
  "CAMERA_TAMPER",
  "VIDEO_LOSS",
] as const;
const REVIEW = ["PENDING", "CONFIRMED", "REJECTED"] as const;

/** The live feed: the newest page polls every 5 s; older pages (cursors) stay still. */
export function Events() {
  const tz = useTimezone();
  const params = useSearch();
  const [cursors, setCursors] = useState<string[]>([]);
  const [live, setLive] = useState(true);
  const cursor = cursors.at(-1);
  const type = params.get("type");
  const input: GetAllInput = {
    take: 25,
    types: type ? [type as (typeof EVENT_TYPES)[number]] : undefined,
    reviewStatus: (params.get("review") || undefined) as GetAllInput["reviewStatus"],
    plate: params.get("plate") || undefined,
    sensorId: params.get("sensor") || undefined,
    cursor,
  };
  const names = useSensorNames();
  const events = useCall("events.getAll", input, {
    refetchInterval: live && cursor === undefined ? 5000 : false,
    placeholderData: (previous) => previous,
  });
  const filter = (values: Record<string, string>) => {
    setCursors([]);
    setSearch(values);
  };
  return (
    <Page
      title="Events"
      actions={
        <label className="inline">
          <input type="checkbox" checked={live} onChange={(event) => setLive(event.target.checked)} /> Live
          (every 5 s)
        </label>
      }
    >
      <search className="filters">
        <SelectField
          label="Type"
          value={type ?? ""}
          onChange={(value) => filter({ type: value })}
          options={EVENT_TYPES}
          empty="All types"
          labels={label}
        />
        <SelectField
          label="Review"
          value={params.get("review") ?? ""}
          onChange={(value) => filter({ review: value })}
          options={REVIEW}
          empty="Any"
          labels={label}
        />
        <SearchField
          label="Plate"
          value={params.get("plate") ?? ""}
          onChange={(value) => filter({ plate: value })}
        />
        <SearchField
          label="Sensor id"
          value={params.get("sensor") ?? ""}
          onChange={(value) => filter({ sensor: value })}
        />
      </search>
      <ErrorMessage error={events.error} />
      {!events.data ? (
        <Loading what="events" />
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Occurred</th>
                <th scope="col">Type</th>
                <th scope="col">Plate</th>
                <th scope="col">Speed</th>
                <th scope="col">Sensor</th>
                <th scope="col">Review</th>
              </tr>
            </thead>
            <tbody>
              {events.data.events.map((event) => (
                <tr key={event.id}>
                  <td>
                    <Link href={`/events/${event.id}`}>{formatDate(event.occurredAt, tz)}</Link>
                  </td>
                  <td>{label(event.type)}</td>
                  <td>{event.correctedPlate ?? event.plate ?? "—"}</td>
                  <td>
                    {event.speedKmh !== null ? `${event.speedKmh} km/h` : "—"}
                    {event.speedLimitKmh !== null ? ` (limit ${event.speedLimitKmh})` : ""}
                  </td>
                  <td>
                    <SensorRef id={event.sensorId} names={names} />
                  </td>
                  <td>{event.isViolation ? <Status value={event.reviewStatus} /> : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {events.data.events.length === 0 ? <p className="muted">No event matches.</p> : null}
          <nav className="pager" aria-label="Pages">
            <button
              type="button"
              disabled={cursors.length === 0}
              onClick={() => setCursors(cursors.slice(0, -1))}
            >
              Newer
            </button>
            <button
              type="button"
              disabled={!events.data.nextCursor}
              onClick={() => events.data?.nextCursor && setCursors([...cursors, events.data.nextCursor])}
            >
              Older
            </button>
          </nav>
        </>
      )}
    </Page>
  );
}

/** Sensor names by id: events carry only the id; the map's unpaged list rides in the same batch
 * and stays cached for a minute. */
function useSensorNames(): Map<string, string> {
  const sensors = useCall("sensors.getAllSensors", undefined, { staleTime: 60_000 });
  return new Map((sensors.data ?? []).map((sensor) => [sensor.id, sensor.name]));
}

/** The sensor's name linking to it, its id as secondary text. */
function SensorRef({ id, names }: { id: string; names: Map<string, string> }) {
  const name = names.get(id);
  return (
    <>
      <Link href={`/sensors/${id}`}>{name ?? id}</Link>
      {name ? <small className="muted"> {id}</small> : null}
    </>
  );
}

export function EventDetail({ id }: { id: string }) {
  const tz = useTimezone();
  const may = useCan(...canEdit);
  const event = useCall("events.getById", { id });
  const names = useSensorNames();
  const history = useCall("events.getHistory", { id });
  const review = useMutate("events.review", ["events.", "reports."]);
  const [decision, setDecision] = useState<"CONFIRM" | "REJECT">("CONFIRM");
  const [reason, setReason] = useState("");
  const [plate, setPlate] = useState("");
  const [comment, setComment] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  if (event.error) return <ErrorMessage error={event.error} />;
  if (!event.data) return <Loading what="the event" />;
  const e = event.data;
  const submit = (form: FormEvent) => {
    form.preventDefault();
    setProblem(null);
    review.mutate(
      {
        id: e.id,
        decision,
        reason: decision === "REJECT" ? reason.trim() || null : null,
        correctedPlate: decision === "CONFIRM" ? plate.trim() || null : null,
        comment: comment.trim() || null,
      },
      { onError: (error) => setProblem(errorText(error)) },
    );
  };
  const images = e.evidence.filter((item) => item.downloadUrl && item.contentType.startsWith("image/"));
  return (
    <Page title={`${label(e.type)} event`}>
      <dl className="details">
        <dt>Occurred</dt>
        <dd>{formatDate(e.occurredAt, tz)}</dd>
        <dt>Received</dt>
        <dd>{formatDate(e.receivedAt, tz)}</dd>
        <dt>Sensor</dt>
        <dd>
          <SensorRef id={e.sensorId} names={names} />
        </dd>
        <dt>Plate</dt>
        <dd>
          {e.plate ?? "—"}
          {e.correctedPlate ? ` → corrected to ${e.correctedPlate}` : ""}
          {e.plateConfidence !== null ? ` (confidence ${Math.round(e.plateConfidence * 100)} %)` : ""}
        </dd>
        <dt>Speed</dt>
        <dd>
          {e.speedKmh !== null ? `${e.speedKmh} km/h` : "—"}
          {e.speedLimitKmh !== null ? ` (limit ${e.speedLimitKmh} km/h)` : ""}
        </dd>
        <dt>Lane / direction</dt>
        <dd>
          {e.lane ?? "—"} / {e.direction ?? "—"}
        </dd>
        <dt>Vehicle</dt>
        <dd>{e.vehicleClass ?? "—"}</dd>
        <dt>Review</dt>
        <dd data-testid="review-status">
          {e.isViolation ? <Status value={e.reviewStatus} /> : "not a violation"}
          {e.reviewedAt ? ` on ${formatDate(e.reviewedAt, tz)}` : ""}
        </dd>
      </dl>
      <h2>Evidence</h2>
      {e.evidence.length === 0 ? <p className="muted">No evidence uploaded.</p> : null}
      <div className="evidence">
        {images.map((item) => (
          <figure key={item.id}>
            <img src={item.downloadUrl ?? ""} alt={`${label(item.kind)} of the event`} />
            <figcaption>
              {label(item.kind)} · {item.state}
            </figcaption>
          </figure>
        ))}
      </div>
      <ul>
        {e.evidence
          .filter((item) => !images.includes(item))
          .map((item) => (
            <li key={item.id}>
              {label(item.kind)} · {item.state} ·{" "}
              {item.downloadUrl ? <a href={item.downloadUrl}>download</a> : "not available"}
            </li>
          ))}
      </ul>
      {e.isViolation && e.reviewStatus === "PENDING" && may ? (
        <form className="form" onSubmit={submit} aria-label="Review">
          <h2>Review</h2>
          <SelectField
            label="Decision"
            value={decision}
            onChange={(value) => setDecision(value as "CONFIRM" | "REJECT")}
            options={["CONFIRM", "REJECT"]}
            labels={label}
          />
          {decision === "REJECT" ? (
            <TextField label="Reason (needed to reject)" value={reason} onChange={setReason} />
          ) : (
            <TextField label="Corrected plate" value={plate} onChange={setPlate} />
          )}
          <TextField label="Comment" value={comment} onChange={setComment} />
          {problem ? (
            <p role="alert" className="error">
              {problem}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={review.isPending}>
            Submit review
          </button>
        </form>
      ) : null}
      <h2>History</h2>
      <ErrorMessage error={history.error} />
      {history.data && history.data.length > 0 ? (
        <ul>
          {history.data.map((entry) => (
            <li key={entry.id}>
              {formatDate(entry.reviewedAt, tz)}: {entry.fromStatus} → {entry.toStatus} by {entry.reviewerId}
              {entry.reason ? ` · reason: ${entry.reason}` : ""}
              {entry.correctedPlate ? ` · plate ${entry.originalPlate ?? "—"} → ${entry.correctedPlate}` : ""}
              {entry.comment ? ` · ${entry.comment}` : ""}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">No review yet.</p>
      )}
    </Page>
  );
}
