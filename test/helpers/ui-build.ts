import { buildUi, uiSourceHash } from '../../src/ui/build';
import { readUiManifest } from '../../src/ui/manifest';

/**
 * vitest globalSetup: builds the UI bundle (dist/ui) once before the tests when it is missing or
 * was built from other sources, so every gateway a test starts serves the current UI.
 */
export default async function setup(): Promise<void> {
  if (readUiManifest()?.source_hash === uiSourceHash()) return;
  const started = performance.now();
  await buildUi();
  console.log(`UI bundle rebuilt for the tests in ${Math.round(performance.now() - started)} ms`);
}
