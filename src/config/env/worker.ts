import cron from 'node-cron';
import { z } from 'zod';
import { positiveInt, wholeNumber } from './fields';

// The worker: its schedule, batch, concurrency, leases, hand-off and retries.

export const workerVariables = z.object({
  WORKER_CRON: z
    .string()
    .default('* * * * * *')
    .refine((expr) => cron.validate(expr), 'not a valid cron expression'),
  WORKER_BATCH_SIZE: positiveInt(50),
  // 50, not 10: a claim is one statement whatever its size, and the worker claims at most as many
  // events as it has free slots; at 10 the default `npm start` completed 2,100–2,600 events/s under a
  // 50-connection burst and fell behind, at 50 it kept up at 4,200–4,400/s (docs/performance.md).
  WORKER_CONCURRENCY: positiveInt(50),
  WORKER_LEASE_SECONDS: positiveInt(60),
  /**
   * 'on': events stored by this process are claimed for its own worker by their insert
   * (docs/worker.md, *Hand-off*). Off by default until a test run that hung at 100 % CPU in a
   * gateway test with a faked Date (2026-12-03, cause not found) is understood.
   */
  WORKER_HANDOFF: z.enum(['on', 'off']).default('on'),
  MAX_ATTEMPTS: positiveInt(8),
  RETRY_BASE_MS: positiveInt(5_000),
  RETRY_MAX_MS: positiveInt(60 * 60 * 1000),
  // A worker process's own listener (health, readiness, metrics). No random port (0): a prober and
  // a scraper must be told where to look.
  WORKER_HTTP_PORT: wholeNumber(
    z
      .number()
      .min(1, { error: 'must be a port from 1 to 65535 (0, a random port, cannot be probed or scraped)' })
      .max(65535, { error: 'must be a port from 1 to 65535' }),
  ).optional(),
});

export type WorkerEnv = z.infer<typeof workerVariables>;

export interface WorkerSettings {
  worker: {
    cron: string;
    batchSize: number;
    concurrency: number;
    leaseSeconds: number;
    /** New events stored by this process are claimed for its own worker by their insert (web + worker roles). */
    handOff: boolean;
    maxAttempts: number;
    retryBaseMs: number;
    retryMaxMs: number;
    /**
     * Where a process running the worker without the web server (`--role worker`, the worker of
     * `--web-processes`) serves /healthz, /readyz and /metrics; undefined = no listener.
     */
    httpPort?: number;
  };
}

/** The worker settings from their validated variables. */
export function workerSettings(e: WorkerEnv): WorkerSettings {
  return {
    worker: {
      cron: e.WORKER_CRON,
      batchSize: e.WORKER_BATCH_SIZE,
      concurrency: e.WORKER_CONCURRENCY,
      leaseSeconds: e.WORKER_LEASE_SECONDS,
      handOff: e.WORKER_HANDOFF === 'on',
      maxAttempts: e.MAX_ATTEMPTS,
      retryBaseMs: e.RETRY_BASE_MS,
      retryMaxMs: e.RETRY_MAX_MS,
      httpPort: e.WORKER_HTTP_PORT,
    },
  };
}

/**
 * RETRY_BASE_MS above RETRY_MAX_MS: every delay is capped at the maximum, so the base an operator
 * set was silently never used (each retry waited about RETRY_MAX_MS).
 */
export function retryRangeProblems(e: WorkerEnv): string[] {
  return e.RETRY_BASE_MS > e.RETRY_MAX_MS
    ? [
        `RETRY_BASE_MS (${e.RETRY_BASE_MS}) must not exceed RETRY_MAX_MS (${e.RETRY_MAX_MS}): the first retry waits about RETRY_BASE_MS and later ones grow up to RETRY_MAX_MS; raise RETRY_MAX_MS or lower RETRY_BASE_MS`,
      ]
    : [];
}
