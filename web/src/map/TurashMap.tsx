import * as maplibregl from "maplibre-gl";
import { type Map as MapLibreMap } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?url";
import { useEffect, useRef, useState, type ReactNode } from "react";
import { S } from "../i18n";
import { baseStyle, EUROPE_VIEW, loadBasemap } from "./basemap";

maplibregl.setWorkerUrl(workerUrl);

function webglAvailable(): boolean {
  try {
    const canvas = document.createElement("canvas");
    return !!(canvas.getContext("webgl2") || canvas.getContext("webgl"));
  } catch {
    return false;
  }
}

export interface TurashMapProps {
  /** Called once the style (with the basemap) is loaded; the map is ready for sources and layers. */
  onReady: (map: MapLibreMap) => void;
  attribution?: string[];
  center?: [number, number];
  zoom?: number;
  className?: string;
  label: string;
  children?: ReactNode;
  /** Show the zoom / compass buttons. */
  controls?: boolean;
}

/** A MapLibre map on the offline basemap. Unmounting removes it; a browser without WebGL gets a message. */
export function TurashMap({ onReady, attribution = [], center, zoom, className, label, children, controls = true }: TurashMapProps) {
  const container = useRef<HTMLDivElement>(null);
  const ready = useRef(onReady);
  ready.current = onReady;
  const [failed, setFailed] = useState(false);

  useEffect(() => {
    if (!container.current) return;
    if (!webglAvailable()) {
      setFailed(true);
      return;
    }
    let map: MapLibreMap;
    try {
      map = new maplibregl.Map({
        container: container.current,
        style: baseStyle([S.map.attributionBase, ...attribution]),
        center: center ?? EUROPE_VIEW.center,
        zoom: zoom ?? EUROPE_VIEW.zoom,
        minZoom: 1.5,
        maxZoom: 17,
        attributionControl: false,
        dragRotate: false,
        pitchWithRotate: false,
        fadeDuration: 0,
      });
    } catch {
      setFailed(true);
      return;
    }
    map.touchZoomRotate.disableRotation();
    map.keyboard.enable();
    if (controls) map.addControl(new maplibregl.NavigationControl({ showCompass: false }), "top-right");
    map.addControl(new maplibregl.ScaleControl({ unit: "metric" }), "bottom-right");
    map.addControl(new maplibregl.AttributionControl({ compact: true }), "bottom-right");
    map.getCanvas().setAttribute("aria-label", label);
    let alive = true;
    map.on("load", () => {
      void loadBasemap().then((base) => {
        if (!alive) return;
        (map.getSource("countries") as maplibregl.GeoJSONSource | undefined)?.setData(base.countries);
        (map.getSource("borders") as maplibregl.GeoJSONSource | undefined)?.setData(base.borders);
        (map.getSource("coasts") as maplibregl.GeoJSONSource | undefined)?.setData(base.coasts);
      });
      ready.current(map);
    });
    const resize = new ResizeObserver(() => map.resize());
    resize.observe(container.current);
    return () => {
      alive = false;
      resize.disconnect();
      map.remove();
    };
    // The map is created once per mount; later prop changes are applied by the page through the map itself.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  return (
    <div className={`map-frame ${className ?? ""}`}>
      <div ref={container} className="map-canvas" role="region" aria-label={label} />
      {failed && <div className="map-fallback" role="status">{S.app.noWebgl}</div>}
      {children}
    </div>
  );
}

export type { MapLibreMap };
