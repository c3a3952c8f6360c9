import { useId, useState, type FormEvent, type ReactNode } from "react";
import type { Flow } from "../api";
import { ApiError } from "../api/client";
import { useApi } from "../app/session";
import { CATEGORIES } from "../categories";
import { S } from "../i18n";
import { errorText } from "./common";

const UNITS = ["t/yr", "t/month", "t", "MW", "kW", "GWh/yr", "MWh/yr", "m3/h", "m3/yr", "m3/day", "GJ/yr"];

type Values = Record<string, string>;

const EMPTY: Values = {
  direction: "supply",
  resource: "",
  category: "",
  quantity: "",
  unit: "",
  temperature_c: "",
  ewc_code: "",
  schedule: "",
  price_eur_per_unit: "",
  precision: "estimated",
  pressure_bar: "",
  purity_pct: "",
  available_from: "",
  available_to: "",
  description: "",
};

/**
 * Declare a flow with the columns of a `turash import flows` row. Values go to the API as typed (numbers as
 * text), so its validation decides, and each 422 message is shown next to its field.
 */
export function FlowForm({ siteId, onCreated }: { siteId: string; onCreated: (flow: Flow) => void }) {
  const api = useApi();
  const [values, setValues] = useState<Values>(EMPTY);
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string>("");
  const [saving, setSaving] = useState(false);
  const [more, setMore] = useState(false);

  const set = (name: string) => (event: { target: { value: string } }) =>
    setValues((v) => ({ ...v, [name]: event.target.value }));

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setSaving(true);
    setError("");
    setFieldErrors({});
    const body: Record<string, string> = {};
    for (const [key, value] of Object.entries(values)) if (value.trim() !== "") body[key] = value.trim();
    try {
      const flow = await api.createFlow(siteId, body);
      setValues({ ...EMPTY, direction: values.direction });
      onCreated(flow);
    } catch (err) {
      if (err instanceof ApiError && err.status === 422) {
        const byField = err.fieldErrors();
        const known: Record<string, string> = {};
        const other: string[] = [];
        for (const [field, message] of Object.entries(byField)) {
          if (field in EMPTY) known[field] = message;
          else other.push(message);
        }
        if (Object.keys(known).some((f) => !["direction", "resource", "category", "quantity", "unit", "temperature_c", "ewc_code", "schedule", "price_eur_per_unit", "precision"].includes(f)))
          setMore(true);
        setFieldErrors(known);
        setError(other.length ? other.join(" · ") : Object.keys(known).length ? S.flow.fixErrors : err.message);
      } else {
        setError(errorText(err));
      }
    } finally {
      setSaving(false);
    }
  };

  const field = (name: string, label: string, input: (props: InputProps) => ReactNode, hint?: string, wide = false) => (
    <Field key={name} name={name} label={label} hint={hint} error={fieldErrors[name]} wide={wide}>
      {input}
    </Field>
  );
  const text = (name: string, extra: Record<string, string> = {}) => (p: InputProps) => (
    <input {...p} type="text" value={values[name]} onChange={set(name)} {...extra} />
  );

  return (
    <form className="form flow-form" onSubmit={submit} noValidate aria-label={S.org.addFlow}>
      <div className="form-grid">
        {field("direction", S.flow.direction, (p) => (
          <select {...p} value={values.direction} onChange={set("direction")}>
            <option value="supply">{S.directions.supply}</option>
            <option value="demand">{S.directions.demand}</option>
          </select>
        ))}
        {field("resource", S.flow.resource, text("resource", { placeholder: S.flow.resourceHint, required: "required" }), undefined, true)}
        {field("category", S.flow.category, (p) => (
          <select {...p} value={values.category} onChange={set("category")}>
            <option value="">{S.flow.categoryAuto}</option>
            {CATEGORIES.map((c) => (
              <option key={c} value={c}>
                {S.categories[c]}
              </option>
            ))}
          </select>
        ))}
        {field("quantity", S.flow.quantity, text("quantity", { inputMode: "decimal" }))}
        {field("unit", S.flow.unit, text("unit", { list: "turash-units", placeholder: S.flow.unitHint }))}
        {field("temperature_c", S.flow.temperature, text("temperature_c", { inputMode: "decimal" }))}
        {field("ewc_code", S.flow.ewc, text("ewc_code", { placeholder: S.flow.ewcHint }))}
        {field("schedule", S.flow.schedule, text("schedule", { placeholder: S.flow.scheduleHint }))}
        {field("price_eur_per_unit", S.flow.price, text("price_eur_per_unit", { inputMode: "decimal" }), S.flow.priceHint)}
        {field("precision", S.flow.precision, (p) => (
          <select {...p} value={values.precision} onChange={set("precision")}>
            {Object.entries(S.flow.precisions).map(([k, label]) => (
              <option key={k} value={k}>
                {label}
              </option>
            ))}
          </select>
        ))}
      </div>
      <datalist id="turash-units">
        {UNITS.map((u) => (
          <option key={u} value={u} />
        ))}
      </datalist>
      <details open={more} onToggle={(e) => setMore((e.target as HTMLDetailsElement).open)}>
        <summary>{S.flow.more}</summary>
        <div className="form-grid">
          {field("pressure_bar", S.flow.pressure, text("pressure_bar", { inputMode: "decimal" }))}
          {field("purity_pct", S.flow.purity, text("purity_pct", { inputMode: "decimal" }))}
          {field("available_from", S.flow.availableFrom, (p) => (
            <input {...p} type="date" value={values.available_from} onChange={set("available_from")} />
          ))}
          {field("available_to", S.flow.availableTo, (p) => (
            <input {...p} type="date" value={values.available_to} onChange={set("available_to")} />
          ))}
          {field("description", S.flow.description, (p) => (
            <textarea {...p} rows={2} value={values.description} onChange={set("description")} />
          ), undefined, true)}
        </div>
      </details>
      {error && (
        <div className="alert alert-error" role="alert">
          {error}
        </div>
      )}
      <div className="button-row">
        <button type="submit" className="btn btn-primary" disabled={saving}>
          {saving ? S.flow.saving : S.flow.submit}
        </button>
      </div>
    </form>
  );
}

interface InputProps {
  id: string;
  name: string;
  "aria-invalid"?: boolean;
  "aria-describedby"?: string;
}

function Field({ name, label, hint, error, wide, children }: {
  name: string;
  label: string;
  hint?: string;
  error?: string;
  wide?: boolean;
  children: (props: InputProps) => ReactNode;
}) {
  const id = useId();
  const described = [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
  return (
    <div className={`field${error ? " has-error" : ""}${wide ? " wide" : ""}`} data-field={name}>
      <label htmlFor={id}>{label}</label>
      {children({ id, name, "aria-invalid": error ? true : undefined, "aria-describedby": described })}
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      {error && (
        <span className="field-error" id={`${id}-error`}>
          {error}
        </span>
      )}
    </div>
  );
}
