// `npm run build:server`: bundles the gateway's TypeScript (src/ and providers/) into dist/ with
// esbuild. Dependencies stay external (installed by npm next to dist/). Entry points: dist/main.js
// (the CLI, `npm start`, and the cluster children of `start --web-processes`); every module
// the CLI imports lazily becomes a chunk directly in dist/ — flat, so src/resources.ts finds its
// files at the same relative paths from dist/ as from src/. dist/ui is the UI's (npm run build:ui)
// and is left alone. See docs/development.md for why esbuild and not tsc.
import { copyFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const started = Date.now();
// The previous server build only (its chunk names change with every build).
if (existsSync('dist')) {
  for (const name of readdirSync('dist')) if (/\.js(\.map)?$/.test(name)) rmSync(`dist/${name}`);
}
await build({
  // The polled-file parser runs on a worker thread (src/poll/document-parser.ts), which loads its
  // own entry: dist/parse-worker.js, booted by dist/parse-worker-boot.mjs (copied below).
  // Transformations run on their own threads too (src/transform/pool.ts): dist/transform-thread.js,
  // booted by dist/transform-thread-boot.mjs.
  entryPoints: {
    main: 'src/main.ts',
    'parse-worker': 'src/poll/parse-worker.ts',
    'transform-thread': 'src/transform/transform-thread.ts',
  },
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
copyFileSync('src/poll/parse-worker-boot.mjs', 'dist/parse-worker-boot.mjs');
copyFileSync('src/transform/transform-thread-boot.mjs', 'dist/transform-thread-boot.mjs');
process.stdout.write(`build:server: dist/ in ${Date.now() - started} ms\n`);
