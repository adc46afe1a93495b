#!/usr/bin/env node
// The CLI entry for `npx webhook-gateway …`: loads the TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
