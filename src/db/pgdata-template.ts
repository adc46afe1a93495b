import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { create, extract, list } from 'tar';
import { BUILD_DIR } from '../resources';

/**
 * A new DATA_DIR is the output of PGlite's initdb, and that output is the same on every machine for
 * one PGlite version: `npm run build` runs initdb once (src/db/pgdata-template-build.ts) and keeps
 * the result, as a gzipped tar, next to the compiled gateway. A first start unpacks it instead of
 * running initdb: measured on the 2-core machine, initdb 5.3–5.7 s of CPU (11–12 s of wall time
 * when the machine was busy), unpacking with node:fs under 1 s (docs/performance.md, *Start time*;
 * PGlite's own `loadDataDir` writes through its WASM file system: 2.8–3.8 s). Without a template for
 * the installed PGlite (started from the sources, or PGlite changed since the build) initdb runs as
 * before.
 */
export function pgdataTemplatePath(dir = BUILD_DIR): string | undefined {
  const path = join(dir, templateFileName());
  return existsSync(path) ? path : undefined;
}

/** The template's file name: the PGlite version that made it, so another version never uses it. */
export function templateFileName(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  const { version } = JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as {
    version: string;
  };
  return `pgdata-template-${version}.tar.gz`;
}

/** PG_VERSION marks a directory as an initialised cluster: packed last, so it is unpacked last. */
const MARKER = 'PG_VERSION';

/**
 * Packs the data directory `dataDir` (a cluster initdb made, shut down cleanly) into `file`: every
 * path listed, each directory before what it holds, the marker last (node-tar would otherwise add
 * a directory's contents after every path it was given).
 */
export async function packPgdataTemplate(dataDir: string, file: string): Promise<void> {
  const paths = readdirSync(dataDir, { recursive: true, encoding: 'utf8' })
    .filter((path) => path !== MARKER)
    .sort();
  await create({ file, cwd: dataDir, gzip: { level: 9 }, portable: true, noDirRecurse: true }, [...paths, MARKER]);
}

// node-tar reads the file 16 MB at a time by default: the first start's idle RSS was 252 MB (185 MB
// reopened; target 250). Read 64 KiB at a time, list and unpack added ~43 MB instead of ~100 MB in
// a standalone measurement, in the same time (1.2–1.3 s).
const READ_SIZE = 64 * 1024;

/**
 * Unpacks the template into `dataDir`. The archive is read through once before anything is written:
 * a damaged one, one without its marker last, or one with a path that would land outside the
 * directory returns false and leaves the directory to initdb. The marker is written last: a start
 * killed half-way leaves a directory the next start unpacks again.
 */
export async function restorePgdataTemplate(template: string, dataDir: string): Promise<boolean> {
  const paths: string[] = [];
  try {
    await list({ file: template, strict: true, maxReadSize: READ_SIZE, onReadEntry: (e) => void paths.push(e.path) });
  } catch {
    return false;
  }
  const escapes = (path: string) => isAbsolute(path) || path.split('/').includes('..');
  if (paths.at(-1) !== MARKER || paths.some(escapes)) return false;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  await extract({ file: template, cwd: dataDir, strict: true, preserveOwner: false, maxReadSize: READ_SIZE });
  return true;
}
