// The account page's second factor: status, enrolment, new recovery codes, turning it off.
import { type FormEvent, useState } from "react";
import { errorText, type MfaEnrolment } from "./api";
import { useCall, useMutate } from "./hooks";
import { CodeField, EnrolmentView, RecoveryCodes } from "./mfa";
import { ErrorMessage, Loading, TextField } from "./ui";

type Panel = "enrol" | "regenerate" | "disable" | null;

export function SecondFactor() {
  const status = useCall("auth.mfa.getStatus");
  const enrol = useMutate("auth.mfa.enrol", ["auth.mfa."]);
  const confirm = useMutate("auth.mfa.confirm", ["auth.mfa."]);
  const regenerate = useMutate("auth.mfa.regenerateRecoveryCodes", ["auth.mfa."]);
  const disable = useMutate("auth.mfa.disable", ["auth.mfa."]);
  const [panel, setPanel] = useState<Panel>(null);
  const [enrolment, setEnrolment] = useState<MfaEnrolment | null>(null);
  const [codes, setCodes] = useState<string[] | null>(null);
  const [code, setCode] = useState("");
  const [password, setPassword] = useState("");
  const [done, setDone] = useState<string | null>(null);
  const [failure, setFailure] = useState<unknown>(null);

  const open = (next: Panel) => {
    setPanel(next);
    setCode("");
    setPassword("");
    setDone(null);
    setFailure(null);
  };
  const run = async (action: () => Promise<void>) => {
    setFailure(null);
    try {
      await action();
    } catch (error) {
      setFailure(error);
    }
  };
  const startEnrolment = () =>
    run(async () => {
      open("enrol");
      setEnrolment(await enrol.mutateAsync(undefined));
    });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (panel === "enrol") {
      void run(async () => {
        setCodes((await confirm.mutateAsync({ code })).recoveryCodes);
        setEnrolment(null);
        open(null);
      });
    } else if (panel === "regenerate") {
      void run(async () => {
        setCodes((await regenerate.mutateAsync({ code })).recoveryCodes);
        open(null);
      });
    } else if (panel === "disable") {
      void run(async () => {
        await disable.mutateAsync({ currentPassword: password, code });
        open(null);
        setDone("Multi-factor sign-in is off.");
      });
    }
  };

  if (!status.data) {
    return (
      <section aria-label="Multi-factor sign-in">
        <h2>Multi-factor sign-in</h2>
        {status.error ? <ErrorMessage error={status.error} /> : <Loading what="the second factor" />}
      </section>
    );
  }
  const mfa = status.data;
  const busy = enrol.isPending || confirm.isPending || regenerate.isPending || disable.isPending;
  return (
    <section aria-label="Multi-factor sign-in">
      <h2>Multi-factor sign-in</h2>
      <p data-testid="mfa-status">
        {mfa.enabled
          ? `On: a code from your authenticator app is asked at every sign-in. ${mfa.recoveryCodesLeft} recovery codes left.`
          : mfa.pending
            ? "Off: a set-up was started but not confirmed with a code; set up again to finish."
            : "Off: your password alone signs you in."}
        {mfa.required ? " Required for every user by the security settings." : ""}
      </p>
      {codes ? <RecoveryCodes codes={codes} onDone={() => setCodes(null)} done="Done" /> : null}
      {done ? (
        <p role="status" className="ok">
          {done}
        </p>
      ) : null}
      {panel === null ? (
        <div className="actions">
          {mfa.enabled ? (
            <>
              <button type="button" onClick={() => open("regenerate")}>
                New recovery codes
              </button>
              {mfa.required ? null : (
                <button type="button" className="danger" onClick={() => open("disable")}>
                  Turn off
                </button>
              )}
            </>
          ) : (
            <button type="button" className="primary" disabled={busy} onClick={() => void startEnrolment()}>
              Set up
            </button>
          )}
        </div>
      ) : (
        <form className="form" onSubmit={submit} aria-label="Second factor">
          {panel === "enrol" ? (
            enrolment ? (
              <EnrolmentView enrolment={enrolment} />
            ) : (
              <Loading what="a new secret" />
            )
          ) : null}
          {panel === "regenerate" ? <p>Your current recovery codes stop working.</p> : null}
          {panel === "disable" ? (
            <TextField
              label="Current password"
              type="password"
              value={password}
              onChange={setPassword}
              required
              autoComplete="current-password"
            />
          ) : null}
          <CodeField
            label={panel === "enrol" ? "Code from the app" : "Code"}
            value={code}
            onChange={setCode}
            recovery={panel !== "enrol"}
          />
          {failure ? (
            <p role="alert" className="error">
              {errorText(failure)}
            </p>
          ) : null}
          <div className="actions">
            <button type="submit" className={panel === "disable" ? "danger" : "primary"} disabled={busy}>
              {panel === "enrol" ? "Confirm" : panel === "regenerate" ? "Make new codes" : "Turn off"}
            </button>
            <button type="button" onClick={() => open(null)}>
              Cancel
            </button>
          </div>
        </form>
      )}
      {panel === null && failure ? <ErrorMessage error={failure} /> : null}
    </section>
  );
}
