import { useState } from "react";
import { formatDate, useTimezone } from "../format";
import { useCall } from "../hooks";
import { ErrorMessage, Loading, Page, Pager, SelectField, TextField } from "../ui";

const TAKE = 25;

export function Audit() {
  const tz = useTimezone();
  const [page, setPage] = useState(1);
  const [actor, setActor] = useState("");
  const [procedure, setProcedure] = useState("");
  const [outcome, setOutcome] = useState("");
  const audit = useCall(
    "audit.getAll",
    {
      skip: (page - 1) * TAKE,
      take: TAKE,
      actor: actor || undefined,
      procedure: procedure || undefined,
      outcome: outcome || undefined,
      sortOrder: "desc",
    },
    { placeholderData: (previous) => previous },
  );
  return (
    <Page title="Audit log">
      <search className="filters">
        <TextField
          label="Actor id"
          value={actor}
          onChange={(v) => {
            setActor(v);
            setPage(1);
          }}
        />
        <TextField
          label="Procedure"
          value={procedure}
          onChange={(v) => {
            setProcedure(v);
            setPage(1);
          }}
        />
        <SelectField
          label="Outcome"
          value={outcome}
          onChange={(v) => {
            setOutcome(v);
            setPage(1);
          }}
          options={["OK", "FORBIDDEN", "UNAUTHORIZED", "NOT_FOUND", "CONFLICT", "INVALID_PARAMS"]}
          empty="Any"
        />
      </search>
      <ErrorMessage error={audit.error} />
      {!audit.data ? (
        <Loading what="the audit log" />
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Procedure</th>
                <th scope="col">Target</th>
                <th scope="col">Outcome</th>
                <th scope="col">Request</th>
              </tr>
            </thead>
            <tbody>
              {audit.data.entries.map((entry) => (
                <tr key={entry.id}>
                  <td>{formatDate(entry.at, tz)}</td>
                  <td>
                    {entry.actorKind ?? "—"} {entry.actorId ?? ""}{" "}
                    {entry.actorRole ? `(${entry.actorRole})` : ""}
                  </td>
                  <td>{entry.procedure}</td>
                  <td>{entry.targetId ?? "—"}</td>
                  <td>{entry.outcome}</td>
                  <td>
                    <code>{entry.requestId ?? "—"}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pageCount={audit.data.pageCount} total={audit.data.total} onPage={setPage} />
        </>
      )}
    </Page>
  );
}
