// Entry of the transform thread (see pool.ts). The gateway runs its TypeScript sources through
// tsx in development and tests, and a worker thread does not inherit the parent's loader hooks, so
// this plain-JavaScript file registers tsx before importing the TypeScript entry.
import { workerData } from 'node:worker_threads';

if (workerData.entry.endsWith('.ts')) {
  const { register } = await import('tsx/esm/api');
  register();
}
await import(workerData.entry);
