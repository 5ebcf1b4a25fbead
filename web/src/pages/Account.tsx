import { type FormEvent, useState } from "react";
import { client, errorText, setSession } from "../api";
import { SecondFactor } from "../mfa-account";
import { Page, TextField, useSession } from "../ui";

export function Account() {
  const user = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [again, setAgain] = useState("");
  const [message, setMessage] = useState<{ ok: boolean; text: string } | null>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (next !== again) {
      setMessage({ ok: false, text: "The new passwords differ." });
      return;
    }
    try {
      const answer = await client.call("auth.changePassword", {
        currentPassword: current,
        newPassword: next,
      });
      if (user) setSession(answer.token, user);
      setCurrent("");
      setNext("");
      setAgain("");
      setMessage({ ok: true, text: "Password changed. Your other sessions are signed out." });
    } catch (error) {
      setMessage({ ok: false, text: errorText(error) });
    }
  };
  return (
    <Page title="My account">
      {user ? (
        <p>
          {user.firstName} {user.lastName} · {user.email} · {user.role}
        </p>
      ) : null}
      <form className="form" onSubmit={submit} aria-label="Change password">
        <h2>Change password</h2>
        <TextField
          label="Current password"
          type="password"
          value={current}
          onChange={setCurrent}
          required
          autoComplete="current-password"
        />
        <TextField
          label="New password"
          type="password"
          value={next}
          onChange={setNext}
          required
          autoComplete="new-password"
        />
        <TextField
          label="New password again"
          type="password"
          value={again}
          onChange={setAgain}
          required
          autoComplete="new-password"
        />
        {message ? (
          <p role={message.ok ? "status" : "alert"} className={message.ok ? "ok" : "error"}>
            {message.text}
          </p>
        ) : null}
        <button type="submit" className="primary">
          Change password
        </button>
      </form>
      <SecondFactor />
    </Page>
  );
}
