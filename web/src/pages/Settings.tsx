import { type FormEvent, useState } from "react";
import { errorText, type Setting, type TimezoneSettings } from "../api";
import { formatDate, useTimezone } from "../format";
import { useCall, useMutate } from "../hooks";
import { ErrorMessage, Loading, Page, SelectField, TextField, useCan } from "../ui";

const DATE_FORMATS = ["DD/MM/YYYY", "MM/DD/YYYY", "YYYY-MM-DD", "DD.MM.YYYY"] as const;
// Settings that have their own form above the generic editors; each is shown once.
const OWN_FORM = new Set([
  "app.timezone",
  "app.dateFormat",
  "app.timeFormat",
  "app.firstDayOfWeek",
  "notifications.emailEnabled",
  "notifications.smsEnabled",
]);
const shownOnce = (setting: Setting) => !OWN_FORM.has(setting.key) && !setting.key.startsWith("features.");
const DAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

export function Settings() {
  const admin = useCan("ADMIN");
  const settings = useCall("settings.getAll");
  const flags = useCall("settings.getFeatureFlags");
  const toggle = useMutate("settings.updateFeatureFlag", ["settings."]);
  const rows = (settings.data ?? []).filter(shownOnce);
  const categories = [...new Set(rows.map((setting) => setting.category))];
  return (
    <Page title="Settings">
      {admin ? null : <p className="muted">Only an ADMIN can change settings; you can read them.</p>}
      <TimezoneForm admin={admin} />
      <ErrorMessage error={settings.error ?? flags.error ?? toggle.error} />
      <h2>Feature flags</h2>
      {flags.data ? (
        <ul className="plain">
          {flags.data.map((flag) => (
            <li key={flag.key}>
              <label className="inline">
                <input
                  type="checkbox"
                  checked={flag.enabled}
                  disabled={!admin || toggle.isPending}
                  onChange={(event) => toggle.mutate({ key: flag.key, enabled: event.target.checked })}
                />{" "}
                {flag.label}
              </label>
              {flag.description ? <small className="muted"> — {flag.description}</small> : null}
            </li>
          ))}
        </ul>
      ) : null}
      <NotificationsForm admin={admin} />
      {!settings.data ? (
        <Loading what="settings" />
      ) : (
        categories.map((category) => (
          <section key={category} aria-label={category}>
            <h2>{category.charAt(0) + category.slice(1).toLowerCase()}</h2>
            {rows
              .filter((setting) => setting.category === category)
              .map((setting) => (
                <SettingRow key={setting.key} setting={setting} admin={admin} />
              ))}
          </section>
        ))
      )}
    </Page>
  );
}

function TimezoneForm({ admin }: { admin: boolean }) {
  const current = useTimezone();
  const zones = useCall("system.timezone.listTimezones");
  const [form, setForm] = useState<TimezoneSettings | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const update = useMutate("system.timezone.updateTimezoneSettings", ["system.timezone."]);
  const value = form ?? current;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    update.mutate(value, {
      onSuccess: () => setForm(null),
      onError: (error) => setProblem(errorText(error)),
    });
  };
  return (
    <form className="form inline-form" onSubmit={submit} aria-label="Time zone and date format">
      <h2>Time zone and date format</h2>
      <SelectField
        label="Time zone"
        value={value.timezone}
        onChange={(timezone) => setForm({ ...value, timezone })}
        options={zones.data?.timezones ?? [value.timezone]}
      />
      <SelectField
        label="Date format"
        value={value.dateFormat}
        onChange={(dateFormat) =>
          setForm({ ...value, dateFormat: dateFormat as TimezoneSettings["dateFormat"] })
        }
        options={DATE_FORMATS}
      />
      <SelectField
        label="Clock"
        value={value.use24HourFormat ? "24h" : "12h"}
        onChange={(clock) => setForm({ ...value, use24HourFormat: clock === "24h" })}
        options={["24h", "12h"]}
      />
      <SelectField
        label="First day of week"
        value={String(value.firstDayOfWeek)}
        onChange={(day) => setForm({ ...value, firstDayOfWeek: Number(day) })}
        options={DAYS.map((_, index) => String(index))}
        labels={(index) => DAYS[Number(index)]}
      />
      <p className="muted">Now: {formatDate(new Date().toISOString(), value)}</p>
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      {admin ? (
        <button type="submit" className="primary" disabled={form === null || update.isPending}>
          Save time settings
        </button>
      ) : null}
    </form>
  );
}

