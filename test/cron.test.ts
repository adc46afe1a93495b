import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logger';
import { scheduleCron, type CronSchedule } from '../src/cron';
import { DAY_MS as DAY, restoreClock, stepClock } from './helpers/clock';
import { waitFor } from './helpers/gateway';

// The schedules of the worker, polls and retention (src/cron.ts) when the wall clock steps, as NTP
// does on a machine that booted without a real-time clock or a VM that resumed: node-cron 4.6's own
// scheduler walked every missed slot on the event loop (a 30-day step had not finished in 2 minutes).

const logger = createLogger('silent');

/** Records the wall-clock time of every run; `next(n)` resolves once n runs happened in all. */
function recorder(work: () => Promise<void> = async () => {}) {
  const runs: number[] = [];
  const waiting: { n: number; resolve: () => void }[] = [];
  let running = 0;
  let mostAtOnce = 0;
  return {
    runs,
    get mostAtOnce() {
      return mostAtOnce;
    },
    run: async () => {
      runs.push(Date.now());
      running += 1;
      mostAtOnce = Math.max(mostAtOnce, running);
      try {
        await work();
      } finally {
        running -= 1;
      }
      for (const w of waiting.filter((w) => runs.length >= w.n)) w.resolve();
    },
    next: (n: number) =>
      runs.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ n, resolve })),
  };
}

/** Resolves once the wall clock passed `ms`. */
const clockPast = (ms: number) => waitFor(() => Date.now() > ms, 10_000, 'the clock to pass');

describe('cron schedules (node-cron expressions, our timer)', () => {
  let schedule: CronSchedule | undefined;
  afterEach(() => {
    schedule?.stop();
    restoreClock();
  });

  it('a wall clock stepped 30 days forward runs the schedule once and goes on every second', async () => {
    const every = recorder();
    schedule = scheduleCron('* * * * * *', every.run, { name: 'test', logger });
    await every.next(1);
    const stepped = Date.now() + 30 * DAY;
    stepClock(30 * DAY);
    await every.next(3);
    const after = every.runs.slice(1);
    expect(after.every((at) => at >= stepped - 1000)).toBe(true);
    // The missed slots are skipped, not caught up: runs stay one per second.
    expect(every.runs.length).toBeLessThan(10);
  });

  it('a wall clock stepped a day back goes on at the next match, not a day later', async () => {
    const every = recorder();
    schedule = scheduleCron('* * * * * *', every.run, { name: 'test', logger });
    await every.next(1);
    stepClock(-DAY);
    await every.next(3);
    expect(every.runs[2]!).toBeLessThan(every.runs[0]! - DAY + 60_000);
  });

  it('a match that comes while the previous run is still going is skipped', async () => {
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    let first = true;
    const every = recorder(async () => {
      if (first) {
        first = false;
        await blocked;
      }
    });
    schedule = scheduleCron('* * * * * *', every.run, { name: 'test', logger });
    while (every.runs.length === 0) await new Promise((r) => setTimeout(r, 20));
    // Two more matches pass while the first run is blocked.
    await clockPast(every.runs[0]! + 2500);
    expect(every.runs).toHaveLength(1);
    release();
    await every.next(2);
    expect(every.mostAtOnce).toBe(1);
  });

  it('stop() ends the schedule', async () => {
    const every = recorder();
    schedule = scheduleCron('* * * * * *', every.run, { name: 'test', logger });
    await every.next(1);
    schedule.stop();
    const stoppedAt = Date.now();
    const runs = every.runs.length;
    await clockPast(stoppedAt + 2500);
    expect(every.runs).toHaveLength(runs);
  });

  it('an invalid expression is refused', () => {
    expect(() => scheduleCron('not a cron', async () => {}, { name: 'test', logger })).toThrow();
  });
});
