// Run by test/heap-growth.test.ts in a process of its own: limitHeapGrowth(percent from argv),
// then a server-like load — a steady live set and objects that live long enough to be promoted,
// then die — and print the largest heap V8 allowed itself and how many full collections it ran.
import { getHeapStatistics } from 'node:v8';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { limitHeapGrowth } from '../../src/gateway/heap-growth';

limitHeapGrowth(Number(process.argv[2]));
let fullCollections = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries())
    if ((entry as unknown as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)
      fullCollections++;
}).observe({ entryTypes: ['gc'] });

const live = Array.from({ length: 200_000 }, (_, i) => ({ i, text: `${'x'.repeat(50)}${i}` }));
const inFlight: unknown[] = new Array(50_000);
let peak = 0;
for (let n = 0; n < 3_000_000; n++) {
  inFlight[n % inFlight.length] = { n, text: `${'y'.repeat(40)}${n}` };
  if (n % 10_000 === 0) peak = Math.max(peak, getHeapStatistics().total_heap_size);
}
// GC entries are delivered asynchronously.
setTimeout(() => {
  process.stdout.write(`${JSON.stringify({ peakHeapMb: peak / 1048576, fullCollections, live: live.length })}\n`);
}, 200);
