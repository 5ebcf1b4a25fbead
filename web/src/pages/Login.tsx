import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useEffect, useState } from "react";
import { client, errorText, rememberPage, setSession, TooManyRequestsError, takeReturnPath } from "../api";
import { formatDate, tzQuery, useTimezone } from "../format";
import { navigate } from "../router";
import { TextField } from "../ui";

function lockoutText(error: TooManyRequestsError, tz: ReturnType<typeof useTimezone>): string {
  const data = (error.data ?? {}) as { retryAfter?: number; lockedUntil?: string };
  const seconds = data.retryAfter ?? 0;
  const wait =
    seconds > 0 ? ` Try again in ${seconds < 120 ? `${seconds} s` : `${Math.ceil(seconds / 60)} min`}` : "";
  const until = data.lockedUntil ? ` (at ${formatDate(data.lockedUntil, tz)})` : "";
  return `${error.message}.${wait}${until}`.replace("..", ".");
}

export function Login() {
  const tz = useTimezone();
  useEffect(rememberPage, []);
  // Public and needed right after sign-in: loaded now so the dashboard's first load is one batch.
  useQuery(tzQuery);
  useQuery({ queryKey: ["system.getLicense", null], queryFn: () => client.call("system.getLicense") });
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setMessage(null);
    try {
      const session = await client.call("auth.login", { email, password });
      setSession(session.token, session.user);
      navigate(takeReturnPath(), true);
    } catch (error) {
      setMessage(error instanceof TooManyRequestsError ? lockoutText(error, tz) : errorText(error));
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">Sign in to TVMS</h1>
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
        {message ? (
          <p role="alert" className="error">
            {message}
          </p>
        ) : null}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? "Signing in…" : "Sign in"}
        </button>
      </form>
    </main>
  );
}
