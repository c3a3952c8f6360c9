import type { ReactNode } from "react";
import { ApiError } from "../api/client";
import { S } from "../i18n";
import { categoryColour } from "../categories";

export function errorText(error: unknown): string {
  if (!error) return "";
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error) return error.message;
  return String(error);
}

export function ErrorMessage({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  if (!error) return null;
  return (
    <div className="alert alert-error" role="alert">
      <span>{errorText(error)}</span>
      {onRetry && (
        <button type="button" className="btn btn-small btn-ghost" onClick={onRetry}>
          {S.app.retry}
        </button>
      )}
    </div>
  );
}

export function Notice({ children, tone = "info" }: { children: ReactNode; tone?: "info" | "success" }) {
  return (
    <div className={`alert alert-${tone}`} role="status">
      {children}
    </div>
  );
}

export function Spinner({ label = S.app.loading }: { label?: string }) {
  return (
    <div className="loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function CategoryBadge({ category }: { category: string | null | undefined }) {
  const name = S.categories[category ?? "none"] ?? category ?? S.categories.none;
  return (
    <span className="badge badge-category">
      <span className="dot" style={{ background: categoryColour(category) }} aria-hidden="true" />
      {name}
    </span>
  );
}

export function RouteBadge({ route }: { route: string | null | undefined }) {
  if (!route) return null;
  return (
    <span className={`badge badge-route badge-${route}`}>
      {route === "automated" ? S.matches.automated : S.matches.facilitated}
    </span>
  );
}

export function ScoreRing({ score, size = 52 }: { score: number; size?: number }) {
  const r = size / 2 - 5;
  const c = 2 * Math.PI * r;
  const value = Math.max(0, Math.min(1, score));
  return (
    <svg className="score-ring" width={size} height={size} viewBox={`0 0 ${size} ${size}`} role="img"
      aria-label={`${S.matches.score} ${Math.round(value * 100)} / 100`}>
      <circle cx={size / 2} cy={size / 2} r={r} className="score-ring-track" />
      <circle cx={size / 2} cy={size / 2} r={r} className="score-ring-value"
        strokeDasharray={`${c * value} ${c}`} transform={`rotate(-90 ${size / 2} ${size / 2})`} />
      <text x="50%" y="50%" dominantBaseline="central" textAnchor="middle">{Math.round(value * 100)}</text>
    </svg>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <div className="empty">{children}</div>;
}
