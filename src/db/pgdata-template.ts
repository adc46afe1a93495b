import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { BUILD_DIR } from '../resources';
import { readArchive, unpackArchive } from './pgdata-archive';

/**
 * A new DATA_DIR is the output of PGlite's initdb, and that output is the same on every machine for
 * one PGlite version: `npm run build` runs initdb once (src/db/pgdata-template-build.ts) and keeps
 * the result next to the compiled gateway. A first start unpacks it instead of running initdb:
 * measured on the 2-core machine, initdb 5.3–5.7 s of CPU (11–12 s of wall time when the machine
 * was busy), unpacking 0.6–0.9 s (docs/performance.md, *Start time*). Without a template for the
 * installed PGlite (started from the sources, or PGlite changed since the build) initdb runs as before.
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

/**
 * Unpacks the template into `dataDir`. The archive is read through once before anything is written:
 * an unreadable one returns false and leaves the directory to initdb. PG_VERSION, which marks a data
 * directory as initialised, is written last: a start killed half-way leaves a directory the next
 * start unpacks again.
 */
export async function restorePgdataTemplate(template: string, dataDir: string): Promise<boolean> {
  let markers = 0;
  try {
    await readArchive(template, {
      entry: ({ path }) => {
        if (path === MARKER) markers += 1;
      },
      data: () => {},
    });
  } catch {
    return false;
  }
  if (markers !== 1) return false;
  await unpackArchive(template, dataDir, MARKER);
  return true;
}

const MARKER = 'PG_VERSION';