function NotificationsForm({ admin }: { admin: boolean }) {
  const current = useCall("settings.getNotifications");
  const update = useMutate("settings.updateNotifications", ["settings."]);
  const [problem, setProblem] = useState<string | null>(null);
  if (current.error) return <ErrorMessage error={current.error} />;
  if (!current.data) return null;
  const n = current.data;
  const save = (patch: Partial<typeof n>) =>
    update.mutate(
      { ...patch },
      { onError: (error) => setProblem(errorText(error)), onSuccess: () => setProblem(null) },
    );
  return (
    <section aria-label="Notifications">
      <h2>Notifications</h2>
      <label className="inline">
        <input
          type="checkbox"
          checked={n.emailEnabled}
          disabled={!admin}
          onChange={(e) => save({ emailEnabled: e.target.checked })}
        />{" "}
        E-mail
      </label>{" "}
      <label className="inline">
        <input
          type="checkbox"
          checked={n.smsEnabled}
          disabled={!admin}
          onChange={(e) => save({ smsEnabled: e.target.checked })}
        />{" "}
        SMS
      </label>
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
    </section>
  );
}

function SettingRow({ setting, admin }: { setting: Setting; admin: boolean }) {
  const tz = useTimezone();
  const list = setting.type === "MULTI_SELECT" || Array.isArray(setting.value);
  const initial = list
    ? (setting.value as unknown[]).map(String).join(", ")
    : setting.type === "JSON"
      ? JSON.stringify(setting.value)
      : String(setting.value ?? "");
  const [value, setValue] = useState(initial);
  const [problem, setProblem] = useState<string | null>(null);
  const update = useMutate("settings.update", ["settings.", "system."]);
  const editable = admin && setting.isEditable;
  const parse = (): unknown => {
    if (setting.type === "NUMBER") return Number(value);
    if (setting.type === "BOOLEAN") return value === "true";
    if (list) {
      return value
        .split(",")
        .map((item) => item.trim())
        .filter((item) => item !== "");
    }
    if (setting.type === "JSON") return JSON.parse(value);
    return value;
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    let parsed: unknown;
    try {
      parsed = parse();
    } catch {
      setProblem("Not valid JSON");
      return;
    }
    update.mutate({ key: setting.key, value: parsed }, { onError: (error) => setProblem(errorText(error)) });
  };
  return (
    <form className="setting" onSubmit={submit}>
      {setting.type === "BOOLEAN" ? (
        <label className="inline">
          <input
            type="checkbox"
            checked={value === "true"}
            disabled={!editable}
            onChange={(event) => setValue(String(event.target.checked))}
          />{" "}
          {setting.label}
        </label>
      ) : setting.type === "SELECT" ? (
        <SelectField
          label={setting.label}
          value={value}
          onChange={setValue}
          options={setting.options ?? [value]}
        />
      ) : (
        <TextField
          label={list ? `${setting.label} (comma-separated)` : setting.label}
          value={value}
          onChange={setValue}
          type={setting.type === "NUMBER" ? "number" : "text"}
        />
      )}
      <small className="muted">
        {setting.key}
        {setting.description ? ` — ${setting.description}` : ""}
        {setting.updatedAt ? ` · changed ${formatDate(setting.updatedAt, tz)}` : ""}
      </small>
      {editable ? (
        <button type="submit" disabled={value === initial || update.isPending}>
          Save
        </button>
      ) : null}
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
    </form>
  );
}
