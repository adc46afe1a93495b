import { parseX12 } from '../../src/edi/x12';
import { numeric } from '../../src/edi/x12-values';
import { trimTrailingSlashes } from '../../src/poll/remote-path';
import { x12PurchaseOrders } from '../../test/helpers/poll-x12';

// The polled-file parser: throughput on a large 850 file, proof that it is linear (4× the input
// takes about 4× the time), and the two inputs that used to be quadratic. Runs in this process;
// no database involved.

export interface X12Run {
  /** MB/s parsing a file of about 4 MB (median of 3). */
  mbPerSec: number;
  /** Parse time of the 4 MB file over that of the 1 MB one (linear ≈ 4). */
  growth4x: number;
  /** ms for a 150 KB run of digits ending in a letter (the old pattern took 9.7 s). */
  digitsMs: number;
  /** ms to trim a path holding 100,000 slashes. */
  slashesMs: number;
}

const file = (orders: number) =>
  x12PurchaseOrders(Array.from({ length: orders }, (_, i) => ({ poNumber: `PO-${i + 1}` })));

function timeMs(fn: () => unknown, runs = 3): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    fn();
    times.push(performance.now() - start);
  }
  return times.sort((a, b) => a - b)[Math.floor(runs / 2)]!;
}

export function measureX12(): X12Run {
  const small = file(1250);
  const large = file(5000);
  timeMs(() => parseX12(small), 1); // warm-up
  const smallMs = timeMs(() => parseX12(small));
  const largeMs = timeMs(() => parseX12(large));
  return {
    mbPerSec: large.length / 1e6 / (largeMs / 1000),
    growth4x: largeMs / smallMs,
    digitsMs: timeMs(() => numeric({ tag: 'PO1', elements: ['1', `${'9'.repeat(150_000)}x`] }, 2)),
    slashesMs: timeMs(() => trimTrailingSlashes(`out/${'/'.repeat(100_000)}x`)),
  };
}
