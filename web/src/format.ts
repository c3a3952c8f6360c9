/** Number and date formatting for the UI (English; one place to localise). */
const LOCALE = "en";

export function eur(value: number | null | undefined, { compact = true }: { compact?: boolean } = {}): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return new Intl.NumberFormat(LOCALE, {
    style: "currency",
    currency: "EUR",
    notation: compact && Math.abs(value) >= 10_000 ? "compact" : "standard",
    maximumFractionDigits: compact && Math.abs(value) >= 10_000 ? 1 : 0,
  }).format(value);
}

export function num(value: number | null | undefined, digits = 1): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1e6) return new Intl.NumberFormat(LOCALE, { notation: "compact", maximumFractionDigits: 1 }).format(value);
  return new Intl.NumberFormat(LOCALE, { maximumFractionDigits: abs >= 100 ? 0 : digits }).format(value);
}

export function pct(value: number | null | undefined, digits = 0): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${(value * 100).toFixed(digits)} %`;
}

export function km(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  return `${value < 10 ? value.toFixed(1) : Math.round(value).toLocaleString(LOCALE)} km`;
}

export function years(value: number | null | undefined): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return "–";
  if (value < 1) return `${Math.max(1, Math.round(value * 12))} months`;
  return `${value.toLocaleString(LOCALE, { maximumFractionDigits: 1 })} years`;
}

export function quantity(value: number | null | undefined, unit: string | null | undefined): string {
  if (value === null || value === undefined) return "";
  return `${num(value)} ${unit ?? ""}`.trim();
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "–";
  const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(LOCALE, { dateStyle: "medium", timeStyle: "short" });
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "–";
  const d = new Date(/[zZ]|[+-]\d\d:\d\d$/.test(iso) ? iso : `${iso}Z`);
  const s = Math.round((now - d.getTime()) / 1000);
  if (!Number.isFinite(s)) return iso;
  if (s < 45) return "just now";
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return dateTime(iso);
}

/** `heat_100_200c` → `Heat 100 200c`; ids the catalogue uses, shown when no name is at hand. */
export function humanise(id: string | null | undefined): string {
  if (!id) return "";
  const text = id.replace(/[_\[\]]+/g, " ").trim();
  return text.charAt(0).toUpperCase() + text.slice(1);
}
