// Small accessible building blocks: labelled fields, messages, tables, paging, confirmation.
import { type ReactNode, useEffect, useId, useRef, useState, useSyncExternalStore } from "react";
import { errorText, type Role, sessionUser, subscribe } from "./api";

export function useSession() {
  return useSyncExternalStore(subscribe, sessionUser);
}

/** May the signed-in user change things? (The server enforces it either way.) */
export function useCan(...roles: Role[]): boolean {
  const user = useSession();
  return user !== null && roles.includes(user.role);
}

export const canEdit: Role[] = ["ADMIN", "OPERATOR"];

export function Field(props: { label: string; children: (id: string) => ReactNode; hint?: string }) {
  const id = useId();
  return (
    <div className="field">
      <label htmlFor={id}>{props.label}</label>
      {props.children(id)}
      {props.hint ? <small>{props.hint}</small> : null}
    </div>
  );
}

export function TextField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  type?: string;
  required?: boolean;
  placeholder?: string;
  autoComplete?: string;
  name?: string;
}) {
  return (
    <Field label={props.label}>
      {(id) => (
        <input
          id={id}
          name={props.name}
          type={props.type ?? "text"}
          value={props.value}
          required={props.required}
          placeholder={props.placeholder}
          autoComplete={props.autoComplete}
          step={props.type === "number" ? "any" : undefined}
          onChange={(event) => props.onChange(event.target.value)}
        />
      )}
    </Field>
  );
}

/** A text filter: typing is local, the value is passed on 300 ms after the last key. */
export function SearchField(props: { label: string; value: string; onChange: (value: string) => void }) {
  const [text, setText] = useState(props.value);
  const { value, onChange } = props;
  useEffect(() => {
    if (text === value) return;
    const timer = setTimeout(() => onChange(text), 300);
    return () => clearTimeout(timer);
  }, [text, value, onChange]);
  return <TextField label={props.label} value={text} onChange={setText} type="search" />;
}

export function SelectField(props: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: readonly string[];
  empty?: string;
  labels?: (value: string) => string;
}) {
  return (
    <Field label={props.label}>
      {(id) => (
        <select id={id} value={props.value} onChange={(event) => props.onChange(event.target.value)}>
          {props.empty !== undefined ? <option value="">{props.empty}</option> : null}
          {props.options.map((option) => (
            <option key={option} value={option}>
              {props.labels ? props.labels(option) : option}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

export function ErrorMessage({ error }: { error: unknown }) {
  if (!error) return null;
  return (
    <p role="alert" className="error">
      {errorText(error)}
    </p>
  );
}

export function Loading({ what }: { what?: string }) {
  return (
    <p className="muted" aria-busy="true">
      Loading{what ? ` ${what}` : ""}…
    </p>
  );
}

export function Status({ value }: { value: string | null | undefined }) {
  const v = value ?? "—";
  return <span className={`badge badge-${v.toLowerCase()}`}>{v}</span>;
}

export function Pager(props: {
  page: number;
  pageCount: number;
  total?: number;
  onPage: (page: number) => void;
}) {
  const { page, pageCount } = props;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" disabled={page <= 1} onClick={() => props.onPage(page - 1)}>
        Previous
      </button>
      <span>
        Page {page} of {Math.max(pageCount, 1)}
        {props.total !== undefined ? ` · ${props.total} in all` : ""}
      </span>
      <button type="button" disabled={page >= pageCount} onClick={() => props.onPage(page + 1)}>
        Next
      </button>
    </nav>
  );
}

/** A modal dialog (native <dialog>: focus trap and Escape for free). */
export function Dialog(props: { title: string; open: boolean; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} onClose={props.onClose} aria-label={props.title}>
      <h2>{props.title}</h2>
      {props.open ? props.children : null}
    </dialog>
  );
}

/** A destructive action behind a confirmation dialog. */
export function ConfirmButton(props: {
  label: string;
  question: string;
  onConfirm: () => void;
  disabled?: boolean;
  busy?: boolean;
  /** The confirming button's text; "Yes, <label>" by default. */
  yes?: string;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className="danger" disabled={props.disabled} onClick={() => setOpen(true)}>
        {props.label}
      </button>
      <Dialog title="Please confirm" open={open} onClose={() => setOpen(false)}>
        <p>{props.question}</p>
        <div className="actions">
          <button type="button" onClick={() => setOpen(false)}>
            Cancel
          </button>
          <button
            type="button"
            className="danger"
            disabled={props.busy}
            onClick={() => {
              setOpen(false);
              props.onConfirm();
            }}
          >
            {props.yes ?? `Yes, ${props.label.toLowerCase()}`}
          </button>
        </div>
      </Dialog>
    </>
  );
}

/** A secret shown once (a device key) with a copy button. */
export function SecretOnce(props: { title: string; secret: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <section className="secret" aria-label={props.title}>
      <h2>{props.title}</h2>
      <p>
        <strong>Copy it now: you will not see it again.</strong> Only its prefix is kept visible.
      </p>
      <code data-testid="secret">{props.secret}</code>
      <div className="actions">
        <button
          type="button"
          onClick={() => {
            void navigator.clipboard?.writeText(props.secret).then(
              () => setCopied(true),
              () => setCopied(false),
            );
          }}
        >
          {copied ? "Copied" : "Copy"}
        </button>
        <button type="button" onClick={props.onDone}>
          I have stored it
        </button>
      </div>
    </section>
  );
}

export function Page(props: { title: string; actions?: ReactNode; children: ReactNode }) {
  useEffect(() => {
    document.title = `${props.title} · TVMS`;
  }, [props.title]);
  return (
    <section className="page">
      <header className="page-header">
        <h1>{props.title}</h1>
        <div className="actions">{props.actions}</div>
      </header>
      {props.children}
    </section>
  );
}

export function Stat(props: { label: string; value: ReactNode; testId?: string }) {
  return (
    <div className="stat">
      <span className="stat-label">{props.label}</span>
      <span className="stat-value" data-testid={props.testId}>
        {props.value}
      </span>
    </div>
  );
}
