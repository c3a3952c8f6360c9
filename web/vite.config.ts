/// <reference types="vitest/config" />
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import react from "@vitejs/plugin-react";
import { defineConfig, type Plugin } from "vite";

const apiTarget = process.env.TURASH_API_URL ?? "http://127.0.0.1:8800";

/**
 * Emits `sw.js`: a service worker that precaches the app shell (every file of this build) and never touches API
 * responses. Its cache name is a hash of the file list, so each build replaces the previous cache.
 */
function serviceWorker(): Plugin {
  return {
    name: "turash-service-worker",
    apply: "build",
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle)
        .filter((name) => !name.endsWith(".map") && name !== "sw.js")
        .map((name) => `/${name}`);
      const shell = ["/", ...files.filter((f) => f !== "/index.html"), "/index.html"];
      const version = createHash("sha256").update(shell.join("\n")).digest("hex").slice(0, 12);
      const template = readFileSync(fileURLToPath(new URL("./sw-template.js", import.meta.url)), "utf8");
      this.emitFile({
        type: "asset",
        fileName: "sw.js",
        source: template.replace("__VERSION__", version).replace("__SHELL__", JSON.stringify(shell)),
      });
    },
  };
}

export default defineConfig({
  plugins: [react(), serviceWorker()],
  base: "/",
  build: {
    outDir: "../turash/webapp_dist",
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 1600,
    rolldownOptions: {
      output: {
        // Module workers (MapLibre's) get a .js name, which every static server types as JavaScript.
        assetFileNames: (info) =>
          (info.names?.[0] ?? "").endsWith(".mjs") ? "assets/[name]-[hash].js" : "assets/[name]-[hash][extname]",
      },
    },
  },
  server: {
    port: 5173,
    proxy: { "/api": apiTarget, "/openapi.json": apiTarget },
  },
  preview: {
    proxy: { "/api": apiTarget, "/openapi.json": apiTarget },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    css: false,
  },
});
