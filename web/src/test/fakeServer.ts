/** A scripted `fetch` for tests: each route answers from a queue (or a function), and every call is recorded. */
import { vi } from "vitest";
import { ApiClient } from "../api/client";
import { endpoints, type Api } from "../api";

export interface Call {
  method: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: string | null;
}

type Reply = { status: number; body?: unknown } | ((call: Call) => { status: number; body?: unknown });

export function jsonResponse(status: number, body?: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

export function fakeServer() {
  const routes = new Map<string, Reply[]>();
  const calls: Call[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const path = url.replace(/^https?:\/\/[^/]+/, "").split("?")[0];
    const method = (init?.method ?? "GET").toUpperCase();
    const call: Call = {
      method,
      url,
      path,
      headers: (init?.headers ?? {}) as Record<string, string>,
      body: typeof init?.body === "string" ? init.body : null,
    };
    calls.push(call);
    const queue = routes.get(`${method} ${path}`);
    if (!queue || queue.length === 0) return jsonResponse(404, { error: { code: "not_found", message: `no fake for ${method} ${path}` } });
    const reply = queue.length > 1 ? queue.shift()! : queue[0];
    const { status, body } = typeof reply === "function" ? reply(call) : reply;
    return status === 204 ? new Response(null, { status }) : jsonResponse(status, body);
  });
  return {
    fetch,
    calls,
    /** Answer `METHOD /path` with these replies in turn (the last one repeats). */
    on(route: string, ...replies: Reply[]) {
      routes.set(route, replies);
      return this;
    },
  };
}

export function memoryStorage(): Pick<Storage, "getItem" | "setItem" | "removeItem"> & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

export function fakeApi(server: ReturnType<typeof fakeServer>, options: { signedIn?: boolean } = {}): Api {
  const client = new ApiClient({ fetch: server.fetch as unknown as typeof fetch, storage: memoryStorage() });
  if (options.signedIn ?? true) client.setTokens({ access_token: "access-1", refresh_token: "refresh-1", expires_in: 900 });
  return endpoints(client);
}
