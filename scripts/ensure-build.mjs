// `prepare` (after npm install / npm ci) and `prestart`: runs `npm run build` when dist/ is missing or
// older than the sources, so `npm install && npm start` stays two commands and an edited source is
// never started from a stale build. A production install (npm ci --omit=dev, as in the Docker image)
// has no build tools and runs the dist/ it was given: nothing to do there.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const STAMP = 'dist/.built';
const SOURCES = ['src', 'providers', 'scripts', 'package.json', 'package-lock.json'];

const hasBuildTools = () => {
  try {
    createRequire(import.meta.url).resolve('esbuild');
    return true;
  } catch {
    return false;
  }
};

/** Newest modification time among the files under `path`. */
function newest(path) {
  if (!existsSync(path)) return 0;
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))));
}

const builtAt = existsSync(STAMP) ? statSync(STAMP).mtimeMs : 0;
if (!hasBuildTools()) {
  if (builtAt === 0 && !existsSync('dist/main.js')) {
    process.stderr.write(
      'dist/ is missing and the build tools are not installed: run `npm install` (with dev dependencies), then `npm run build`.\n',
    );
    process.exit(1);
  }
} else if (builtAt < Math.max(...SOURCES.map(newest))) {
  // npm_execpath is npm itself when a lifecycle script runs this; `npm` from PATH otherwise.
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  const run = spawnSync(npm[0], [...npm.slice(1), 'run', 'build'], {
    stdio: 'inherit',
    shell: npm.length === 1 && process.platform === 'win32',
  });
  if (run.status !== 0) process.exit(run.status ?? 1);
  writeFileSync(STAMP, `${new Date().toISOString()}\n`);
}
