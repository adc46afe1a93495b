import { z } from 'zod';
import { MAX_TIMER_MS, timerMs, wholeNumber } from './fields';

// The process itself: logging, the config file's path, shutdown, web processes and the heap.

export const runtimeVariables = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Path of a JSON or YAML file listing push sources (see src/config/file.ts). */
  GATEWAY_CONFIG: z.string().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: timerMs(25_000),
  /** How long a stopping web process keeps serving while /readyz says 503, so a load balancer drains it. */
  SHUTDOWN_DRAIN_MS: wholeNumber(z.number().min(0).max(MAX_TIMER_MS)).default(0),
  /** `start --web-processes` overrides it. */
  WEB_PROCESSES: wholeNumber(z.number().min(1).max(64)).default(1),
  /** How far V8 lets the heap grow past the live data before a full collection (src/gateway/heap-growth.ts); 0 = V8's own. */
  HEAP_GROWING_PERCENT: wholeNumber(z.number().max(300)).default(50),
});

export type RuntimeEnv = z.infer<typeof runtimeVariables>;

export interface RuntimeSettings {
  logLevel: RuntimeEnv['LOG_LEVEL'];
  shutdownTimeoutMs: number;
  /**
   * On SIGTERM/SIGINT, how long a process that serves ingest keeps accepting requests while its
   * /readyz answers 503, before it stops accepting (0: stops at once).
   */
  shutdownDrainMs: number;
  /** Web processes `start` runs (node:cluster) besides the worker; 1 = web and worker in one process. */
  webProcesses: number;
  /** V8's heap growing factor for the `start` process, as 1 + percent/100; 0 leaves V8's own. */
  heapGrowingPercent: number;
}

/** The process settings from their validated variables (the config file is read by loadConfig). */
export function runtimeSettings(e: RuntimeEnv): RuntimeSettings {
  return {
    logLevel: e.LOG_LEVEL,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    webProcesses: e.WEB_PROCESSES,
    heapGrowingPercent: e.HEAP_GROWING_PERCENT,
  };
}
