/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Raster tile URL template for online use, e.g. `https://tile.openstreetmap.org/{z}/{x}/{y}.png`. Unset: offline basemap. */
  readonly VITE_TILE_URL?: string;
  readonly VITE_TILE_ATTRIBUTION?: string;
}

declare module "world-atlas/countries-50m.json" {
  const topology: unknown;
  export default topology;
}

declare module "*?url" {
  const url: string;
  export default url;
}
