// Builds the console (index.html), GraphiQL (graphiql.html) and copies Redoc's standalone bundle, all into the
// Python package (app/console_assets) so `pip install` needs no Node and no page asks another host for anything.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const require = createRequire(import.meta.url);
const __dirname = dirname(fileURLToPath(import.meta.url));

function redocStandalone(): Plugin {
  return {
    name: "redoc-standalone",
    generateBundle() {
      const file = require.resolve("redoc/bundles/redoc.standalone.js");
      // Its only request to another host: the "powered by" logo in the side menu. A data: URL that is no
      // image makes Redoc hide it (its onError does), so the docs page asks no one but us for anything.
      const source = readFileSync(file, "utf8").replace("https://cdn.redoc.ly/redoc/logo-mini.svg", "data:,");
      this.emitFile({ type: "asset", fileName: "assets/redoc.standalone.js", source });
      this.emitFile({ type: "asset", fileName: "assets/redoc.standalone.js.LICENSE.txt",
                      source: readFileSync(file + ".LICENSE.txt") });
    },
  };
}

// Two builds, one entry each, every dynamic import inlined: with several entries Rollup split GraphiQL's lazy
// CodeMirror addons into chunks whose boundaries varied from build to build, and the shipped build must be
// reproducible byte for byte (tests/test_console_build.py). `npm run build` runs the console, then GraphiQL.
const entry = process.env.IG_ENTRY === "graphiql" ? "graphiql" : "index";

export default defineConfig({
  root: resolve(__dirname),
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact", legalComments: "none" },
  plugins: entry === "index" ? [redocStandalone()] : [],
  build: {
    outDir: resolve(__dirname, "../app/console_assets"),
    emptyOutDir: entry === "index",
    target: "es2020",
    sourcemap: false,
    chunkSizeWarningLimit: 3000,
    rollupOptions: {
      input: { [entry]: resolve(__dirname, `${entry}.html`) },
      output: { inlineDynamicImports: true },
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning); // React's "use client" means nothing here
      },
    },
  },
});
