/**
 * The fetch wrapper every call goes through: adds the bearer token, refreshes it (before it expires, and once
 * on a 401), and turns the API's `{"error": {"code", "message", "details"}}` into an `ApiError` with a readable
 * message. Tokens live in memory and in localStorage (so a reload keeps the session).
 */
import { S } from "../i18n";

export interface Tokens {
  access_token: string;
  refresh_token: string;
  /** Epoch milliseconds when the access token expires. */
  expires_at: number;
}

export interface FieldError {
  field: string;
  message: string;
}

interface ErrorBody {
  code?: string;
  message?: string;
  details?: unknown;
}

/** An error answer of the API (or a network failure, status 0), with a message fit to show a user. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;

  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }

  /** Field → message, from a 422's `details` list (`[{"field", "message"}]`). */
  fieldErrors(): Record<string, string> {
    const out: Record<string, string> = {};
    if (Array.isArray(this.details)) {
      for (const item of this.details) {
        if (item && typeof item === "object" && "field" in item && "message" in item) {
          const field = String((item as FieldError).field);
          out[field] = out[field] ? `${out[field]}; ${(item as FieldError).message}` : String((item as FieldError).message);
        }
      }
    }
    return out;
  }

  /** For a 409 on a state change: the states the proposal may move to. */
  allowedStates(): string[] | undefined {
    const d = this.details as { allowed?: unknown } | undefined;
    return d && Array.isArray(d.allowed) ? d.allowed.map(String) : undefined;
  }
}

/** A readable message for an error answer; `body` is the parsed JSON (or null when the body was not JSON). */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const error: ErrorBody | undefined =
    body && typeof body === "object" && "error" in body ? ((body as { error: ErrorBody }).error ?? undefined) : undefined;
  const code = error?.code ?? (status === 401 ? "not_authenticated" : "http_error");
  let message = error?.message?.trim() || "";
  if (status === 422 && Array.isArray(error?.details) && error.details.length > 0) {
    // "invalid request: quantity: 'abc' is not a number; unit: ..." → one sentence per field
    message = (error.details as FieldError[])
      .map((d) => (d.field && d.field !== "request" ? `${humanField(d.field)}: ${d.message}` : d.message))
      .join(" · ");
  } else if (status === 409) {
    const allowed = new ApiError(status, code, "", error?.details).allowedStates();
    if (allowed) message = `${message}. ${S.errors.allowedStates(allowed.join(", ") || "none")}`;
  } else if (status === 429) {
    const retry = (error?.details as { retry_after_seconds?: number } | undefined)?.retry_after_seconds ?? null;
    message = S.errors.rateLimited(retry);
  } else if (status === 401 && !message) {
    message = S.errors.notAuthenticated;
  } else if (status >= 500) {
    message = S.errors.unexpected;
  }
  if (!message) message = S.errors.http(status);
  return new ApiError(status, code, capitalise(message), error?.details);
}

function humanField(field: string): string {
  return field.replace(/_/g, " ").replace(/\bc$/, "(°C)");
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  json?: unknown;
  form?: Record<string, string>;
  /** Send the bearer token (default true). */
  auth?: boolean;
  /** Return the body as text instead of JSON. */
  text?: boolean;
  /** Return the body as a Blob (a PDF, a file): an error still reads as the API's JSON error. */
  blob?: boolean;
}

export interface ClientOptions {
  baseUrl?: string;
  storage?: Pick<Storage, "getItem" | "setItem" | "removeItem"> | null;
  fetch?: typeof fetch;
  now?: () => number;
}

const STORAGE_KEY = "turash.session";
/** Refresh this long before the access token expires, so a normal session never sees a 401. */
const REFRESH_MARGIN_MS = 60_000;

type Listener = (tokens: Tokens | null) => void;

export class ApiClient {
  private readonly baseUrl: string;
  private readonly storage: ClientOptions["storage"];
  private readonly fetchImpl: typeof fetch;
  private readonly now: () => number;
  private tokens: Tokens | null;
  private refreshing: Promise<boolean> | null = null;
  private listeners = new Set<Listener>();

  constructor(options: ClientOptions = {}) {
    this.baseUrl = options.baseUrl ?? "";
    this.storage = options.storage === undefined ? safeLocalStorage() : options.storage;
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.now = options.now ?? Date.now;
    this.tokens = this.load();
  }

  get session(): Tokens | null {
    return this.tokens;
  }

