import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

// vitest globalSetup: tests that run the compiled gateway (dist/, what `npm start` runs) get a build
// of the current sources, built once before any test file starts (never by two files at once).
export default function setup(): void {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  execFileSync(process.execPath, ['scripts/ensure-build.mjs'], { cwd: root, stdio: 'inherit' });
}
