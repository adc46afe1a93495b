import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root: the nearest folder above this file with a package.json. Found by walking up
 * rather than by a fixed '../..' so the same code works from src/ (tsx) and from a compiled dist/.
 */
export function packageRoot(from: string = fileURLToPath(import.meta.url)): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`No package.json above ${from}`);
  }
}

/** Where `npm run build:ui` writes the UI: index.html, manifest.json and assets/. */
export const uiDistDir = (root: string = packageRoot()) => join(root, 'dist', 'ui');

/** The UI's sources, bundled by src/ui/build.ts. */
export const uiSourceDir = (root: string = packageRoot()) => join(root, 'src', 'ui', 'app');
