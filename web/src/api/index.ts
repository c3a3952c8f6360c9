/**
 * Typed calls of the Turash REST API. Shapes come from `schema.d.ts`, generated from the server's OpenAPI
 * document (`npm run api:types` after refreshing `openapi.json`); the few routes whose responses the OpenAPI
 * document leaves untyped (economics, proposals) are typed here from the API contract.
 */
import { ApiClient, type QueryValue } from "./client";
import type { components, paths } from "./schema";

type Schemas = components["schemas"];
export type User = Schemas["UserRead"];
export type Organization = Schemas["OrganizationRead"];
export type OrganizationCreate = Schemas["OrganizationCreate"];
export type Site = Schemas["SiteRead"];
export type SiteCreate = Schemas["SiteCreate"];
export type Flow = Schemas["FlowRead"];
export type Match = Schemas["Match"] & {
  supply: MatchSide;
  demand: MatchSide;
  reasons?: string[];
  computed_at?: string;
};
export type MatchSide = Schemas["MatchSide"] & { lat?: number | null; lon?: number | null; site_id?: string };
export type MatchList = Schemas["MatchList"];

export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

type QueryOf<P extends keyof paths> = paths[P] extends { get: { parameters: { query?: infer Q } } } ? Q : never;
export type SiteQuery = NonNullable<QueryOf<"/api/v1/sites">>;
export type FlowQuery = NonNullable<QueryOf<"/api/v1/flows">>;
export type MatchQueryParams = NonNullable<QueryOf<"/api/v1/organizations/{organization_id}/matching/direct">>;

export interface Range {
  p10?: number | null;
  p50?: number | null;
  p90?: number | null;
}
export interface TornadoBar {
  input: string;
  npv_low: number;
  npv_high: number;
}
export interface RiskLevel {
  level: "low" | "medium" | "high" | string;
  reasons: string[];
}
export interface Assumption {
  name: string;
  value: number | string | null;
  unit?: string | null;
  source?: string | null;
}
export interface EconomicsDetail {
  computable: boolean;
  npv_eur?: number | null;
  irr?: number | null;
  payback_years?: number | null;
  discounted_payback_years?: number | null;
  roi?: number | null;
  levelised_cost?: { value: number | null; unit: string } | null;
  capex_eur?: number | null;
  opex_eur_per_year?: number | null;
  benefit_eur_per_year?: number | null;
  co2_avoided_t_per_year?: number | null;
  npv_range?: Range | null;
  co2_range?: Range | null;
  tornado?: TornadoBar[];
  price_band?: { low: number | null; high: number | null; unit: string; note?: string } | null;
  price_band_reason?: string | null;
  risk?: Record<string, RiskLevel>;
  assumptions?: Assumption[];
  notes?: string[];
  breakdown?: Record<string, number>;
}
export interface BusinessCase {
  match: Match;
  case: Record<string, unknown>;
  economics: EconomicsDetail;
  overrides: Record<string, number>;
}

export type ProposalStatus =
  | "draft"
  | "sent"
  | "accepted"
  | "rejected"
  | "withdrawn"
  | "in_negotiation"
  | "agreed"
  | "failed"
  | "implemented";

/** One side of a proposal as the caller may see it (staged disclosure: no name before acceptance and an NDA). */
export interface ProposalSide {
  organization?: string | null;
  site?: string | null;
  resource?: string | null;
  resource_class?: string | null;
  sector?: string | null;
  distance_band?: string | null;
  quantity_band?: string | null;
  contacts?: { name: string; email: string }[];
  flow?: Record<string, unknown>;
  location?: { lat: number; lon: number; address?: string | null } | null;
}
export interface ProposalEvent {
  at: string;
  actor: string;
  kind?: string;
  from_status?: string | null;
  to_status?: string | null;
  note?: string | null;
}
export interface ProposalComment {
  at: string;
  actor: string;
  body: string;
}
export interface Proposal {
  id: string;
  match_id: string;
  status: ProposalStatus;
  my_role: "proposer" | "receiver" | "facilitator" | "admin" | string;
  disclosure?: "anonymous" | "named" | "full" | string;
  supply: ProposalSide;
  demand: ProposalSide;
  score?: number | null;
  scores?: Record<string, number | null> | null;
  distance_km?: number | null;
  economics?: Record<string, number | null> | null;
  allowed?: ProposalStatus[];
  allowed_for_me?: ProposalStatus[];
  nda_recorded_at?: string | null;
  created_at: string;
  updated_at: string;
  history?: ProposalEvent[];
  comments?: ProposalComment[];
}

