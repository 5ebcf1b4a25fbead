import { type FormEvent, useState } from "react";
import { errorText, type Location, type LocationCreateInput, type LocationListInput } from "../api";
import { formatDate, label, useTimezone } from "../format";
import { useCall, useMutate } from "../hooks";
import { setSearch, useSearch } from "../router";
import {
  ConfirmButton,
  canEdit,
  Dialog,
  ErrorMessage,
  Loading,
  Page,
  Pager,
  SearchField,
  SelectField,
  Status,
  TextField,
  useCan,
} from "../ui";

const TYPES = ["INTERSECTION", "HIGHWAY", "CHECKPOINT", "PARKING", "ZONE", "CUSTOM"] as const;
const STATUSES = ["ACTIVE", "INACTIVE", "MAINTENANCE"] as const;
const TAKE = 20;

export function Locations() {
  const tz = useTimezone();
  const params = useSearch();
  const may = useCan(...canEdit);
  const page = Number(params.get("page") ?? "1") || 1;
  const input: LocationListInput = {
    skip: (page - 1) * TAKE,
    take: TAKE,
    search: params.get("search") || undefined,
    type: (params.get("type") || undefined) as LocationListInput["type"],
    status: (params.get("status") || undefined) as LocationListInput["status"],
    sortBy: "name",
    sortOrder: "asc",
  };
  const list = useCall("locations.getAll", input, { placeholderData: (previous) => previous });
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [editing, setEditing] = useState<Location | "new" | null>(null);
  const remove = useMutate("locations.delete", ["locations.", "sensors."]);
  const bulk = useMutate("locations.bulkDelete", ["locations.", "sensors."]);
  const toggle = (id: string) =>
    setSelected((previous) => {
      const next = new Set(previous);
      if (next.has(id)) next.delete(id);
      else next.add(id);
      return next;
    });
  return (
    <Page
      title="Locations"
      actions={
        may ? (
          <>
            <ConfirmButton
              label={`Delete selected (${selected.size})`}
              question={`Delete ${selected.size} locations? Their sensors are kept and detached.`}
              disabled={selected.size === 0}
              onConfirm={() =>
                bulk.mutate({ ids: [...selected] }, { onSuccess: () => setSelected(new Set()) })
              }
            />
            <button type="button" className="primary" onClick={() => setEditing("new")}>
              New location
            </button>
          </>
        ) : null
      }
    >
      <search className="filters">
        <SearchField
          label="Search name or address"
          value={params.get("search") ?? ""}
          onChange={(search) => setSearch({ search, page: null })}
        />
        <SelectField
          label="Type"
          value={params.get("type") ?? ""}
          onChange={(type) => setSearch({ type, page: null })}
          options={TYPES}
          empty="All types"
          labels={label}
        />
        <SelectField
          label="Status"
          value={params.get("status") ?? ""}
          onChange={(status) => setSearch({ status, page: null })}
          options={STATUSES}
          empty="All statuses"
          labels={label}
        />
      </search>
      <ErrorMessage error={list.error ?? remove.error ?? bulk.error} />
      {!list.data ? (
        <Loading what="locations" />
      ) : (
        <>
          <table>
            <thead>
              <tr>
                {may ? <th scope="col">Select</th> : null}
                <th scope="col">Name</th>
                <th scope="col">Address</th>
                <th scope="col">Type</th>
                <th scope="col">Status</th>
                <th scope="col">Sensors</th>
                <th scope="col">Created</th>
                {may ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {list.data.locations.map((location) => (
                <tr key={location.id}>
                  {may ? (
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select ${location.name}`}
                        checked={selected.has(location.id)}
                        onChange={() => toggle(location.id)}
                      />
                    </td>
                  ) : null}
                  <td>{location.name}</td>
                  <td>{location.address}</td>
                  <td>{label(location.type)}</td>
                  <td>
                    <Status value={location.status} />
                  </td>
                  <td>{location.sensorCount}</td>
                  <td>{formatDate(location.createdAt, tz)}</td>
                  {may ? (
                    <td className="actions">
                      <button type="button" onClick={() => setEditing(location)}>
                        Edit
                      </button>
                      <ConfirmButton
                        label="Delete"
                        question={`Delete ${location.name}? Its sensors are kept and detached.`}
                        onConfirm={() => remove.mutate({ id: location.id })}
                      />
                    </td>
                  ) : null}
                </tr>
              ))}
            </tbody>
          </table>
          <Pager
            page={page}
            pageCount={list.data.pageCount}
            total={list.data.total}
            onPage={(p) => setSearch({ page: p })}
          />
        </>
      )}
      <Dialog
        title={editing === "new" ? "New location" : "Edit location"}
        open={editing !== null}
        onClose={() => setEditing(null)}
      >
        {editing !== null ? (
          <LocationForm location={editing === "new" ? undefined : editing} onDone={() => setEditing(null)} />
        ) : null}
      </Dialog>
    </Page>
  );
}

function LocationForm({ location, onDone }: { location?: Location; onDone: () => void }) {
  const [form, setForm] = useState({
    name: location?.name ?? "",
    address: location?.address ?? "",
    type: location?.type ?? "INTERSECTION",
    status: location?.status ?? "ACTIVE",
    latitude: location ? String(location.latitude) : "",
    longitude: location ? String(location.longitude) : "",
    description: location?.description ?? "",
  });
  const [problem, setProblem] = useState<string | null>(null);
  const create = useMutate("locations.create", ["locations."]);
  const update = useMutate("locations.update", ["locations."]);
  const set = (key: keyof typeof form) => (value: string) =>
    setForm((previous) => ({ ...previous, [key]: value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const input: LocationCreateInput = {
      name: form.name.trim(),
      address: form.address.trim(),
      type: form.type as LocationCreateInput["type"],
      status: form.status as LocationCreateInput["status"],
      latitude: Number(form.latitude),
      longitude: Number(form.longitude),
      description: form.description.trim() || null,
    };
    const options = { onSuccess: onDone, onError: (error: Error) => setProblem(errorText(error)) };
    if (location) update.mutate({ id: location.id, ...input }, options);
    else create.mutate(input, options);
  };
  return (
    <form className="form" onSubmit={submit}>
      <TextField label="Name" value={form.name} onChange={set("name")} required />
      <TextField label="Address" value={form.address} onChange={set("address")} required />
      <SelectField label="Type" value={form.type} onChange={set("type")} options={TYPES} labels={label} />
      <SelectField
        label="Status"
        value={form.status}
        onChange={set("status")}
        options={STATUSES}
        labels={label}
      />
      <TextField label="Latitude" type="number" value={form.latitude} onChange={set("latitude")} required />
      <TextField
        label="Longitude"
        type="number"
        value={form.longitude}
        onChange={set("longitude")}
        required
      />
      <TextField label="Description" value={form.description} onChange={set("description")} />
      {problem ? (
        <p role="alert" className="error">
          {problem}
        </p>
      ) : null}
      <div className="actions">
        <button type="button" onClick={onDone}>
          Cancel
        </button>
        <button type="submit" className="primary" disabled={create.isPending || update.isPending}>
          Save
        </button>
      </div>
    </form>
  );
}
