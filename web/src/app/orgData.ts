import { allPages, type Api, type Flow, type Site } from "../api";
import { rememberFlows } from "../map/locations";

export interface OrgData {
  sites: Site[];
  flows: Flow[];
}

/** An organisation's sites and all their flows (also remembered as locations for match lines). */
export async function loadOrgData(api: Api, orgId: string): Promise<OrgData> {
  const sites = (await allPages((offset, limit) => api.organizationSites(orgId, { limit, offset }))).items;
  const perSite = await Promise.all(
    sites.map((s) => allPages((offset, limit) => api.siteFlows(s.id, { limit, offset }), { limit: 500 })),
  );
  const flows = perSite.flatMap((p) => p.items);
  rememberFlows(flows);
  return { sites, flows };
}
