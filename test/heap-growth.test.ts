import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config/env';

const run = promisify(execFile);

/** The child's heap under a promoting load, with limitHeapGrowth(percent) applied at run time. */
async function heapUnderLoad(percent: number): Promise<{ peakHeapMb: number; fullCollections: number }> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', 'test/helpers/heap-growth-child.ts', String(percent)],
    {
      timeout: 60_000,
    },
  );
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

describe('limitHeapGrowth (HEAP_GROWING_PERCENT)', () => {
  it('set at run time, it bounds the heap under a promoting load; 0 leaves V8 alone', async () => {
    const v8Default = await heapUnderLoad(0);
    const limited = await heapUnderLoad(50);
    // Measured: ~340 MB peak with V8's own factor, ~167 MB with 50 %.
    expect(limited.peakHeapMb, JSON.stringify({ v8Default, limited })).toBeLessThan(v8Default.peakHeapMb * 0.75);
    expect(limited.fullCollections).toBeGreaterThan(v8Default.fullCollections);
  }, 120_000);
});

describe('HEAP_GROWING_PERCENT', () => {
  it('defaults to 50, takes 0 for V8 own factor, and refuses what is not a whole percent from 0 to 300, naming it', () => {
    expect(loadConfig({}).heapGrowingPercent).toBe(50);
    expect(loadConfig({ HEAP_GROWING_PERCENT: '0' }).heapGrowingPercent).toBe(0);
    for (const bad of ['-1', '301', '12.5', 'lots']) {
      let message = '';
      try {
        loadConfig({ HEAP_GROWING_PERCENT: bad });
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        message = (err as Error).message;
      }
      expect(message, bad).toContain('HEAP_GROWING_PERCENT');
    }
  });
});
