import { useQuery } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useEffect, useRef, useState } from "react";
import {
  client,
  errorText,
  type LoginResult,
  type LoginUser,
  type MfaEnrolment,
  PreconditionFailedError,
  rememberPage,
  setSession,
  TooManyRequestsError,
  takeReturnPath,
  UnauthorizedError,
} from "../api";
import { formatDate, tzQuery, useTimezone } from "../format";
import { CodeField, EnrolmentView, RecoveryCodes } from "../mfa";
import { navigate } from "../router";
import { TextField } from "../ui";

function lockoutText(error: TooManyRequestsError, tz: ReturnType<typeof useTimezone>): string {
  const data = (error.data ?? {}) as { retryAfter?: number; lockedUntil?: string };
  const seconds = data.retryAfter ?? 0;
  const wait =
    seconds > 0 ? ` Try again in ${seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`}` : "";
  const until = data.lockedUntil ? ` (at ${formatDate(data.lockedUntil, tz)})` : "";
  // The server's "try again later" is said more precisely here, when the time is known.
  const said = wait ? error.message.replace(/[;,]?\s*try again later\.?$/i, "") : error.message;
  return `${said}.${wait}${until}`.replace("..", ".");
}

/** Where a sign-in stands: the password, one of the steps `auth.login` may ask for after it
 * (each with its challenge), or the recovery codes of a just-finished enrolment. */
type Step =
  | { kind: "PASSWORD" }
  | { kind: "MFA_REQUIRED"; challenge: string }
  | { kind: "PASSWORD_EXPIRED"; challenge: string }
  | { kind: "MFA_ENROLMENT_REQUIRED"; challenge: string; enrolment?: MfaEnrolment }
  | { kind: "RECOVERY_CODES"; codes: string[]; token: string; user: LoginUser };

const STEPS = ["MFA_REQUIRED", "PASSWORD_EXPIRED", "MFA_ENROLMENT_REQUIRED"] as const;

/** The next step named by a PRECONDITION_FAILED answer, if it is one. */
function nextStep(error: unknown): Step | null {
  if (!(error instanceof PreconditionFailedError)) return null;
  const data = (error.data ?? {}) as { reason?: unknown; challenge?: unknown };
  const kind = STEPS.find((step) => step === data.reason);
  return kind && typeof data.challenge === "string" ? { kind, challenge: data.challenge } : null;
}

/** A challenge unknown, expired or used up: the sign-in starts over (a wrong code is not one). */
function challengeGone(error: unknown): boolean {
  return error instanceof UnauthorizedError && /challenge/i.test(error.message);
}

export function Login() {
  const tz = useTimezone();
  useEffect(rememberPage, []);
  // Public and needed right after sign-in: loaded now so the dashboard's first load is one batch.
  useQuery(tzQuery);
  useQuery({ queryKey: ["system.getLicense", null], queryFn: () => client.call("system.getLicense") });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [code, setCode] = useState("");
  const [newPassword, setNewPassword] = useState("");
  const [again, setAgain] = useState("");
  const [step, setStep] = useState<Step>({ kind: "PASSWORD" });
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  // Each new step puts the keyboard in its first field.
  const form = useRef<HTMLFormElement>(null);
  const shown = step.kind === "MFA_ENROLMENT_REQUIRED" && step.enrolment ? "ENROLMENT" : step.kind;
  useEffect(() => {
    if (shown !== "PASSWORD") form.current?.querySelector<HTMLElement>("input, button")?.focus();
  }, [shown]);

  const finish = (session: LoginResult) => {
    setSession(session.token, session.user);
    navigate(takeReturnPath(), true);
  };

  /** Run one call of the sign-in; go on to the session, the next step, or say what went wrong. */
  const attempt = async (call: () => Promise<void>) => {
    setBusy(true);
    setMessage(null);
    try {
      await call();
    } catch (error) {
      const next = nextStep(error);
      if (next) {
        setCode("");
        setStep(next);
      } else if (challengeGone(error)) {
        setStep({ kind: "PASSWORD" });
        setPassword("");
        setMessage(`${errorText(error)}.`.replace("..", "."));
      } else {
        setMessage(error instanceof TooManyRequestsError ? lockoutText(error, tz) : errorText(error));
      }
    } finally {
      setBusy(false);
    }
  };

  const startOver = () => {
    setStep({ kind: "PASSWORD" });
    setPassword("");
    setCode("");
    setMessage(null);
  };

  const submit = (event: FormEvent) => {
    event.preventDefault();
    switch (step.kind) {
      case "PASSWORD":
        return void attempt(async () => finish(await client.call("auth.login", { email, password })));
      case "MFA_REQUIRED":
        return void attempt(async () =>
          finish(await client.call("auth.verifyMfa", { challenge: step.challenge, code })),
        );
      case "PASSWORD_EXPIRED":
        if (newPassword !== again) {
          setMessage("The new passwords differ.");
          return;
        }
        return void attempt(async () =>
          finish(await client.call("auth.changeExpiredPassword", { challenge: step.challenge, newPassword })),
        );
      case "MFA_ENROLMENT_REQUIRED":
        if (!step.enrolment) {
          return void attempt(async () => {
            const enrolment = await client.call("auth.enrolMfa", { challenge: step.challenge });
            setStep({ ...step, enrolment });
          });
        }
        return void attempt(async () => {
          const done = await client.call("auth.confirmMfaEnrolment", { challenge: step.challenge, code });
          setStep({ kind: "RECOVERY_CODES", codes: done.recoveryCodes, token: done.token, user: done.user });
        });
    }
  };

  let title = "Sign in to TVMS";
  let body: ReactNode;
  let action = busy ? "Signing in…" : "Sign in";
  switch (step.kind) {
    case "PASSWORD":
      body = (
        <>
          <TextField
            label="E-mail"
            name="email"
            type="email"
            value={email}
            onChange={setEmail}
            required
            autoComplete="username"
          />
          <TextField
            label="Password"
            name="password"
            type="password"
            value={password}
            onChange={setPassword}
            required
            autoComplete="current-password"
          />
        </>
      );
      break;
    case "MFA_REQUIRED":
      title = "Second factor";
      action = busy ? "Checking…" : "Verify";
      body = (
        <>
          <p>Enter the code your authenticator app shows for {email}.</p>
          <CodeField label="Code" value={code} onChange={setCode} recovery />
        </>
      );
      break;
    case "PASSWORD_EXPIRED":
      title = "Your password has expired";
      action = busy ? "Saving…" : "Change password";
      body = (
        <>
          <p>Choose a new password for {email} to continue.</p>
          <TextField
            label="New password"
            name="new-password"
            type="password"
            value={newPassword}
            onChange={setNewPassword}
            required
            autoComplete="new-password"
          />
          <TextField
            label="New password again"
            name="new-password-again"
            type="password"
            value={again}
            onChange={setAgain}
            required
            autoComplete="new-password"
          />
        </>
      );
      break;
    case "MFA_ENROLMENT_REQUIRED":
      title = "Set up multi-factor sign-in";
      if (step.enrolment) {
        action = busy ? "Checking…" : "Confirm";
        body = (
          <>
            <EnrolmentView enrolment={step.enrolment} />
            <CodeField label="Code from the app" value={code} onChange={setCode} />
          </>
        );
      } else {
        action = busy ? "Preparing…" : "Start set-up";
        body = <p>Multi-factor sign-in is required for {email}: set up an authenticator app to continue.</p>;
      }
      break;
    case "RECOVERY_CODES":
      title = "Multi-factor sign-in is on";
      break;
  }

  return (
    <main className="login">
      {step.kind === "RECOVERY_CODES" ? (
        <div className="login-card">
          <h1 id="login-title">{title}</h1>
          <RecoveryCodes codes={step.codes} onDone={() => finish({ token: step.token, user: step.user })} />
        </div>
      ) : (
        <form ref={form} onSubmit={submit} aria-labelledby="login-title">
          <h1 id="login-title">{title}</h1>
          {body}
          {message ? (
            <p role="alert" className="error">
              {message}
            </p>
          ) : null}
          <button type="submit" className="primary" disabled={busy}>
            {action}
          </button>
          {step.kind !== "PASSWORD" ? (
            <button type="button" className="link" onClick={startOver}>
              Start again
            </button>
          ) : null}
        </form>
      )}
    </main>
  );
}
