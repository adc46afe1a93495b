// `npm run build:server`: bundles the gateway's TypeScript (src/ and providers/) into dist/ with
// esbuild. Dependencies stay external (installed by npm next to dist/). Entry points: dist/main.js
// (the CLI, `npm start`, and the cluster children of `start --web-processes`); every module
// the CLI imports lazily becomes a chunk directly in dist/ — flat, so src/resources.ts finds its
// files at the same relative paths from dist/ as from src/. dist/ui is the UI's (npm run build:ui)
// and is left alone. See docs/development.md for why esbuild and not tsc.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const started = Date.now();
// The previous server build only (its chunk names change with every build).
if (existsSync('dist')) {
  for (const name of readdirSync('dist')) if (/\.js(\.map)?$/.test(name)) rmSync(`dist/${name}`);
}
await build({
  entryPoints: { main: 'src/main.ts' },
  outdir: 'dist',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: true,
  chunkNames: '[name]-[hash]',
  logLevel: 'warning',
  // Some dependencies are CommonJS and call require(); ESM output has no require of its own.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
process.stdout.write(`build:server: dist/ in ${Date.now() - started} ms\n`);
