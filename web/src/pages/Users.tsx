import { type FormEvent, useState } from "react";
import { errorText, type User, type UserCreateInput } from "../api";
import { formatDate, label, useTimezone } from "../format";
import { useCall, useMutate } from "../hooks";
import {
  ConfirmButton,
  Dialog,
  ErrorMessage,
  Loading,
  Page,
  Pager,
  SelectField,
  Status,
  TextField,
  useSession,
} from "../ui";

const ROLES = ["ADMIN", "OPERATOR", "VIEWER"] as const;
type RoleName = (typeof ROLES)[number];
const TAKE = 20;

export function Users() {
  const tz = useTimezone();
  const [page, setPage] = useState(1);
  const [search, setSearchText] = useState("");
  const [role, setRole] = useState("");
  const users = useCall(
    "users.getAll",
    {
      skip: (page - 1) * TAKE,
      take: TAKE,
      search: search || undefined,
      role: (role || undefined) as RoleName | undefined,
    },
    { placeholderData: (previous) => previous },
  );
  const remove = useMutate("users.delete", ["users."]);
  const resetMfa = useMutate("users.resetMfa", ["users."]);
  const [mfaNote, setMfaNote] = useState<string | null>(null);
  const me = useSession();
  const [editing, setEditing] = useState<User | "new" | null>(null);
  const [resetting, setResetting] = useState<User | null>(null);
  return (
    <Page
      title="Users"
      actions={
        <button type="button" className="primary" onClick={() => setEditing("new")}>
          New user
        </button>
      }
    >
      <search className="filters">
        <TextField
          label="Search"
          value={search}
          onChange={(v) => {
            setSearchText(v);
            setPage(1);
          }}
        />
        <SelectField
          label="Role"
          value={role}
          onChange={(v) => {
            setRole(v);
            setPage(1);
          }}
          options={ROLES}
          empty="All roles"
        />
      </search>
      <ErrorMessage error={users.error ?? remove.error ?? resetMfa.error} />
      {mfaNote ? (
        <p role="status" className="ok">
          {mfaNote}
        </p>
      ) : null}
      {!users.data ? (
        <Loading what="users" />
      ) : (
        <>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Last sign-in</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {users.data.users.map((user) => (
                <tr key={user.id}>
                  <td>
                    {user.firstName} {user.lastName}
                  </td>
                  <td>{user.email}</td>
                  <td>{user.role}</td>
                  <td>
                    <Status value={user.disabled ? "DISABLED" : "ACTIVE"} />
                  </td>
                  <td>{formatDate(user.lastLoginAt, tz)}</td>
                  <td className="actions">
                    <button type="button" onClick={() => setEditing(user)}>
                      Edit
                    </button>
                    <button type="button" onClick={() => setResetting(user)}>
                      Reset password
                    </button>
                    {user.id === me?.id ? null : (
                      <ConfirmButton
                        label="Reset MFA"
                        question={`Remove the second factor and recovery codes of ${user.email}? Their sessions end; they sign in with their password (and enrol again if multi-factor sign-in is required).`}
                        yes="Yes, reset MFA"
                        busy={resetMfa.isPending}
                        onConfirm={() => {
                          setMfaNote(null);
                          resetMfa.mutate(
                            { id: user.id },
                            {
                              onSuccess: (answer) =>
                                setMfaNote(
                                  answer.reset
                                    ? `The second factor of ${user.email} is removed.`
                                    : `${user.email} had no second factor.`,
                                ),
                            },
                          );
                        }}
                      />
                    )}
                    <ConfirmButton
                      label="Delete"
                      question={`Delete the user ${user.email}?`}
                      onConfirm={() => remove.mutate({ id: user.id })}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager page={page} pageCount={users.data.pageCount} total={users.data.total} onPage={setPage} />
        </>
      )}
      <Dialog
        title={editing === "new" ? "New user" : "Edit user"}
        open={editing !== null}
        onClose={() => setEditing(null)}
      >
        {editing !== null ? (
          <UserForm user={editing === "new" ? undefined : editing} onDone={() => setEditing(null)} />
        ) : null}
      </Dialog>
      <Dialog title="Reset password" open={resetting !== null} onClose={() => setResetting(null)}>
        {resetting ? <ResetForm user={resetting} onDone={() => setResetting(null)} /> : null}
      </Dialog>
    </Page>
  );
}

function UserForm({ user, onDone }: { user?: User; onDone: () => void }) {
  const [form, setForm] = useState({
    email: user?.email ?? "",
    password: "",
    firstName: user?.firstName ?? "",
    lastName: user?.lastName ?? "",
    role: (user?.role ?? "VIEWER") as RoleName,
    disabled: user?.disabled ?? false,
  });
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutate("users.create", ["users."]);
  const update = useMutate("users.update", ["users."]);
  const set = (key: "email" | "password" | "firstName" | "lastName" | "role") => (value: string) =>
    setForm((previous) => ({ ...previous, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const options = { onSuccess: onDone, onError: (error: Error) => setProblem(errorText(error)) };
    if (user) {
      update.mutate(
        {
          id: user.id,
          firstName: form.firstName,
          lastName: form.lastName,
          role: form.role,
          disabled: form.disabled,
        },
        options,
      );
    } else {
      const input: UserCreateInput = {
        email: form.email,
        password: form.password,
        firstName: form.firstName,
        lastName: form.lastName,
        role: form.role,
      };
      create.mutate(input, options);
    }
  };
  return (
    <form className="form" onSubmit={submit}>
      {user ? null : (
        <TextField label="E-mail" type="email" value={form.email} onChange={set("email")} required />
      )}
      {user ? null : (
        <TextField
          label="Password"
          type="password"
          value={form.password}
          onChange={set("password")}
          required
          autoComplete="new-password"
        />
      )}
      <TextField label="First name" value={form.firstName} onChange={set("firstName")} required />
      <TextField label="Last name" value={form.lastName} onChange={set("lastName")} required />
      <SelectField label="Role" value={form.role} onChange={set("role")} options={ROLES} labels={label} />
      {user ? (
        <label className="inline">
          <input
            type="checkbox"
            checked={form.disabled}
            onChange={(event) => setForm((previous) => ({ ...previous, disabled: event.target.checked }))}
          />{" "}
          Disabled (cannot sign in)
        </label>
      ) : null}
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <div className="actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Save
        </button>
      </div>
    </form>
  );
}

function ResetForm({ user, onDone }: { user: User; onDone: () => void }) {
  const [password, setPassword] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const reset = useMutate("users.resetPassword", ["users."]);
  return (
    <form
      className="form"
      onSubmit={(event) => {
        event.preventDefault();
        reset.mutate(
          { id: user.id, newPassword: password },
          { onSuccess: onDone, onError: (e) => setProblem(errorText(e)) },
        );
      }}
    >
      <p>New password for {user.email}. Their current sessions end.</p>
      <TextField
        label="New password"
        type="password"
        value={password}
        onChange={setPassword}
        required
        autoComplete="new-password"
      />
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <div className="actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary">
          Reset
        </button>
      </div>
    </form>
  );
}
