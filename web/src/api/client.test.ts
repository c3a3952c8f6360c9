import { describe, expect, it } from "vitest";
import { fakeServer, memoryStorage } from "../test/fakeServer";
import { ApiClient, ApiError, errorFromResponse } from "./client";

const PAIR = (n: number) => ({ access_token: `access-${n}`, refresh_token: `refresh-${n}`, token_type: "bearer", expires_in: 900 });

function signedIn(server: ReturnType<typeof fakeServer>, now = () => 1_000_000) {
  const storage = memoryStorage();
  const client = new ApiClient({ fetch: server.fetch as unknown as typeof fetch, storage, now });
  client.setTokens(PAIR(1));
  return { client, storage };
}

describe("ApiClient", () => {
  it("sends the bearer token", async () => {
    const server = fakeServer().on("GET /api/v1/users/me", { status: 200, body: { id: "u1" } });
    const { client } = signedIn(server);
    await expect(client.request("GET", "/api/v1/users/me")).resolves.toEqual({ id: "u1" });
    expect(server.calls[0].headers.Authorization).toBe("Bearer access-1");
  });

  it("refreshes the token once on a 401 and retries the request", async () => {
    const server = fakeServer()
      .on("GET /api/v1/users/me", { status: 401, body: { error: { code: "not_authenticated", message: "token expired" } } }, { status: 200, body: { id: "u1" } })
      .on("POST /api/v1/auth/refresh", { status: 200, body: PAIR(2) });
    const { client, storage } = signedIn(server);
    await expect(client.request("GET", "/api/v1/users/me")).resolves.toEqual({ id: "u1" });
    expect(server.calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /api/v1/users/me",
      "POST /api/v1/auth/refresh",
      "GET /api/v1/users/me",
    ]);
    expect(JSON.parse(server.calls[1].body!)).toEqual({ refresh_token: "refresh-1" });
    expect(server.calls[2].headers.Authorization).toBe("Bearer access-2");
    expect(client.session?.refresh_token).toBe("refresh-2");
    expect(JSON.parse(storage.data.get("turash.session")!).access_token).toBe("access-2");
  });

  it("shares one refresh between concurrent 401s (a refresh token works once)", async () => {
    let served = 0;
    const server = fakeServer()
      .on("GET /api/v1/flows", (call) =>
        call.headers.Authorization === "Bearer access-2" ? { status: 200, body: { n: ++served } } : { status: 401 },
      )
      .on("POST /api/v1/auth/refresh", { status: 200, body: PAIR(2) });
    const { client } = signedIn(server);
    await Promise.all([client.request("GET", "/api/v1/flows"), client.request("GET", "/api/v1/flows")]);
    expect(server.calls.filter((c) => c.path === "/api/v1/auth/refresh")).toHaveLength(1);
  });

  it("ends the session when the refresh is refused, without retrying again", async () => {
    const server = fakeServer()
      .on("GET /api/v1/users/me", { status: 401 })
      .on("POST /api/v1/auth/refresh", { status: 401, body: { error: { code: "not_authenticated", message: "refresh token reused" } } });
    const { client, storage } = signedIn(server);
    const ended: unknown[] = [];
    client.subscribe((t) => ended.push(t));
    const error = (await client.request("GET", "/api/v1/users/me").catch((e: unknown) => e)) as ApiError;
    expect(error).toBeInstanceOf(ApiError);
    expect(error.status).toBe(401);
    expect(error.message).toMatch(/session has ended/i);
    expect(client.session).toBeNull();
    expect(storage.data.has("turash.session")).toBe(false);
    expect(ended).toContain(null);
    expect(server.calls.filter((c) => c.path === "/api/v1/users/me")).toHaveLength(1);
  });

  it("refreshes before the access token expires, so a normal session never meets a 401", async () => {
    let now = 1_000_000;
    const server = fakeServer()
      .on("GET /api/v1/users/me", { status: 200, body: {} })
      .on("POST /api/v1/auth/refresh", { status: 200, body: PAIR(2) });
    const { client } = signedIn(server, () => now);
    now += 870_000; // 14.5 of 15 minutes
    await client.request("GET", "/api/v1/users/me");
    expect(server.calls.map((c) => c.path)).toEqual(["/api/v1/auth/refresh", "/api/v1/users/me"]);
    expect(server.calls[1].headers.Authorization).toBe("Bearer access-2");
  });

  it("signs in with a form-encoded OAuth2 password request", async () => {
    const server = fakeServer().on("POST /api/v1/auth/token", { status: 200, body: PAIR(7) });
    const client = new ApiClient({ fetch: server.fetch as unknown as typeof fetch, storage: memoryStorage() });
    await client.login("ana@example.org", "pass word&=");
    const call = server.calls[0];
    expect(call.headers["Content-Type"]).toBe("application/x-www-form-urlencoded");
    expect(new URLSearchParams(call.body!).get("password")).toBe("pass word&=");
    expect(call.headers.Authorization).toBeUndefined();
    expect(client.session?.access_token).toBe("access-7");
  });

  it("does not treat a wrong password (401 from the token route) as an ended session", async () => {
    const server = fakeServer().on("POST /api/v1/auth/token", {
      status: 401,
      body: { error: { code: "not_authenticated", message: "wrong e-mail or password" } },
    });
    const client = new ApiClient({ fetch: server.fetch as unknown as typeof fetch, storage: memoryStorage() });
    await expect(client.login("a@b.c", "x")).rejects.toThrow("Wrong e-mail or password");
  });

  it("reports a network failure as a readable error", async () => {
    const client = new ApiClient({
      fetch: (async () => {
        throw new TypeError("Failed to fetch");
      }) as unknown as typeof fetch,
      storage: null,
    });
    const error = (await client.request("GET", "/api/v1/health", { auth: false }).catch((e: unknown) => e)) as ApiError;
    expect(error.status).toBe(0);
    expect(error.message).toMatch(/cannot reach/i);
  });

  it("drops empty query values and encodes the rest", () => {
    const client = new ApiClient({ storage: null });
    expect(client.url("/api/v1/sites", { bbox: "1,2,3,4", q: "", limit: 10, x: undefined })).toBe("/api/v1/sites?bbox=1%2C2%2C3%2C4&limit=10");
  });
});

