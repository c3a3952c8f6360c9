/**
 * Sites as clustered circles coloured by the category of their flows. Cluster counts are HTML markers (no glyphs,
 * so the map needs no font server); each cluster takes the colour of the category most of its sites have.
 */
import * as maplibregl from "maplibre-gl";
import { type ExpressionSpecification, type GeoJSONSource, type Map as MapLibreMap } from "maplibre-gl";
import type { Feature, FeatureCollection, Point } from "geojson";
import { CATEGORIES, CATEGORY_COLOURS } from "../categories";
import { S } from "../i18n";

export const SITE_SOURCE = "sites";
export const CLUSTER_LAYER = "site-clusters";
export const POINT_LAYER = "site-points";
export const MINE_LAYER = "site-mine";
export const SELECTED_LAYER = "site-selected";

const KEYS = [...CATEGORIES, "none"] as const;
/** Cluster radius by site count: radius, then (count threshold, radius) pairs. */
const CLUSTER_STEPS = [14, 10, 17, 50, 21, 200, 26, 600, 32];

function clusterRadius(count: number): number {
  let r = CLUSTER_STEPS[0];
  for (let i = 1; i < CLUSTER_STEPS.length; i += 2) if (count >= CLUSTER_STEPS[i]) r = CLUSTER_STEPS[i + 1];
  return r;
}

/** A donut of the categories in a cluster (CSS conic gradient), with the site count in the middle. */
function donut(el: HTMLElement, props: Record<string, unknown>, count: number): void {
  const r = clusterRadius(count);
  let total = 0;
  for (const key of KEYS) total += Number(props[`c_${key}`] ?? 0);
  const stops: string[] = [];
  let at = 0;
  for (const key of KEYS) {
    const n = Number(props[`c_${key}`] ?? 0);
    if (!n) continue;
    const end = at + (n / (total || 1)) * 360;
    stops.push(`${CATEGORY_COLOURS[key]} ${at.toFixed(1)}deg ${end.toFixed(1)}deg`);
    at = end;
  }
  el.style.width = el.style.height = `${2 * r + 4}px`;
  el.style.background = stops.length ? `conic-gradient(${stops.join(", ")})` : CATEGORY_COLOURS.none;
  el.classList.toggle("mine", Number(props.mine ?? 0) > 0);
}

export interface SiteProps {
  id: string;
  name: string;
  cat: string;
  mine: 0 | 1;
  flows: number;
}

export type SiteFeature = Feature<Point, SiteProps>;

function dominantClusterColour(): ExpressionSpecification {
  const branches: unknown[] = [];
  for (const key of KEYS) {
    const others = KEYS.filter((k) => k !== key).map((k) => [">=", ["get", `c_${key}`], ["get", `c_${k}`]]);
    branches.push(["all", ...others], CATEGORY_COLOURS[key]);
  }
  return ["case", ...branches, CATEGORY_COLOURS.none] as unknown as ExpressionSpecification;
}

function categoryColourExpression(): ExpressionSpecification {
  const pairs: string[] = [];
  for (const key of KEYS) pairs.push(key, CATEGORY_COLOURS[key]);
  return ["match", ["get", "cat"], ...pairs, CATEGORY_COLOURS.none] as unknown as ExpressionSpecification;
}

