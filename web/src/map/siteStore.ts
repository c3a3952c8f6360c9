/**
 * Sites and flows of the visible area, loaded by bounding box (`GET /sites?bbox=` and `GET /flows?bbox=`, every
 * page through `offset`) and kept: a view inside an area already loaded costs no request. Declared and register
 * flows load at any zoom; estimated (inferred) flows, ten times as many, only when zoomed in.
 */
import { allPages, type Api, type Flow, type Site } from "../api";
import { bboxParam, containsBBox, padBBox, type BBox } from "./geo";
import { rememberFlows } from "./locations";

export type FlowLite = Pick<
  Flow,
  "id" | "site_id" | "organization_id" | "direction" | "category" | "resource" | "quantity" | "unit" | "temperature_c" | "inferred"
>;

export const INFERRED_MIN_ZOOM = 7;

export class SiteStore {
  readonly sites = new Map<string, Site>();
  readonly flowsBySite = new Map<string, Map<string, FlowLite>>();
  private covered: { declared: BBox[]; inferred: BBox[] } = { declared: [], inferred: [] };
  private inflight = new Map<string, Promise<boolean>>();
  flowCount = 0;

  constructor(private readonly api: Api) {}

  private isCovered(kind: "declared" | "inferred", box: BBox): boolean {
    return this.covered[kind].some((c) => containsBBox(c, box));
  }

  /** Load what the view needs. Resolves true when something new arrived. */
  async ensure(view: BBox, { inferred, zoom }: { inferred: boolean; zoom: number }): Promise<boolean> {
    const jobs: Promise<boolean>[] = [];
    if (!this.isCovered("declared", view)) jobs.push(this.once("declared", padBBox(view, 0.5)));
    if (inferred && zoom >= INFERRED_MIN_ZOOM && !this.isCovered("inferred", view)) {
      jobs.push(this.once("inferred", padBBox(view, 0.25)));
    }
    const results = await Promise.all(jobs);
    return results.some(Boolean);
  }

  private once(kind: "declared" | "inferred", box: BBox): Promise<boolean> {
    const key = `${kind}:${bboxParam(box)}`;
    let job = this.inflight.get(key);
    if (!job) {
      job = (kind === "declared" ? this.loadDeclared(box) : this.loadInferred(box)).finally(() => this.inflight.delete(key));
      this.inflight.set(key, job);
    }
    return job;
  }

  private async loadDeclared(box: BBox): Promise<boolean> {
    const bbox = bboxParam(box);
    const [sites, flows] = await Promise.all([
      allPages((offset, limit) => this.api.sites({ bbox, limit, offset })),
      allPages((offset, limit) => this.api.flows({ bbox, limit, offset, inferred: false })),
    ]);
    for (const site of sites.items) this.sites.set(site.id, site);
    this.addFlows(flows.items);
    this.covered.declared.push(box);
    return true;
  }

  private async loadInferred(box: BBox): Promise<boolean> {
    const bbox = bboxParam(box);
    const flows = await allPages((offset, limit) => this.api.flows({ bbox, limit, offset, inferred: true }), { max: 10000 });
    this.addFlows(flows.items);
    this.covered.inferred.push(box);
    return true;
  }

  addSites(sites: Site[]): void {
    for (const site of sites) this.sites.set(site.id, site);
  }

  addFlows(flows: Flow[]): void {
    rememberFlows(flows);
    for (const f of flows) {
      let bySite = this.flowsBySite.get(f.site_id);
      if (!bySite) this.flowsBySite.set(f.site_id, (bySite = new Map()));
      if (!bySite.has(f.id)) this.flowCount++;
      bySite.set(f.id, {
        id: f.id,
        site_id: f.site_id,
        organization_id: f.organization_id,
        direction: f.direction,
        category: f.category,
        resource: f.resource,
        quantity: f.quantity,
        unit: f.unit,
        temperature_c: f.temperature_c,
        inferred: f.inferred,
      });
    }
  }

  flowsOf(siteId: string): FlowLite[] {
    return [...(this.flowsBySite.get(siteId)?.values() ?? [])];
  }
}