describe("errorFromResponse", () => {
  it("lists a 422's field messages and keeps them by field", () => {
    const error = errorFromResponse(422, {
      error: {
        code: "validation_error",
        message: "invalid request: quantity: 'abc' is not a number; temperature_c: out of range",
        details: [
          { field: "quantity", message: "'abc' is not a number", type: "value_error" },
          { field: "temperature_c", message: "temperature 5000 is out of range", type: "value_error" },
        ],
      },
    });
    expect(error.message).toBe("Quantity: 'abc' is not a number · temperature (°C): temperature 5000 is out of range");
    expect(error.fieldErrors()).toEqual({ quantity: "'abc' is not a number", temperature_c: "temperature 5000 is out of range" });
  });

  it("says which states are allowed after a refused transition (409)", () => {
    const error = errorFromResponse(409, {
      error: { code: "illegal_transition", message: "a proposal cannot go from sent to agreed", details: { allowed: ["accepted", "rejected", "withdrawn"] } },
    });
    expect(error.message).toBe("A proposal cannot go from sent to agreed. Allowed next states: accepted, rejected, withdrawn.");
    expect(error.allowedStates()).toEqual(["accepted", "rejected", "withdrawn"]);
  });

  it("explains rate limits and hides server internals", () => {
    expect(errorFromResponse(429, { error: { code: "rate_limited", message: "x", details: { retry_after_seconds: 42 } } }).message).toBe(
      "Too many attempts. Try again in 42 s.",
    );
    expect(errorFromResponse(500, { error: { code: "internal_error", message: "Traceback..." } }).message).toMatch(/went wrong on the server/);
    expect(errorFromResponse(502, null).message).toMatch(/went wrong on the server/);
    expect(errorFromResponse(404, null).message).toBe("The server answered with an error (HTTP 404).");
  });

  it("returns a binary body as a Blob, and an error as the API's error", async () => {
    const pdf = new Uint8Array([0x25, 0x50, 0x44, 0x46]); // %PDF
    const fetchImpl = async (input: RequestInfo | URL) =>
      String(input).includes("good")
        ? new Response(pdf, { status: 200, headers: { "Content-Type": "application/pdf" } })
        : new Response(JSON.stringify({ error: { code: "not_found", message: "match 'x' not found" } }), { status: 404 });
    const client = new ApiClient({ fetch: fetchImpl as unknown as typeof fetch, storage: memoryStorage() });
    const blob = await client.request<Blob>("GET", "/api/v1/good", { blob: true, auth: false });
    expect(new Uint8Array(await blob.arrayBuffer())).toEqual(pdf);
    await expect(client.request("GET", "/api/v1/bad", { blob: true, auth: false })).rejects.toMatchObject({
      status: 404,
      code: "not_found",
    });
  });
});