export function addSiteLayers(map: MapLibreMap): void {
  const clusterProperties: Record<string, unknown> = {};
  for (const key of KEYS) clusterProperties[`c_${key}`] = ["+", ["case", ["==", ["get", "cat"], key], 1, 0]];
  clusterProperties.mine = ["max", ["get", "mine"]];
  map.addSource(SITE_SOURCE, {
    type: "geojson",
    data: { type: "FeatureCollection", features: [] },
    cluster: true,
    clusterRadius: 42,
    clusterMaxZoom: 8,
    clusterProperties: clusterProperties as never,
    promoteId: "id",
  });
  map.addLayer({
    id: CLUSTER_LAYER,
    type: "circle",
    source: SITE_SOURCE,
    filter: ["has", "point_count"],
    paint: {
      // Drawn underneath the HTML donut of the same size: shows while the donuts catch up, and takes the clicks.
      "circle-color": dominantClusterColour(),
      "circle-opacity": 0.85,
      "circle-radius": ["step", ["get", "point_count"], ...CLUSTER_STEPS] as unknown as ExpressionSpecification,
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": 2,
      "circle-stroke-opacity": 0.9,
    },
  });
  map.addLayer({
    id: MINE_LAYER,
    type: "circle",
    source: SITE_SOURCE,
    filter: ["all", ["!", ["has", "point_count"]], ["==", ["get", "mine"], 1]],
    paint: {
      "circle-color": "rgba(0,0,0,0)",
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 9, 10, 14, 14, 18],
      "circle-stroke-color": "#0b3d2e",
      "circle-stroke-width": 2.5,
    },
  });
  map.addLayer({
    id: POINT_LAYER,
    type: "circle",
    source: SITE_SOURCE,
    filter: ["!", ["has", "point_count"]],
    paint: {
      "circle-color": categoryColourExpression(),
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 4.5, 8, 6.5, 12, 9, 15, 12],
      "circle-stroke-color": "#ffffff",
      "circle-stroke-width": ["interpolate", ["linear"], ["zoom"], 3, 1, 10, 2],
    },
  });
  map.addLayer({
    id: SELECTED_LAYER,
    type: "circle",
    source: SITE_SOURCE,
    filter: ["==", ["get", "id"], ""],
    paint: {
      "circle-color": "rgba(0,0,0,0)",
      "circle-radius": ["interpolate", ["linear"], ["zoom"], 3, 10, 12, 16],
      "circle-stroke-color": "#111827",
      "circle-stroke-width": 3,
    },
  });
}

export function setSites(map: MapLibreMap, features: SiteFeature[]): void {
  const data: FeatureCollection<Point, SiteProps> = { type: "FeatureCollection", features };
  (map.getSource(SITE_SOURCE) as GeoJSONSource | undefined)?.setData(data);
}

export function setSelectedSite(map: MapLibreMap, id: string | null): void {
  if (map.getLayer(SELECTED_LAYER)) map.setFilter(SELECTED_LAYER, ["==", ["get", "id"], id ?? ""]);
}

/** Keeps one HTML count label on every cluster in view. Returns a cleanup function. */
export function clusterLabels(map: MapLibreMap): () => void {
  const markers = new Map<number, maplibregl.Marker>();
  let scheduled = 0;
  const update = () => {
    scheduled = 0;
    if (!map.getSource(SITE_SOURCE) || !map.isSourceLoaded(SITE_SOURCE)) return;
    const seen = new Set<number>();
    for (const f of map.querySourceFeatures(SITE_SOURCE, { filter: ["has", "point_count"] })) {
      const props = f.properties as { cluster_id: number; point_count: number; point_count_abbreviated?: string };
      const id = props.cluster_id;
      if (seen.has(id)) continue;
      seen.add(id);
      const coords = (f.geometry as Point).coordinates as [number, number];
      let marker = markers.get(id);
      if (!marker) {
        const el = document.createElement("div");
        el.className = "cluster-donut";
        el.setAttribute("aria-hidden", "true");
        const label = document.createElement("span");
        label.textContent = String(props.point_count_abbreviated ?? props.point_count);
        el.appendChild(label);
        el.title = S.map.clusterLabel(props.point_count);
        donut(el, f.properties as Record<string, unknown>, props.point_count);
        marker = new maplibregl.Marker({ element: el }).setLngLat(coords);
        markers.set(id, marker);
      } else {
        marker.setLngLat(coords);
      }
      if (!marker.getElement().isConnected) marker.addTo(map);
    }
    for (const [id, marker] of markers) {
      if (!seen.has(id)) {
        marker.remove();
        markers.delete(id);
      }
    }
  };
  const schedule = () => {
    if (!scheduled) scheduled = window.requestAnimationFrame(update);
  };
  map.on("render", schedule);
  return () => {
    map.off("render", schedule);
    if (scheduled) window.cancelAnimationFrame(scheduled);
    for (const marker of markers.values()) marker.remove();
    markers.clear();
  };
}
