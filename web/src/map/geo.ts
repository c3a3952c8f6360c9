import type { Feature, Polygon } from "geojson";

export type BBox = [number, number, number, number]; // min_lon, min_lat, max_lon, max_lat

const EARTH_KM = 6371.0088;

/** A geodesic circle as a polygon (for the radius tool). */
export function circlePolygon(center: [number, number], radiusKm: number, steps = 96): Feature<Polygon> {
  const [lon, lat] = center.map((d) => (d * Math.PI) / 180);
  const d = radiusKm / EARTH_KM;
  const ring: [number, number][] = [];
  for (let i = 0; i <= steps; i++) {
    const bearing = (2 * Math.PI * i) / steps;
    const lat2 = Math.asin(Math.sin(lat) * Math.cos(d) + Math.cos(lat) * Math.sin(d) * Math.cos(bearing));
    const lon2 = lon + Math.atan2(Math.sin(bearing) * Math.sin(d) * Math.cos(lat), Math.cos(d) - Math.sin(lat) * Math.sin(lat2));
    ring.push([(lon2 * 180) / Math.PI, (lat2 * 180) / Math.PI]);
  }
  return { type: "Feature", properties: {}, geometry: { type: "Polygon", coordinates: [ring] } };
}

export function haversineKm(a: [number, number], b: [number, number]): number {
  const toRad = (d: number) => (d * Math.PI) / 180;
  const dLat = toRad(b[1] - a[1]);
  const dLon = toRad(b[0] - a[0]);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(toRad(a[1])) * Math.cos(toRad(b[1])) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_KM * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Grow a box by `factor` of its size on each side, clamped to the world. */
export function padBBox([w, s, e, n]: BBox, factor = 0.5): BBox {
  const dx = (e - w) * factor;
  const dy = (n - s) * factor;
  return [Math.max(-180, w - dx), Math.max(-85, s - dy), Math.min(180, e + dx), Math.min(85, n + dy)];
}

export function containsBBox(outer: BBox, inner: BBox): boolean {
  return outer[0] <= inner[0] && outer[1] <= inner[1] && outer[2] >= inner[2] && outer[3] >= inner[3];
}

export function bboxParam(b: BBox): string {
  return b.map((v) => v.toFixed(4)).join(",");
}

export function boundsOf(points: [number, number][]): BBox | null {
  if (points.length === 0) return null;
  let [w, s, e, n] = [180, 90, -180, -90];
  for (const [x, y] of points) {
    w = Math.min(w, x);
    s = Math.min(s, y);
    e = Math.max(e, x);
    n = Math.max(n, y);
  }
  return [w, s, e, n];
}
