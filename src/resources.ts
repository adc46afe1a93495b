import { fileURLToPath } from 'node:url';

// Files the gateway reads at run time, located from this module. It sits directly in src/ and, once
// built, its code sits directly in dist/ (scripts/build-server.mjs keeps every chunk flat there), so
// the same relative paths hold for both: package.json and migrations/ one level up. (The UI finds
// dist/ui through src/ui/paths.ts.)
const at = (relative: string) => fileURLToPath(new URL(relative, import.meta.url));

/** The committed drizzle-kit migrations. */
export const MIGRATIONS_DIR = at('../migrations');
/** The package's own package.json (for the CLI's --version). */
export const PACKAGE_JSON = at('../package.json');
/** Sample provider payloads for `trigger` (providers/samples/README.md says where each comes from). */
export const SAMPLES_DIR = at('../providers/samples');
/** Where the build puts what it makes (dist/ once built; src/ holds none of it). */
export const BUILD_DIR = at('.');
