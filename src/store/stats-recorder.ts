import type { Logger } from 'pino';
import { addHistogram, emptyHistogram, latencyBucket } from './latency-histogram';
import type { MinuteCounts, StatsMinutes } from './stats-minute';

export interface StatsRecorderOptions {
  minutes: StatsMinutes;
  logger: Logger;
  /** Configured source names: each gets a backlog sample (0 when nothing is due), so the line has no gaps. */
  sources: () => readonly string[];
  /** How often counts are added to the table. */
  flushMs?: number;
  /** How often the backlog is sampled (at a flush). */
  backlogEveryMs?: number;
  now?: () => number;
}

/** Minutes × sources kept while the database is unreachable; older minutes are dropped first. */
const MAX_PENDING = 10_000;

/**
 * Counts in memory what the charts show — requests received and rejected (rejections are not
 * stored anywhere else), events completed and failed with their latency — per minute and source,
 * and adds them to stats_minute every `flushMs` in one statement. Counting in memory keeps the
 * hot paths free of extra writes; the price is that a crash loses the last few seconds of counts.
 * Keys are configured source names × minutes, so a flood of bad requests cannot grow the map.
 */
export function createStatsRecorder(options: StatsRecorderOptions) {
  const flushMs = options.flushMs ?? 10_000;
  const backlogEveryMs = options.backlogEveryMs ?? 30_000;
  const now = options.now ?? Date.now;
  let pending = new Map<string, MinuteCounts>();
  let timer: NodeJS.Timeout | undefined;
  let lastBacklog = 0;
  let flushing: Promise<void> = Promise.resolve();

  const entry = (source: string, at = now()): MinuteCounts => {
    const minute = Math.floor(at / 60_000) * 60_000;
    const key = `${minute}\u0000${source}`;
    let counts = pending.get(key);
    if (!counts) {
      counts = {
        minute: new Date(minute),
        source,
        received: 0,
        completed: 0,
        failed: 0,
        rejected: 0,
        latency: null,
        backlog: null,
      };
      pending.set(key, counts);
    }
    return counts;
  };

  async function sampleBacklog() {
    if (now() - lastBacklog < backlogEveryMs) return;
    lastBacklog = now();
    const due = await options.minutes.dueBySource();
    for (const source of new Set([...options.sources(), ...due.keys()])) {
      const counts = entry(source);
      counts.backlog = Math.max(counts.backlog ?? 0, due.get(source) ?? 0);
    }
  }

  async function flushOnce() {
    try {
      await sampleBacklog();
    } catch (err) {
      options.logger.warn({ err }, 'backlog sample for the charts failed');
    }
    const batch = pending;
    pending = new Map();
    try {
      await options.minutes.add([...batch.values()]);
    } catch (err) {
      options.logger.warn({ err, minutes: batch.size }, 'chart counts not written; kept for the next try');
      for (const [key, counts] of batch) merge(key, counts);
      while (pending.size > MAX_PENDING) pending.delete(pending.keys().next().value!);
    }
  }

  function merge(key: string, from: MinuteCounts) {
    const into = pending.get(key);
    if (!into) return void pending.set(key, from);
    into.received += from.received;
    into.completed += from.completed;
    into.failed += from.failed;
    into.rejected += from.rejected;
    if (from.latency) addHistogram((into.latency ??= emptyHistogram()), from.latency);
    if (from.backlog !== null) into.backlog = Math.max(into.backlog ?? 0, from.backlog);
  }

  return {
    /** A request was accepted and stored (duplicates are not counted). */
    received(source: string) {
      entry(source).received += 1;
    },
    /** A request was refused (bad signature, too large, rate limited, …). */
    rejected(source: string) {
      entry(source).rejected += 1;
    },
    /** An event finished for good: completed (with its receive→completed latency) or failed. */
    finished(source: string, outcome: 'completed' | 'failed', latencyMs: number) {
      const counts = entry(source);
      if (outcome === 'failed') return void (counts.failed += 1);
      counts.completed += 1;
      (counts.latency ??= emptyHistogram())[latencyBucket(latencyMs)]! += 1;
    },
    /** Writes what is counted now; flushes never overlap. */
    flush(): Promise<void> {
      flushing = flushing.then(flushOnce);
      return flushing;
    },
    start() {
      timer ??= setInterval(() => void this.flush(), flushMs);
      timer.unref();
    },
    /** Stops the timer and writes the last counts. */
    async stop() {
      clearInterval(timer);
      timer = undefined;
      await this.flush();
    },
  };
}

export type StatsRecorder = ReturnType<typeof createStatsRecorder>;
