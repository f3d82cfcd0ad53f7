// Builds the console (index.html), GraphiQL (graphiql.html) and copies Redoc's standalone bundle, all into the
// Python package (app/console_assets) so `pip install` needs no Node and no page asks another host for anything.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig, type Plugin } from "vite";

const require = createRequire(import.meta.url);
const __dirname = dirname(fileURLToPath(import.meta.url));

// Files shipped exactly as their maintainers published them on npm (no rebundling): Redoc's standalone bundle, and
// GraphiQL's UMD build with React and the explorer plugin. GraphiQL's ESM build pulls in CommonJS CodeMirror
// through dynamic imports, which Rollup laid out in a different order from one build to the next; the published
// UMD files keep the shipped build reproducible byte for byte (tests/test_console_build.py).
const COPIED: [string, string][] = [
  ["react/umd/react.production.min.js", "assets/vendor/react.production.min.js"],
  ["react-dom/umd/react-dom.production.min.js", "assets/vendor/react-dom.production.min.js"],
  ["graphiql/graphiql.min.js", "assets/vendor/graphiql.min.js"],
  ["@graphiql/plugin-explorer/dist/index.umd.js", "assets/vendor/graphiql-plugin-explorer.umd.js"],
  ["redoc/bundles/redoc.standalone.js.LICENSE.txt", "assets/redoc.standalone.js.LICENSE.txt"],
];

function vendorFiles(): Plugin {
  return {
    name: "vendor-files",
    generateBundle() {
      for (const [from, to] of COPIED)
        this.emitFile({ type: "asset", fileName: to, source: readFileSync(resolve(__dirname, "node_modules", from)) });
      const file = require.resolve("redoc/bundles/redoc.standalone.js");
      // Its only request to another host: the "powered by" logo in the side menu. A data: URL that is no
      // image makes Redoc hide it (its onError does), so the docs page asks no one but us for anything.
      const source = readFileSync(file, "utf8").replace("https://cdn.redoc.ly/redoc/logo-mini.svg", "data:,");
      this.emitFile({ type: "asset", fileName: "assets/redoc.standalone.js", source });
    },
  };
}

// Two builds, one entry each, dynamic imports inlined (no chunk boundaries to vary): `npm run build` runs the
// console, then GraphiQL's small entry script.
const entry = process.env.IG_ENTRY === "graphiql" ? "graphiql" : "index";

export default defineConfig({
  root: resolve(__dirname),
  base: "/",
  esbuild: { jsx: "automatic", jsxImportSource: "preact", legalComments: "none" },
  plugins: entry === "index" ? [vendorFiles()] : [],
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
