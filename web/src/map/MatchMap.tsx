import * as maplibregl from "maplibre-gl";
import type { GeoJSONSource, MapMouseEvent } from "maplibre-gl";
import type { Feature, FeatureCollection, LineString, Point } from "geojson";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import type { Match } from "../api";
import { CATEGORY_COLOURS } from "../categories";
import { S } from "../i18n";
import { boundsOf, circlePolygon } from "./geo";
import { knownEnd } from "./locations";
import { TurashMap, type MapLibreMap } from "./TurashMap";

const LINES = "match-lines";
/** Line width by score: weak matches hairlines, strong ones thick (px). */
const WIDTH = ["interpolate", ["exponential", 2], ["get", "score"], 0.3, 1.5, 0.6, 4, 0.8, 8, 1, 13] as never;
const ENDS = "match-ends";
const RINGS = "match-rings";

/**
 * Match lines between partners: thickness by score, colour by category; the selected (or hovered) match is drawn
 * on top. Clicking a line selects its match.
 */
export function MatchMap({ matches, locations, selectedId, hoverId, onSelect, label = S.matches.title, className }: {
  matches: Match[];
  locations: Map<string, [[number, number], [number, number]]>;
  selectedId?: string | null;
  hoverId?: string | null;
  onSelect?: (id: string) => void;
  label?: string;
  className?: string;
}) {
  const [map, setMap] = useState<MapLibreMap | null>(null);
  const select = useRef(onSelect);
  select.current = onSelect;

  const onReady = useCallback((m: MapLibreMap) => {
    m.addSource(LINES, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    m.addSource(ENDS, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    m.addSource(RINGS, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    // Partners whose location is not disclosed yet: a dashed ring at the match distance around the known end.
    m.addLayer({ id: "match-rings-fill", type: "fill", source: RINGS, paint: { "fill-color": "#e8590c", "fill-opacity": 0.05 } });
    m.addLayer({
      id: "match-rings",
      type: "line",
      source: RINGS,
      paint: { "line-color": "#c2410c", "line-width": 1.5, "line-dasharray": [3, 2], "line-opacity": 0.8 },
    });
    const colour = ["match", ["get", "cat"], ...Object.entries(CATEGORY_COLOURS).flat(), CATEGORY_COLOURS.none];
    m.addLayer({
      id: "match-lines-casing",
      type: "line",
      source: LINES,
      layout: { "line-cap": "round", "line-join": "round" },
      paint: {
        "line-color": "#ffffff",
        "line-width": ["+", 3, WIDTH],
        "line-opacity": ["case", ["==", ["get", "focus"], 1], 0.95, 0.6],
      },
    });
    m.addLayer({
      id: LINES,
      type: "line",
      source: LINES,
      layout: { "line-cap": "round", "line-join": "round", "line-sort-key": ["get", "focus"] },
      paint: {
        "line-color": colour as never,
        "line-width": WIDTH,
        "line-opacity": ["case", ["==", ["get", "focus"], 1], 1, ["==", ["get", "dim"], 1], 0.35, 0.8],
      },
    });
    m.addLayer({
      id: ENDS,
      type: "circle",
      source: ENDS,
      paint: {
        "circle-radius": 7,
        "circle-color": ["case", ["==", ["get", "side"], "supply"], "#0b3d2e", "#ffffff"],
        "circle-stroke-color": "#0b3d2e",
        "circle-stroke-width": 2.5,
      },
    });
    const onClick = (e: MapMouseEvent) => {
      const hit = m.queryRenderedFeatures(e.point, { layers: [LINES] })[0];
      if (hit) select.current?.(String(hit.properties?.id));
    };
    m.on("click", onClick);
    m.on("mouseenter", LINES, () => (m.getCanvas().style.cursor = "pointer"));
    m.on("mouseleave", LINES, () => (m.getCanvas().style.cursor = ""));
    setMap(m);
  }, []);

  // One HTML label per end (organisation names; no glyphs needed).
  useEffect(() => {
    if (!map) return;
    const labels = new Map<string, { at: [number, number]; names: Set<string>; side: string }>();
    for (const m of matches) {
      const loc = locations.get(m.id);
      const end = loc ? null : knownEnd(m);
      for (const [i, side] of [m.supply, m.demand].entries()) {
        const at = loc ? loc[i] : end && end.side === (i === 0 ? "supply" : "demand") ? end.at : null;
        if (!at) continue;
        const key = at.join(",");
        const entry = labels.get(key) ?? { at, names: new Set<string>(), side: i === 0 ? "supply" : "demand" };
        entry.names.add(side.organization ? side.organization.charAt(0).toUpperCase() + side.organization.slice(1) : side.site);
        labels.set(key, entry);
      }
    }
    const markers = [...labels.values()].map(({ at, names, side }) => {
      const el = document.createElement("div");
      el.className = `map-label map-label-${side}`;
      el.setAttribute("aria-hidden", "true");
      const list = [...names];
      el.textContent = list.length > 2 ? `${list.slice(0, 2).join(", ")} +${list.length - 2}` : list.join(", ");
      return new maplibregl.Marker({ element: el, anchor: "left", offset: [10, 0] }).setLngLat(at).addTo(map);
    });
    return () => markers.forEach((marker) => marker.remove());
  }, [map, matches, locations]);

  const focus = hoverId ?? selectedId ?? null;
  const data = useMemo(() => {
    const lines: Feature<LineString>[] = [];
    const ends = new Map<string, Feature<Point>>();
    for (const m of matches) {
      const loc = locations.get(m.id);
      if (!loc) continue;
      lines.push({
        type: "Feature",
        properties: { id: m.id, score: m.score, cat: m.category ?? "none", focus: m.id === focus ? 1 : 0, dim: focus && m.id !== focus ? 1 : 0 },
        geometry: { type: "LineString", coordinates: [loc[0], loc[1]] },
      });
      ends.set(`s${loc[0]}`, { type: "Feature", properties: { side: "supply" }, geometry: { type: "Point", coordinates: loc[0] } });
      ends.set(`d${loc[1]}`, { type: "Feature", properties: { side: "demand" }, geometry: { type: "Point", coordinates: loc[1] } });
    }
    const rings: Feature[] = [];
    for (const m of matches) {
      if (locations.has(m.id)) continue;
      const end = knownEnd(m);
      if (!end) continue;
      rings.push(circlePolygon(end.at, Math.max(0.2, m.distance_km)));
      ends.set(`${end.side[0]}${end.at}`, { type: "Feature", properties: { side: end.side }, geometry: { type: "Point", coordinates: end.at } });
    }
    return {
      lines: { type: "FeatureCollection", features: lines } as FeatureCollection,
      ends: { type: "FeatureCollection", features: [...ends.values()] } as FeatureCollection,
      rings: { type: "FeatureCollection", features: rings } as FeatureCollection,
    };
  }, [matches, locations, focus]);

  useEffect(() => {
    if (!map) return;
    (map.getSource(LINES) as GeoJSONSource).setData(data.lines);
    (map.getSource(ENDS) as GeoJSONSource).setData(data.ends);
    (map.getSource(RINGS) as GeoJSONSource).setData(data.rings);
  }, [map, data]);

  // Fit the view to all lines when the set of matches changes; to the selected one when it changes.
  const fitKey = useMemo(() => [...locations.keys()].sort().join(",") + matches.map((m) => m.id).join(","), [locations, matches]);
  useEffect(() => {
    if (!map) return;
    const points: [number, number][] = [];
    for (const [id, loc] of locations) if (!selectedId || id === selectedId) points.push(...loc);
    for (const m of matches) {
      if (locations.has(m.id) || (selectedId && m.id !== selectedId)) continue;
      const end = knownEnd(m);
      if (end) points.push(...(circlePolygon(end.at, Math.max(0.2, m.distance_km), 8).geometry.coordinates[0] as [number, number][]));
    }
    const b = boundsOf(points);
    if (!b) return;
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding: 60, maxZoom: 12, duration: 600 });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [map, fitKey, selectedId]);

  return (
    <TurashMap onReady={onReady} label={label} className={className}>
      <div className="map-legend map-legend-matches" aria-hidden="true">
        <ul>
          <li><span className="dot" style={{ background: "#0b3d2e" }} /> {S.matches.supply}</li>
          <li><span className="dot dot-ring" /> {S.matches.demand}</li>
          <li><span className="legend-line" /> {S.matches.lineWidth}</li>
          {matches.some((m) => !locations.has(m.id) && knownEnd(m)) && (
            <li><span className="legend-ring" /> {S.matches.ring}</li>
          )}
        </ul>
      </div>
    </TurashMap>
  );
}
