import { defineConfig } from "vite";

// Built into the Python package, which serves it under /ui/ (chalicelib/console/routes.py).
// base "./": the page's <base href> (rewritten by the server per stage) anchors every URL.
export default defineConfig({
  base: "./",
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: "../chalicelib/console/static",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    target: "es2022",
    modulePreload: { polyfill: false },
    chunkSizeWarningLimit: 700, // the editor chunk (CodeMirror) loads only on the test case page
  },
});
