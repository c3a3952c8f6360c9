/**
 * Where flows are, for drawing match lines. Filled from every flow list the app loads (map, organisation
 * pages); partners' locations that the caller may not read stay unknown (staged disclosure), and get no line.
 */
import type { Api, Flow, FlowQuery, Match, MatchSide } from "../api";

const known = new Map<string, [number, number]>();

export function rememberFlows(flows: Pick<Flow, "id" | "lat" | "lon">[]): void {
  for (const f of flows) if (typeof f.lat === "number" && typeof f.lon === "number") known.set(f.id, [f.lon, f.lat]);
}

export function flowLocation(id: string): [number, number] | undefined {
  return known.get(id);
}

function sideLocation(side: MatchSide): [number, number] | undefined {
  if (typeof side.lat === "number" && typeof side.lon === "number") return [side.lon, side.lat];
  return known.get(side.flow_id);
}

/**
 * Resolve both ends of each match: from the match itself (when the API includes coordinates), from flows seen
 * before, else by listing the readable flows around the known end (one request per anchor flow, never a request
 * that could be refused).
 */
export async function locateMatches(api: Api, matches: Match[]): Promise<Map<string, [[number, number], [number, number]]>> {
  const pending = new Map<string, { anchor: [number, number]; radius: number; direction: string; category?: string }>();
  for (const m of matches) {
    const s = sideLocation(m.supply);
    const d = sideLocation(m.demand);
    if (s && d) continue;
    const anchorSide = s ? m.supply : d ? m.demand : null;
    if (!anchorSide) continue;
    const anchor = (s ?? d)!;
    const key = anchorSide.flow_id;
    const entry = pending.get(key) ?? {
      anchor,
      radius: 0,
      direction: s ? "demand" : "supply",
      category: m.category ?? undefined,
    };
    entry.radius = Math.max(entry.radius, m.distance_km);
    if (entry.category !== m.category) entry.category = undefined;
    pending.set(key, entry);
  }
  await Promise.all(
    [...pending.values()].map(async (p) => {
      try {
        const page = await api.flows({
          lat: p.anchor[1],
          lon: p.anchor[0],
          radius_km: Math.min(2000, Math.ceil(p.radius * 1.05 + 1)),
          direction: p.direction as FlowQuery["direction"],
          category: p.category as FlowQuery["category"],
          limit: 1000,
        });
        rememberFlows(page.items);
      } catch {
        // lines are a convenience: the list still shows every match
      }
    }),
  );
  const out = new Map<string, [[number, number], [number, number]]>();
  for (const m of matches) {
    const s = sideLocation(m.supply);
    const d = sideLocation(m.demand);
    if (s && d) out.set(m.id, [s, d]);
  }
  return out;
}

/** For a match whose partner location is not disclosed: the end the caller knows, and how far the other is. */
export function knownEnd(match: Match): { at: [number, number]; side: "supply" | "demand" } | null {
  const s = sideLocation(match.supply);
  const d = sideLocation(match.demand);
  if (s && d) return null;
  if (s) return { at: s, side: "supply" };
  if (d) return { at: d, side: "demand" };
  return null;
}
