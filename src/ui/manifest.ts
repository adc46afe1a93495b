import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { uiDistDir } from './paths';

/** dist/ui/manifest.json, written by src/ui/build.ts and read by src/ui/routes.ts. */
export interface UiManifest {
  /** uiSourceHash() of the sources this was built from: the tests rebuild when it differs. */
  source_hash: string;
  /** Every file under assets/ with its content type; nothing else is served. */
  assets: Record<string, string>;
}

/** The manifest of the current build, or null when the UI has not been built. */
export function readUiManifest(outDir: string = uiDistDir()): UiManifest | null {
  try {
    return JSON.parse(readFileSync(join(outDir, 'manifest.json'), 'utf8')) as UiManifest;
  } catch {
    return null;
  }
}
