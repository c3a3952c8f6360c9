import * as maplibregl from "maplibre-gl";
import { type GeoJSONSource, type MapMouseEvent } from "maplibre-gl";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { createPortal } from "react-dom";
import type { Site } from "../api";
import { useApi, useSession } from "../app/session";
import { CATEGORIES, categoryColour } from "../categories";
import { ErrorMessage } from "../components/common";
import { SiteSearch } from "../components/SiteSearch";
import { SitePopup } from "../components/SitePopup";
import { km } from "../format";
import { S } from "../i18n";
import { EUROPE_VIEW } from "../map/basemap";
import { circlePolygon, type BBox } from "../map/geo";
import {
  addSiteLayers,
  CLUSTER_LAYER,
  clusterLabels,
  POINT_LAYER,
  setSelectedSite,
  setSites,
  SITE_SOURCE,
  type SiteFeature,
} from "../map/siteLayers";
import { INFERRED_MIN_ZOOM, SiteStore } from "../map/siteStore";
import { TurashMap, type MapLibreMap } from "../map/TurashMap";

type Direction = "all" | "supply" | "demand";

interface RadiusState {
  active: boolean;
  center: [number, number] | null;
  km: number;
}

const RADIUS_SOURCE = "radius";

export function MapPage() {
  const api = useApi();
  const session = useSession();
  const store = useMemo(() => new SiteStore(api), [api]);
  const [map, setMap] = useState<MapLibreMap | null>(null);
  const [version, setVersion] = useState(0);
  const [loading, setLoading] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [categories, setCategories] = useState<Set<string>>(new Set());
  const [direction, setDirection] = useState<Direction>("all");
  const [inferred, setInferred] = useState(false);
  const [zoom, setZoom] = useState(EUROPE_VIEW.zoom);
  const [selected, setSelected] = useState<Site | null>(null);
  const [radius, setRadius] = useState<RadiusState>({ active: false, center: null, km: 25 });
  const [radiusResults, setRadiusResults] = useState<{ sites: Site[]; total: number } | null>(null);
  const [radiusError, setRadiusError] = useState<unknown>(null);
  // Phones start with the map in view and the panel folded away.
  const [panelOpen, setPanelOpen] = useState(() => !window.matchMedia?.("(max-width: 760px)").matches);
  const myOrgs = useMemo(() => new Set(session.organizations.map((o) => o.id)), [session.organizations]);

  const inferredRef = useRef(inferred);
  inferredRef.current = inferred;
  const radiusRef = useRef(radius);
  radiusRef.current = radius;

  // --- data: what the view needs ---------------------------------------------------------------------------------
  const refresh = useCallback(
    async (m: MapLibreMap) => {
      const b = m.getBounds();
      const view: BBox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()];
      setLoading((n) => n + 1);
      try {
        if (await store.ensure(view, { inferred: inferredRef.current, zoom: m.getZoom() })) setVersion((v) => v + 1);
        setError(null);
      } catch (err) {
        setError(err);
      } finally {
        setLoading((n) => n - 1);
      }
    },
    [store],
  );

  const onReady = useCallback(
    (m: MapLibreMap) => {
      addSiteLayers(m);
      // Centre the view in the part of the map the side panel leaves visible.
      if (window.matchMedia?.("(min-width: 761px)").matches) m.setPadding({ left: 360, top: 0, right: 0, bottom: 0 });
      m.addSource(RADIUS_SOURCE, { type: "geojson", data: { type: "FeatureCollection", features: [] } });
      m.addLayer({ id: "radius-fill", type: "fill", source: RADIUS_SOURCE, filter: ["==", ["geometry-type"], "Polygon"], paint: { "fill-color": "#0b7a5b", "fill-opacity": 0.08 } }, CLUSTER_LAYER);
      m.addLayer({ id: "radius-line", type: "line", source: RADIUS_SOURCE, filter: ["==", ["geometry-type"], "Polygon"], paint: { "line-color": "#0b7a5b", "line-width": 2, "line-dasharray": [2, 1.5] } }, CLUSTER_LAYER);
      m.addLayer({ id: "radius-centre", type: "circle", source: RADIUS_SOURCE, filter: ["==", ["geometry-type"], "Point"], paint: { "circle-radius": 5, "circle-color": "#0b7a5b", "circle-stroke-color": "#fff", "circle-stroke-width": 2 } });
      setMap(m);
      void refresh(m);
    },
    [refresh],
  );

  useEffect(() => {
    if (!map) return;
    let timer = 0;
    const onMoveEnd = () => {
      setZoom(map.getZoom());
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void refresh(map), 300);
    };
    map.on("moveend", onMoveEnd);
    const stopLabels = clusterLabels(map);
    return () => {
      window.clearTimeout(timer);
      map.off("moveend", onMoveEnd);
      stopLabels();
    };
  }, [map, refresh]);

  useEffect(() => {
    if (map) void refresh(map);
  }, [inferred, map, refresh]);

  // --- features: sites passing the filters, coloured by the category of their matching flows --------------------
  const features = useMemo(() => {
    void version;
    const out: SiteFeature[] = [];
    const filtering = categories.size > 0 || direction !== "all";
    for (const site of store.sites.values()) {
      const counts = new Map<string, number>();
      let n = 0;
      for (const f of store.flowsOf(site.id)) {
        if (f.inferred && !inferred) continue;
        if (direction !== "all" && f.direction !== direction) continue;
        const cat = f.category ?? "none";
        if (categories.size > 0 && !categories.has(cat)) continue;
        counts.set(cat, (counts.get(cat) ?? 0) + 1);
        n++;
      }
      if (filtering && n === 0) continue;
      let cat = "none";
      let best = 0;
      for (const [c, k] of counts) if (k > best) [cat, best] = [c, k];
      out.push({
        type: "Feature",
        geometry: { type: "Point", coordinates: [site.lon, site.lat] },
        properties: { id: site.id, name: site.name, cat, mine: myOrgs.has(site.organization_id) ? 1 : 0, flows: n },
      });
    }
    return out;
  }, [store, version, categories, direction, inferred, myOrgs]);

  useEffect(() => {
    if (map) setSites(map, features);
  }, [map, features]);

  const legend = useMemo(() => {
    const counts = new Map<string, number>();
    for (const f of features) counts.set(f.properties.cat, (counts.get(f.properties.cat) ?? 0) + 1);
    return counts;
  }, [features]);

  // --- interaction ------------------------------------------------------------------------------------------------
  const select = useCallback(
    (site: Site, fly = false) => {
      setSelected(site);
      if (fly && map) map.flyTo({ center: [site.lon, site.lat], zoom: Math.max(map.getZoom(), 9.5), essential: true });
    },
    [map],
  );

  useEffect(() => {
    if (!map) return;
    const onClick = (event: MapMouseEvent) => {
      if (radiusRef.current.active) {
        setRadius((r) => ({ ...r, center: [event.lngLat.lng, event.lngLat.lat] }));
        return;
      }
      const hits = map.queryRenderedFeatures(event.point, { layers: [CLUSTER_LAYER, POINT_LAYER] });
      const hit = hits[0];
      if (!hit) return;
      if (hit.layer.id === CLUSTER_LAYER) {
        const clusterId = hit.properties?.cluster_id as number;
        void (map.getSource(SITE_SOURCE) as GeoJSONSource)
          .getClusterExpansionZoom(clusterId)
          .then((z) => map.easeTo({ center: (hit.geometry as GeoJSON.Point).coordinates as [number, number], zoom: z + 0.2 }))
          .catch(() => undefined);
        return;
      }
      const site = store.sites.get(String(hit.properties?.id));
      if (site) select(site);
    };
    const pointer = () => (map.getCanvas().style.cursor = radiusRef.current.active ? "crosshair" : "pointer");
    const leave = () => (map.getCanvas().style.cursor = radiusRef.current.active ? "crosshair" : "");
    map.on("click", onClick);
    for (const layer of [CLUSTER_LAYER, POINT_LAYER]) {
      map.on("mouseenter", layer, pointer);
      map.on("mouseleave", layer, leave);
    }
    return () => {
      map.off("click", onClick);
      for (const layer of [CLUSTER_LAYER, POINT_LAYER]) {
        map.off("mouseenter", layer, pointer);
        map.off("mouseleave", layer, leave);
      }
    };
  }, [map, store, select]);

  useEffect(() => {
    if (map) setSelectedSite(map, selected?.id ?? null);
  }, [map, selected]);

  // --- popup ---------------------------------------------------------------------------------------------------------
  const [popupNode, setPopupNode] = useState<HTMLDivElement | null>(null);
  useEffect(() => {
    if (!map || !selected) {
      setPopupNode(null);
      return;
    }
    const node = document.createElement("div");
    const popup = new maplibregl.Popup({ maxWidth: "340px", offset: 12, focusAfterOpen: false, className: "site-popup" })
      .setLngLat([selected.lon, selected.lat])
      .setDOMContent(node)
      .addTo(map);
    const onClose = () => setSelected((s) => (s?.id === selected.id ? null : s));
    popup.on("close", onClose);
    setPopupNode(node);
    return () => {
      popup.off("close", onClose);
      popup.remove();
    };
  }, [map, selected]);

  // --- radius tool ---------------------------------------------------------------------------------------------------
  useEffect(() => {
    if (!map) return;
    const source = map.getSource(RADIUS_SOURCE) as GeoJSONSource | undefined;
    if (!radius.center) {
      source?.setData({ type: "FeatureCollection", features: [] });
      return;
    }
    source?.setData({
      type: "FeatureCollection",
      features: [
        circlePolygon(radius.center, radius.km),
        { type: "Feature", properties: {}, geometry: { type: "Point", coordinates: radius.center } },
      ],
    });
    map.getCanvas().style.cursor = radius.active ? "crosshair" : "";
  }, [map, radius]);

  useEffect(() => {
    if (!radius.center || !(radius.km > 0)) {
      setRadiusResults(null);
      return;
    }
    let stale = false;
    const [lon, lat] = radius.center;
    const timer = window.setTimeout(() => {
      api
        .sites({ lat, lon, radius_km: Math.min(2000, radius.km), limit: 200 })
        .then((page) => {
          if (stale) return;
          store.addSites(page.items);
          setRadiusResults({ sites: page.items, total: page.total });
          setRadiusError(null);
        })
        .catch((err) => !stale && setRadiusError(err));
    }, 250);
    return () => {
      stale = true;
      window.clearTimeout(timer);
    };
  }, [api, store, radius.center, radius.km]);

  const toggleCategory = (cat: string) =>
    setCategories((current) => {
      const next = new Set(current);
      if (next.has(cat)) next.delete(cat);
      else next.add(cat);
      return next;
    });

  return (
    <div className={`map-page${panelOpen ? " panel-open" : ""}`} data-state={map && loading === 0 && version > 0 ? "ready" : "loading"}>
      <TurashMap onReady={onReady} attribution={[S.map.attributionSites]} label={S.map.title} className="map-full">
        {loading > 0 && <div className="map-progress" role="progressbar" aria-label={S.map.loading} />}
        <div className="map-legend" aria-label={S.map.legend}>
          <h2 className="legend-title">{S.map.legend}</h2>
          <ul>
            {[...CATEGORIES, "none"].filter((c) => legend.has(c)).map((c) => (
              <li key={c}>
                <span className="dot" style={{ background: categoryColour(c) }} aria-hidden="true" />
                {S.categories[c]} <span className="muted">{legend.get(c)?.toLocaleString("en")}</span>
              </li>
            ))}
            <li>
              <span className="dot dot-ring" aria-hidden="true" />
              {S.map.mine}
            </li>
          </ul>
        </div>
      </TurashMap>

      <button type="button" className="panel-toggle btn btn-small" aria-expanded={panelOpen} aria-controls="map-panel"
        onClick={() => setPanelOpen((o) => !o)}>
        {panelOpen ? S.map.closePanel : S.map.openPanel}
      </button>

      <aside id="map-panel" className={`map-panel${panelOpen ? "" : " collapsed"}`} aria-label={S.map.filters}>
        <SiteSearch onPick={(site) => { store.addSites([site]); setVersion((v) => v + 1); select(site, true); }} />

        <section className="panel-section">
          <h2 className="panel-heading">{S.map.category}</h2>
          <div className="chips" role="group" aria-label={S.map.category}>
            {CATEGORIES.map((c) => (
              <button key={c} type="button" className={`chip${categories.has(c) ? " on" : ""}`} aria-pressed={categories.has(c)}
                onClick={() => toggleCategory(c)}>
                <span className="dot" style={{ background: categoryColour(c) }} aria-hidden="true" />
                {S.categories[c]}
              </button>
            ))}
          </div>
          <h2 className="panel-heading">{S.map.direction}</h2>
          <div className="segmented" role="radiogroup" aria-label={S.map.direction}>
            {(["all", "supply", "demand"] as Direction[]).map((d) => (
              <button key={d} type="button" role="radio" aria-checked={direction === d} className={direction === d ? "on" : ""}
                onClick={() => setDirection(d)}>
                {S.directions[d]}
              </button>
            ))}
          </div>
          <label className="check">
            <input type="checkbox" checked={inferred} onChange={(e) => setInferred(e.target.checked)} />
            {S.map.inferred}
          </label>
          {inferred && zoom < INFERRED_MIN_ZOOM && <p className="hint">{S.map.inferredZoom}</p>}
        </section>

        <section className="panel-section">
          <div className="panel-row">
            <h2 className="panel-heading">{S.map.radiusTool}</h2>
            <button type="button" className={`btn btn-small ${radius.active ? "btn-primary" : "btn-ghost"}`} aria-pressed={radius.active}
              onClick={() => setRadius((r) => ({ ...r, active: !r.active }))}>
              {radius.active ? S.app.close : S.map.radiusTool}
            </button>
          </div>
          {radius.active && (
            <>
              {!radius.center && <p className="hint">{S.map.radiusHint}</p>}
              <div className="radius-controls">
                <label htmlFor="radius-km">{S.map.radiusKm}</label>
                <input id="radius-km" type="range" min={1} max={200} step={1} value={radius.km}
                  onChange={(e) => setRadius((r) => ({ ...r, km: Number(e.target.value) }))} />
                <input aria-label={S.map.radiusKm} className="radius-number" type="number" min={1} max={2000} value={radius.km}
                  onChange={(e) => setRadius((r) => ({ ...r, km: Number(e.target.value) }))} />
                {radius.center && (
                  <button type="button" className="btn btn-small btn-ghost"
                    onClick={() => { setRadius((r) => ({ ...r, center: null })); setRadiusResults(null); }}>
                    {S.map.radiusClear}
                  </button>
                )}
              </div>
              <ErrorMessage error={radiusError} />
              {radiusResults && (
                <div className="radius-results">
                  <p className="muted" role="status">{S.map.radiusResults(radiusResults.total, radius.km)}</p>
                  <ul className="result-list">
                    {radiusResults.sites.map((site) => (
                      <li key={site.id}>
                        <button type="button" className="result" onClick={() => select(site, true)}>
                          <span className="result-name">{site.name}</span>
                          <span className="result-meta">
                            {[site.city, site.country, site.nace && `${S.map.nace} ${site.nace}`].filter(Boolean).join(" · ")}
                          </span>
                          <span className="result-distance">{km(site.distance_km)}</span>
                        </button>
                      </li>
                    ))}
                  </ul>
                </div>
              )}
            </>
          )}
        </section>

        <ErrorMessage error={error} onRetry={map ? () => void refresh(map) : undefined} />
        <p className="panel-footer muted" role="status">
          {S.map.sitesInView(store.sites.size, store.flowCount)}
        </p>
      </aside>

      {popupNode && selected && createPortal(<SitePopup site={selected} />, popupNode)}
      {selected && <span className="sr-only" role="status">{selected.name}</span>}
    </div>
  );
}
