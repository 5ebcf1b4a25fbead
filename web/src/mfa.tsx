// Second-factor building blocks shared by the sign-in steps and the account page: the enrolment
// (QR code, secret and URI to copy), the code field, and recovery codes shown once.
import { useEffect, useState } from "react";
import type { MfaEnrolment } from "./api";
import { Field } from "./ui";

/** A button that copies `text`; says so when done. */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => setCopied(true),
          () => setCopied(false),
        );
      }}
    >
      {copied ? "Copied" : label}
    </button>
  );
}

/** The `otpauth://` URI as a QR code, drawn as SVG squares. The encoder is loaded only when one
 * is drawn, so it stays out of the first page's bundle. */
function QrCode({ uri }: { uri: string }) {
  const [modules, setModules] = useState<boolean[][] | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    import("uqr").then(
      ({ encode }) => live && setModules(encode(uri, { ecc: "M", border: 2 }).data),
      () => live && setFailed(true),
    );
    return () => {
      live = false;
    };
  }, [uri]);
  if (failed) return <p className="error">The QR code could not be drawn: enter the secret below by hand.</p>;
  if (!modules) return <p className="muted">Drawing the QR code…</p>;
  const path = modules.flatMap((row, y) => row.map((dark, x) => (dark ? `M${x} ${y}h1v1h-1z` : ""))).join("");
  return (
    <div className="qr">
      <svg
        role="img"
        aria-label="QR code for the authenticator app"
        viewBox={`0 0 ${modules.length} ${modules.length}`}
        shapeRendering="crispEdges"
      >
        <rect width="100%" height="100%" fill="#fff" />
        <path d={path} fill="#000" />
      </svg>
    </div>
  );
}

/** A new secret: scan the QR code, or type the secret in; the URI for apps that take a link. */
export function EnrolmentView({ enrolment }: { enrolment: MfaEnrolment }) {
  return (
    <div className="enrolment">
      <p>
        Scan this code with an authenticator app (any TOTP app: {enrolment.digits} digits, every{" "}
        {enrolment.period} s), or enter the secret by hand. Account: {enrolment.account}.
      </p>
      <QrCode uri={enrolment.otpauthUri} />
      <dl>
        <dt>Secret</dt>
        <dd>
          <code data-testid="mfa-secret">{enrolment.secret}</code>{" "}
          <CopyButton text={enrolment.secret} label="Copy secret" />
        </dd>
        <dt>Link</dt>
        <dd>
          <code className="wrap">{enrolment.otpauthUri}</code>{" "}
          <CopyButton text={enrolment.otpauthUri} label="Copy link" />
        </dd>
      </dl>
    </div>
  );
}

/** A TOTP code (6 digits) or a recovery code. */
export function CodeField(props: {
  value: string;
  onChange: (value: string) => void;
  label?: string;
  recovery?: boolean;
}) {
  return (
    <Field
      label={props.label ?? "Code"}
      hint={
        props.recovery
          ? "The 6 digits your authenticator app shows, or one of your recovery codes."
          : undefined
      }
    >
      {(id) => (
        <input
          id={id}
          name="code"
          value={props.value}
          required
          minLength={6}
          maxLength={64}
          autoComplete="one-time-code"
          inputMode={props.recovery ? "text" : "numeric"}
          spellCheck={false}
          onChange={(event) => props.onChange(event.target.value.trim())}
        />
      )}
    </Field>
  );
}

/** Recovery codes, shown this once. */
export function RecoveryCodes(props: { codes: string[]; onDone: () => void; done?: string }) {
  return (
    <section className="secret" aria-label="Recovery codes">
      <h2>Recovery codes</h2>
      <p>
        <strong>Store these now: you will not see them again.</strong> Each one signs you in once when your
        authenticator is lost.
      </p>
      <ul className="codes" data-testid="recovery-codes">
        {props.codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ul>
      <div className="actions">
        <CopyButton text={props.codes.join("\n")} label="Copy codes" />
        <button type="button" className="primary" onClick={props.onDone}>
          {props.done ?? "I have stored them"}
        </button>
      </div>
    </section>
  );
}
