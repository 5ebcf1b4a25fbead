import { type FormEvent, useState } from "react";
import { client, errorText, type GenerateInput } from "../api";
import { bytes, formatDate, label, localDayStart, useTimezone } from "../format";
import { useCall, useMutate } from "../hooks";
import {
  ConfirmButton,
  canEdit,
  ErrorMessage,
  Loading,
  Page,
  Pager,
  SelectField,
  Status,
  TextField,
  useCan,
} from "../ui";

const TYPES = ["VIOLATIONS_SUMMARY", "TRAFFIC_VOLUME", "SENSOR_UPTIME", "EVENTS_EXPORT"] as const;
const FORMATS = ["PDF", "CSV", "JSON"] as const;
const TAKE = 10;

function isoDay(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat("en-CA", {
    timeZone,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).format(ms);
}

/** `YYYY-MM-DD` in the zone → the UTC instant of that local midnight. */
function dayStart(day: string, timeZone: string, days = 0): string {
  const [y, m, d] = day.split("-").map(Number);
  return localDayStart(Date.UTC(y, m - 1, d, 12), timeZone, days).toISOString();
}

export function Reports() {
  const tz = useTimezone();
  const may = useCan(...canEdit);
  const [page, setPage] = useState(1);
  const reports = useCall(
    "reports.getAll",
    { skip: (page - 1) * TAKE, take: TAKE },
    {
      // Poll while a report is queued or running: that is the progress display.
      refetchInterval: (query) =>
        query.state.data?.reports.some((r) => r.status === "QUEUED" || r.status === "RUNNING") ? 1000 : false,
    },
  );
  const remove = useMutate("reports.delete", ["reports."]);
  const [downloadError, setDownloadError] = useState<unknown>(null);
  const download = async (id: string, format: string) => {
    setDownloadError(null);
    try {
      const answer = await client.call("reports.getDownloadUrl", { id });
      // A link with `download` saves the file (same origin) instead of opening it in the tab.
      const link = document.createElement("a");
      link.href = answer.url;
      link.download = `report-${id}.${format.toLowerCase()}`;
      link.click();
    } catch (error) {
      setDownloadError(error);
    }
  };
  return (
    <Page title="Reports">
      {may ? <GenerateForm /> : <p className="muted">Generating reports needs the OPERATOR or ADMIN role.</p>}
      <h2>Generated reports</h2>
      <ErrorMessage error={reports.error ?? remove.error ?? downloadError} />
      {!reports.data ? (
        <Loading what="reports" />
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Created</th>
                <th scope="col">Type</th>
                <th scope="col">Period ({tz.timezone})</th>
                <th scope="col">Format</th>
                <th scope="col">Status</th>
                <th scope="col">Size</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {reports.data.reports.map((report) => (
                <tr key={report.id} data-testid={`report-${report.id}`}>
                  <td>{formatDate(report.createdAt, tz)}</td>
                  <td>{label(report.type)}</td>
                  <td>
                    {formatDate(report.from, tz, false)} – {formatDate(lastDay(report.to), tz, false)}
                  </td>
                  <td>{report.format}</td>
                  <td>
                    <Status value={report.status} />
                    {report.status === "RUNNING" || report.status === "QUEUED" ? (
                      <progress max={100} value={report.progress} aria-label="Progress" />
                    ) : null}
                    {report.error ? <span className="error"> {report.error}</span> : null}
                  </td>
                  <td>{bytes(report.sizeBytes)}</td>
                  <td className="actions">
                    <button
                      type="button"
                      disabled={report.status !== "READY"}
                      onClick={() => void download(report.id, report.format)}
                    >
                      Download
                    </button>
                    {may ? (
                      <ConfirmButton
                        label="Delete"
                        question="Delete this report and its file?"
                        onConfirm={() => remove.mutate({ id: report.id })}
                      />
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pageCount={reports.data.pageCount} total={reports.data.total} onPage={setPage} />
        </>
      )}
    </Page>
  );
}

function GenerateForm() {
  const tz = useTimezone();
  const now = Date.now();
  const [type, setType] = useState<GenerateInput["type"]>("VIOLATIONS_SUMMARY");
  const [format, setFormat] = useState<GenerateInput["format"]>("PDF");
  const [from, setFrom] = useState(isoDay(now - 7 * 86_400_000, tz.timezone));
  const [to, setTo] = useState(isoDay(now, tz.timezone));
  const [problem, setProblem] = useState<string | null>(null);
  const generate = useMutate("reports.generate", ["reports."]);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    generate.mutate(
      { type, format, from: dayStart(from, tz.timezone), to: dayStart(to, tz.timezone, 1) },
      { onError: (error) => setProblem(errorText(error)) },
    );
  };
  return (
    <form className="form inline-form" onSubmit={submit} aria-label="Generate a report">
      <SelectField
        label="Report type"
        value={type}
        onChange={(v) => setType(v as GenerateInput["type"])}
        options={TYPES}
        labels={label}
      />
      <TextField label="From (first day)" type="date" value={from} onChange={setFrom} required />
      <TextField label="To (last day)" type="date" value={to} onChange={setTo} required />
      <SelectField
        label="Format"
        value={format}
        onChange={(v) => setFormat(v as GenerateInput["format"])}
        options={FORMATS}
      />
      <p className="muted">Days are in the system time zone, {tz.timezone}.</p>
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <button type="submit" className="primary" disabled={generate.isPending}>
        Generate
      </button>
    </form>
  );
}

/** A period's `to` is exclusive: its last day is the one just before it. */
function lastDay(to: string): string {
  return new Date(Date.parse(to) - 1).toISOString();
}