/** Every route the web app uses. */
export function endpoints(client: ApiClient) {
  const q = (query: object | undefined) => query as Record<string, QueryValue> | undefined;
  return {
    client,
    register: (body: Schemas["UserCreate"]) =>
      client.request<User>("POST", "/api/v1/auth/register", { json: body, auth: false }),
    me: () => client.request<User>("GET", "/api/v1/users/me"),
    myOrganizations: () => client.request<Organization[]>("GET", "/api/v1/users/me/organizations"),
    createOrganization: (body: OrganizationCreate) =>
      client.request<Organization>("POST", "/api/v1/organizations", { json: body }),
    organizationSites: (orgId: string, query?: { limit?: number; offset?: number }) =>
      client.request<Page<Site>>("GET", `/api/v1/organizations/${enc(orgId)}/sites`, { query: q(query) }),
    createSite: (orgId: string, body: SiteCreate) =>
      client.request<Site>("POST", `/api/v1/organizations/${enc(orgId)}/sites`, { json: body }),
    deleteSite: (siteId: string) => client.request<void>("DELETE", `/api/v1/sites/${enc(siteId)}`),
    sites: (query: SiteQuery) => client.request<Page<Site>>("GET", "/api/v1/sites", { query: q(query) }),
    siteFlows: (siteId: string, query?: { limit?: number; offset?: number }) =>
      client.request<Page<Flow>>("GET", `/api/v1/sites/${enc(siteId)}/flows`, { query: q(query) }),
    createFlow: (siteId: string, body: Record<string, unknown>) =>
      client.request<Flow>("POST", `/api/v1/sites/${enc(siteId)}/flows`, { json: body }),
    deleteFlow: (flowId: string) => client.request<void>("DELETE", `/api/v1/flows/${enc(flowId)}`),
    flows: (query: FlowQuery) => client.request<Page<Flow>>("GET", "/api/v1/flows", { query: q(query) }),
    organizationMatches: (orgId: string, query: MatchQueryParams) =>
      client.request<MatchList>("GET", `/api/v1/organizations/${enc(orgId)}/matching/direct`, { query: q(query) }),
    flowMatches: (flowId: string, query: MatchQueryParams) =>
      client.request<MatchList>("GET", `/api/v1/flows/${enc(flowId)}/matches`, { query: q(query) }),
    economics: (matchId: string) =>
      client.request<BusinessCase>("GET", `/api/v1/matches/${enc(matchId)}/economics`),
    economicsReport: (matchId: string) =>
      client.request<string>("GET", `/api/v1/matches/${enc(matchId)}/economics`, {
        query: { format: "html" },
        text: true,
      }),
    economicsPdf: (matchId: string) =>
      client.request<Blob>("GET", `/api/v1/matches/${enc(matchId)}/economics`, { query: { format: "pdf" }, blob: true }),
    matchPacketPdf: (matchId: string) =>
      client.request<Blob>("GET", `/api/v1/matches/${enc(matchId)}/packet`, { query: { format: "pdf" }, blob: true }),
    proposalPacketPdf: (id: string) =>
      client.request<Blob>("GET", `/api/v1/proposals/${enc(id)}/packet`, { query: { format: "pdf" }, blob: true }),
    proposals: (query?: { status?: string; limit?: number; offset?: number }) =>
      client.request<Page<Proposal>>("GET", "/api/v1/proposals", { query: q(query) }),
    proposal: (id: string) => client.request<Proposal>("GET", `/api/v1/proposals/${enc(id)}`),
    createProposal: (matchId: string) =>
      client.request<Proposal>("POST", "/api/v1/proposals", { json: { match_id: matchId } }),
    changeProposalStatus: (id: string, status: ProposalStatus, note?: string) =>
      client.request<Proposal>("POST", `/api/v1/proposals/${enc(id)}/status`, {
        json: note ? { status, note } : { status },
      }),
    commentProposal: (id: string, body: string) =>
      client.request<ProposalComment>("POST", `/api/v1/proposals/${enc(id)}/comments`, { json: { body } }),
    recordNda: (id: string) => client.request<Proposal>("POST", `/api/v1/proposals/${enc(id)}/nda`, { json: {} }),
  };
}

export type Api = ReturnType<typeof endpoints>;

function enc(id: string): string {
  return encodeURIComponent(id);
}

/** Every page of a paginated list (`limit`/`offset`), up to `max` items; pages after the first in parallel. */
export async function allPages<T>(
  fetchPage: (offset: number, limit: number) => Promise<Page<T>>,
  { limit = 1000, max = 20000, parallel = 4 }: { limit?: number; max?: number; parallel?: number } = {},
): Promise<{ items: T[]; total: number }> {
  const first = await fetchPage(0, limit);
  const items = [...first.items];
  const total = first.total;
  const offsets: number[] = [];
  for (let offset = limit; offset < Math.min(total, max); offset += limit) offsets.push(offset);
  for (let i = 0; i < offsets.length; i += parallel) {
    const pages = await Promise.all(offsets.slice(i, i + parallel).map((o) => fetchPage(o, limit)));
    for (const page of pages) items.push(...page.items);
  }
  return { items, total };
}
