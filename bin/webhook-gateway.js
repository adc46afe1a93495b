#!/usr/bin/env node
// The CLI entry for `npx webhook-gateway …`: runs the compiled build in dist/ (built by `npm install`;
// `npm run build` rebuilds it).
import { existsSync } from 'node:fs';

const main = new URL('../dist/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('webhook-gateway is not built: run `npm install` (or `npm run build`) in its folder first.\n');
  process.exit(2);
}
await import(main.href);
