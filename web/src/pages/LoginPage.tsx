import { useId, useState, type FormEvent } from "react";
import { ApiError } from "../api/client";
import { useSession } from "../app/session";
import { errorText } from "../components/common";
import { S } from "../i18n";

export function LoginPage() {
  const session = useSession();
  const id = useId();
  const [mode, setMode] = useState<"signin" | "register">("signin");
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState("");
  const [fields, setFields] = useState<Record<string, string>>({});

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError("");
    setFields({});
    try {
      if (mode === "signin") await session.login(email.trim(), password);
      else await session.register(name.trim(), email.trim(), password);
    } catch (err) {
      const byField = err instanceof ApiError && err.status === 422 ? err.fieldErrors() : {};
      setFields(byField);
      setError(Object.keys(byField).length ? "" : errorText(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div className="login-page">
      <section className="login-hero" aria-labelledby={`${id}-hero`}>
        <div className="brand brand-large">
          <img src="/icons/favicon.svg" alt="" width={44} height={44} />
          <span>{S.app.name}</span>
        </div>
        <h1 id={`${id}-hero`}>{S.auth.heroTitle}</h1>
        <p>{S.auth.heroText}</p>
        <ul>
          {S.auth.heroPoints.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
        <div className="hero-map" aria-hidden="true">
          {Array.from({ length: 28 }, (_, i) => (
            <span key={i} className={`hero-dot c${i % 5}`} style={{ left: `${(i * 37) % 92 + 4}%`, top: `${(i * 53) % 80 + 8}%` }} />
          ))}
        </div>
      </section>
      <section className="login-panel">
        <div className="tabs" role="tablist" aria-label={S.auth.signIn}>
          <button type="button" role="tab" aria-selected={mode === "signin"} className={mode === "signin" ? "on" : ""} onClick={() => setMode("signin")}>
            {S.auth.signIn}
          </button>
          <button type="button" role="tab" aria-selected={mode === "register"} className={mode === "register" ? "on" : ""} onClick={() => setMode("register")}>
            {S.auth.register}
          </button>
        </div>
        <form className="form login-form" onSubmit={submit} aria-label={mode === "signin" ? S.auth.signIn : S.auth.register}>
          {mode === "register" && (
            <div className={`field${fields.name ? " has-error" : ""}`}>
              <label htmlFor={`${id}-name`}>{S.auth.name}</label>
              <input id={`${id}-name`} autoComplete="name" value={name} onChange={(e) => setName(e.target.value)} required />
              {fields.name && <span className="field-error">{fields.name}</span>}
            </div>
          )}
          <div className={`field${fields.email ? " has-error" : ""}`}>
            <label htmlFor={`${id}-email`}>{S.auth.email}</label>
            <input id={`${id}-email`} type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
            {fields.email && <span className="field-error">{fields.email}</span>}
          </div>
          <div className={`field${fields.password ? " has-error" : ""}`}>
            <label htmlFor={`${id}-password`}>{S.auth.password}</label>
            <input id={`${id}-password`} type="password" autoComplete={mode === "signin" ? "current-password" : "new-password"}
              value={password} onChange={(e) => setPassword(e.target.value)} required aria-describedby={mode === "register" ? `${id}-pw-hint` : undefined} />
            {mode === "register" && <span className="hint" id={`${id}-pw-hint`}>{S.auth.passwordHint}</span>}
            {fields.password && <span className="field-error">{fields.password}</span>}
          </div>
          {error && <div className="alert alert-error" role="alert">{error}</div>}
          <button type="submit" className="btn btn-primary btn-block" disabled={busy}>
            {busy ? (mode === "signin" ? S.auth.signingIn : S.auth.creating) : mode === "signin" ? S.auth.signIn : S.auth.register}
          </button>
        </form>
        <p className="muted small">{S.map.attributionBase}. {S.map.attributionRegisters}.</p>
      </section>
    </div>
  );
}
