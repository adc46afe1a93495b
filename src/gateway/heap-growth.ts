import { setFlagsFromString } from 'node:v8';

/**
 * Caps how far V8 lets the heap grow past the data still alive before it runs a full collection:
 * the limit after each full collection becomes live × (1 + percent/100). V8 picks a factor of up
 * to 4 on its own, which is right for a short script and wrong for a server whose garbage is
 * promoted steadily: under sustained ingest at 50 connections the gateway keeps ~32 MB alive,
 * promotes ~15 MB/s of in-flight request data that dies soon after, and V8 let the old space
 * grow to ~130 MB before collecting it, so RSS peaked at 225–233 MB. With 50 % it peaked at
 * 146–148 MB (and 157–160 MB at 200 connections, from 229–237), at one full collection every
 * ~0.5 s instead of every ~8 s, and no change in CPU per acknowledged request beyond the noise
 * of side-by-side runs (docs/performance.md, *Memory*). 25 % saved another ~8 MB at twice the full
 * collections.
 *
 * The flag is read at every collection, so setting it at run time works; the test
 * test/heap-growth.test.ts keeps checking that it does on the Node we run. 0 leaves V8's factor
 * (and a `--heap-growing-percent` given to node) alone.
 */
export function limitHeapGrowth(percent: number): void {
  if (percent > 0) setFlagsFromString(`--heap-growing-percent=${Math.trunc(percent)}`);
}
