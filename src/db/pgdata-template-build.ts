import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { packPgdataTemplate, pgdataTemplatePath, templateFileName } from './pgdata-template';

// `npm run build:pgdata` (part of `npm run build`): the output of PGlite's initdb, once, as
// dist/pgdata-template-<PGlite version>.tar.gz (src/db/pgdata-template.ts). Skipped when that file
// exists: it depends on the PGlite version only, which its name carries.
const DIST = fileURLToPath(new URL('../../dist', import.meta.url));
const started = Date.now();
mkdirSync(DIST, { recursive: true });
// Another PGlite version's template is never read again.
for (const name of readdirSync(DIST)) {
  if (name.startsWith('pgdata-template-') && name !== templateFileName()) rmSync(join(DIST, name));
}
if (pgdataTemplatePath(DIST)) {
  process.stdout.write('build:pgdata: template is up to date\n');
} else {
  const dir = mkdtempSync(join(tmpdir(), 'pgdata-template-'));
  try {
    // initdb, then a clean shutdown: the files a first start would find after its own initdb.
    await (await PGlite.create(dir)).close();
    const target = join(DIST, templateFileName());
    await packPgdataTemplate(dir, `${target}.tmp`);
    renameSync(`${target}.tmp`, target);
    const kib = Math.round(statSync(target).size / 1024);
    process.stdout.write(`build:pgdata: ${target} (${kib} KiB) in ${Date.now() - started} ms\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
