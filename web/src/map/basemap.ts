/**
 * The basemap: country shapes and coastlines from the `world-atlas` package (Natural Earth, public domain),
 * drawn as fill and line layers of a local style. Nothing is fetched from a tile server and no glyphs are
 * needed (labels are HTML markers). `VITE_TILE_URL` (e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`) adds
 * a raster tile layer underneath for online use.
 */
import type { Feature, FeatureCollection, MultiLineString, Position } from "geojson";
import type { StyleSpecification } from "maplibre-gl";
import { feature, mesh } from "topojson-client";
import type { GeometryCollection, Topology } from "topojson-specification";

export interface Basemap {
  countries: FeatureCollection;
  borders: MultiLineString;
  coasts: MultiLineString;
}

let cached: Promise<Basemap> | null = null;

/** Converted once per page, shared by every map. The 50 m TopoJSON is a lazy chunk of the build. */
export function loadBasemap(): Promise<Basemap> {
  if (!cached) {
    cached = import("world-atlas/countries-50m.json").then((module) => {
      const topo = (module.default ?? module) as unknown as Topology<{ countries: GeometryCollection }>;
      const all = feature(topo, topo.objects.countries) as unknown as FeatureCollection;
      // Antarctica's ring runs round the pole, which a flat map cannot fill; Europe does not miss it.
      const countries: FeatureCollection = {
        type: "FeatureCollection",
        features: all.features.filter((f) => String(f.id) !== ANTARCTICA).map(unwrapFeature),
      };
      const borders = unwrapLines(mesh(topo, topo.objects.countries, (a, b) => a !== b));
      const coasts = unwrapLines(mesh(topo, topo.objects.countries, (a, b) => a === b && String(a.id) !== ANTARCTICA));
      return { countries, borders, coasts };
    });
  }
  return cached;
}

const ANTARCTICA = "010";

/**
 * Natural Earth rings that cross the antimeridian (Russia, Fiji) jump from +180 to -180, which a flat map draws
 * as a band across the world. Unwrapping makes longitudes continuous (Chukotka at 190° instead of -170°).
 */
export function unwrap(ring: Position[]): Position[] {
  const out: Position[] = [];
  let shift = 0;
  for (let i = 0; i < ring.length; i++) {
    if (i > 0) {
      const delta = ring[i][0] - ring[i - 1][0];
      if (delta > 180) shift -= 360;
      else if (delta < -180) shift += 360;
    }
    out.push([ring[i][0] + shift, ring[i][1]]);
  }
  return out;
}

function unwrapFeature(f: Feature): Feature {
  const g = f.geometry;
  if (g.type === "Polygon") return { ...f, geometry: { ...g, coordinates: g.coordinates.map(unwrap) } };
  if (g.type === "MultiPolygon") return { ...f, geometry: { ...g, coordinates: g.coordinates.map((p) => p.map(unwrap)) } };
  return f;
}

function unwrapLines(lines: MultiLineString): MultiLineString {
  return { ...lines, coordinates: lines.coordinates.map(unwrap) };
}

const EMPTY: FeatureCollection = { type: "FeatureCollection", features: [] };

export const BASEMAP_COLOURS = {
  sea: "#dce8ee",
  land: "#f7f6f2",
  border: "#c8c3b8",
  coast: "#9fb3bf",
};

export function tileUrl(): string | undefined {
  const url = import.meta.env.VITE_TILE_URL as string | undefined;
  return url && url.trim() ? url.trim() : undefined;
}

/** The style: sea background, optional raster tiles, then land, borders and coastline (filled in by `loadBasemap`). */
export function baseStyle(attribution: string[]): StyleSpecification {
  const tiles = tileUrl();
  const style: StyleSpecification = {
    version: 8,
    name: "turash-offline",
    sources: {
      countries: { type: "geojson", data: EMPTY, attribution: attribution.join(" · ") },
      borders: { type: "geojson", data: EMPTY },
      coasts: { type: "geojson", data: EMPTY },
    },
    layers: [{ id: "sea", type: "background", paint: { "background-color": BASEMAP_COLOURS.sea } }],
  };
  if (tiles) {
    style.sources.tiles = {
      type: "raster",
      tiles: [tiles],
      tileSize: 256,
      attribution: (import.meta.env.VITE_TILE_ATTRIBUTION as string | undefined) ?? "© OpenStreetMap contributors",
    };
    style.layers.push({ id: "tiles", type: "raster", source: "tiles", paint: { "raster-opacity": 0.9 } });
  } else {
    style.layers.push(
      { id: "land", type: "fill", source: "countries", paint: { "fill-color": BASEMAP_COLOURS.land } },
      {
        id: "borders",
        type: "line",
        source: "borders",
        paint: {
          "line-color": BASEMAP_COLOURS.border,
          "line-width": ["interpolate", ["linear"], ["zoom"], 2, 0.5, 8, 1.4],
          "line-dasharray": [3, 2],
        },
      },
      {
        id: "coasts",
        type: "line",
        source: "coasts",
        paint: { "line-color": BASEMAP_COLOURS.coast, "line-width": ["interpolate", ["linear"], ["zoom"], 2, 0.6, 8, 1.6] },
      },
    );
  }
  return style;
}

export const EUROPE_VIEW = { center: [10.5, 51.0] as [number, number], zoom: 3.6 };