  /** Called with the new tokens after sign-in, refresh and sign-out (null). */
  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Another tab signed in, refreshed or signed out: take its tokens (a refresh token is single-use). */
  adoptStoredSession(): void {
    this.tokens = this.load();
    this.emit();
  }

  setTokens(pair: { access_token: string; refresh_token: string; expires_in?: number } | null): void {
    this.tokens = pair
      ? {
          access_token: pair.access_token,
          refresh_token: pair.refresh_token,
          expires_at: this.now() + (pair.expires_in ?? 900) * 1000,
        }
      : null;
    try {
      if (this.tokens) this.storage?.setItem(STORAGE_KEY, JSON.stringify(this.tokens));
      else this.storage?.removeItem(STORAGE_KEY);
    } catch {
      // storage full or disabled: the session lives in memory only
    }
    this.emit();
  }

  async login(email: string, password: string): Promise<void> {
    const pair = await this.request<{ access_token: string; refresh_token: string; expires_in: number }>(
      "POST",
      "/api/v1/auth/token",
      { form: { username: email, password }, auth: false },
    );
    this.setTokens(pair);
  }

  async logout(): Promise<void> {
    try {
      if (this.tokens) await this.request("POST", "/api/v1/auth/logout");
    } finally {
      this.setTokens(null);
    }
  }

  /** Exchange the refresh token for a new pair; concurrent callers share one request. */
  refresh(): Promise<boolean> {
    if (!this.refreshing) {
      this.refreshing = this.doRefresh().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  private async doRefresh(): Promise<boolean> {
    const current = this.tokens;
    if (!current?.refresh_token) return false;
    let response: Response;
    try {
      response = await this.fetchImpl(this.url("/api/v1/auth/refresh"), {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ refresh_token: current.refresh_token }),
      });
    } catch {
      return false; // offline: keep the tokens, the next call will tell
    }
    if (!response.ok) {
      // Another tab may have rotated the token meanwhile: use its pair if there is a newer one.
      const stored = this.load();
      if (stored && stored.refresh_token !== current.refresh_token) {
        this.tokens = stored;
        this.emit();
        return true;
      }
      this.setTokens(null);
      return false;
    }
    this.setTokens(await response.json());
    return true;
  }

  async request<T = unknown>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    if (auth && this.tokens && this.tokens.expires_at - this.now() < REFRESH_MARGIN_MS) {
      await this.refresh();
    }
    let response = await this.send(method, path, options, auth);
    if (response.status === 401 && auth && this.tokens) {
      if (await this.refresh()) response = await this.send(method, path, options, auth);
    }
    if (response.status === 204) return undefined as T;
    if (options.blob && response.ok) return (await response.blob()) as T;
    const text = await response.text();
    let body: unknown = null;
    if (text && !options.text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = null;
      }
    }
    if (!response.ok) {
      const error = errorFromResponse(response.status, body);
      if (response.status === 401 && auth) {
        this.setTokens(null);
        throw new ApiError(401, error.code, S.auth.sessionEnded, error.details);
      }
      throw error;
    }
    return (options.text ? text : body) as T;
  }

  private async send(method: string, path: string, options: RequestOptions, auth: boolean): Promise<Response> {
    const headers: Record<string, string> = {
      Accept: options.blob ? "application/pdf, application/json" : options.text ? "text/html" : "application/json",
    };
    let body: BodyInit | undefined;
    if (options.form) {
      body = new URLSearchParams(options.form).toString();
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    } else if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers["Content-Type"] = "application/json";
    }
    if (auth && this.tokens) headers.Authorization = `Bearer ${this.tokens.access_token}`;
    try {
      return await this.fetchImpl(this.url(path, options.query), { method, headers, body });
    } catch {
      throw new ApiError(0, "network_error", S.errors.network);
    }
  }

  url(path: string, query?: Record<string, QueryValue>): string {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null && value !== "") params.set(key, String(value));
    }
    const qs = params.toString();
    return `${this.baseUrl}${path}${qs ? `?${qs}` : ""}`;
  }

  private load(): Tokens | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      if (!raw) return null;
      const parsed = JSON.parse(raw) as Tokens;
      return parsed.access_token && parsed.refresh_token ? parsed : null;
    } catch {
      return null;
    }
  }

  private emit(): void {
    for (const listener of this.listeners) listener(this.tokens);
  }
}

function safeLocalStorage(): Storage | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}

export const STORAGE_SESSION_KEY = STORAGE_KEY;
