import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Metafile } from 'esbuild';
import type { UiManifest } from './manifest';
import { packageRoot, uiDistDir, uiSourceDir } from './paths';

// `npm run build:ui`: bundles src/ui/app (Preact + TSX, see docs/adr/0006-ui-architecture.md) into
// dist/ui with esbuild — one entry script and stylesheet, lazily loaded chunks (the charting
// library), index.html pointing at them, and manifest.json naming every file routes.ts may serve.
// Asset names carry a content hash, so the gateway can let browsers cache them for good.

/** The libraries bundled into the UI: their versions are part of the source hash. */
const BUNDLED = ['preact', 'preact-iso', 'lossless-json', 'uplot', 'esbuild'];

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

/** A hash of everything the bundle is made from: the app's sources, this script and the libraries' versions. */
export function uiSourceHash(root: string = packageRoot()): string {
  const hash = createHash('sha256');
  for (const file of [...filesUnder(uiSourceDir(root)), fileURLToPath(import.meta.url)]) {
    hash.update(relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  for (const name of BUNDLED) {
    const { version } = JSON.parse(readFileSync(join(root, 'node_modules', name, 'package.json'), 'utf8'));
    hash.update(`${name}@${version}\0`);
  }
  return hash.digest('hex');
}

const typeOf = (file: string) => TYPES[file.slice(file.lastIndexOf('.'))];

/** Builds the UI into outDir (default dist/ui), replacing its previous assets. Returns the manifest. */
export async function buildUi(options: { root?: string; outDir?: string; minify?: boolean } = {}): Promise<UiManifest> {
  const root = options.root ?? packageRoot();
  const outDir = options.outDir ?? uiDistDir(root);
  const source = uiSourceDir(root);
  const assetsDir = join(outDir, 'assets');
  // The manifest goes first and comes back last: a gateway starting mid-build sees "not built".
  rmSync(join(outDir, 'manifest.json'), { force: true });
  rmSync(assetsDir, { recursive: true, force: true });
  mkdirSync(assetsDir, { recursive: true });

  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: join(source, 'main.tsx') },
    outdir: assetsDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    // What the browsers of the last three years run natively (dialog, ES2022 class fields).
    target: ['es2022', 'chrome111', 'firefox111', 'safari16.4'],
    minify: options.minify ?? true,
    entryNames: '[name]-[hash]',
    chunkNames: 'chunks/[name]-[hash]',
    assetNames: '[name]-[hash]',
    jsx: 'automatic',
    jsxImportSource: 'preact',
    tsconfig: join(source, 'tsconfig.json'),
    metafile: true,
    logLevel: 'warning',
    legalComments: 'eof',
  });

  const entry = entryOutputs(result.metafile, root, assetsDir);
  const icon = readFileSync(join(source, 'static', 'icon.svg'));
  const iconName = `icon-${createHash('sha256').update(icon).digest('hex').slice(0, 8)}.svg`;
  writeFileSync(join(assetsDir, iconName), icon);

  const template = readFileSync(join(source, 'index.html'), 'utf8');
  const page = template
    .replace('%ICON%', `/ui/assets/${iconName}`)
    .replace('%STYLE%', `/ui/assets/${entry.css}`)
    .replace('%SCRIPT%', `/ui/assets/${entry.js}`);
  if (/%[A-Z]+%/.test(page)) throw new Error('index.html has a placeholder build.ts does not fill');
  writeFileSync(join(outDir, 'index.html'), page);

  const assets: Record<string, string> = {};
  for (const file of filesUnder(assetsDir)) {
    const name = relative(assetsDir, file).split('\\').join('/');
    const type = typeOf(name);
    if (!type) throw new Error(`build:ui produced ${name}, whose type routes.ts would not know`);
    assets[name] = type;
  }
  const manifest: UiManifest = { source_hash: uiSourceHash(root), assets };
  writeFileSync(join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

function entryOutputs(metafile: Metafile, root: string, assetsDir: string) {
  for (const [path, output] of Object.entries(metafile.outputs)) {
    if (!output.entryPoint) continue;
    const name = (p: string) => relative(assetsDir, join(root, p)).split('\\').join('/');
    if (!output.cssBundle) throw new Error('The UI entry has no stylesheet: main.tsx must import styles/app.css');
    return { js: name(path), css: name(output.cssBundle) };
  }
  throw new Error('esbuild produced no entry script');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const started = performance.now();
  const manifest = await buildUi({ minify: !process.argv.includes('--no-minify') });
  const root = packageRoot();
  const size = Object.keys(manifest.assets).reduce(
    (sum, name) => sum + readFileSync(join(uiDistDir(root), 'assets', name)).length,
    0,
  );
  console.log(
    `UI built into ${relative(root, uiDistDir(root))}: ${Object.keys(manifest.assets).length} files, ` +
      `${(size / 1024).toFixed(1)} KiB, ${Math.round(performance.now() - started)} ms`,
  );
}
