import cluster, { type Worker } from 'node:cluster';
import type { Logger } from 'pino';
import { childName } from './metrics-messages';
import { createMetricsRelay } from './metrics-relay';
import { createPrimaryMetrics } from './primary-metrics';

export interface SupervisorOptions {
  /** Web processes to run; they share the listening port (node:cluster hands connections round-robin). */
  webProcesses: number;
  /** Arguments of `start` for every child, without --role (the supervisor adds it). */
  childArgs: string[];
  logger: Logger;
  /** How long children get to stop after SIGTERM before they are killed (their own shutdown timeout + margin). */
  stopTimeoutMs: number;
}

type ChildRole = 'web' | 'worker';

interface Slot {
  role: ChildRole;
  index: number;
  child?: Worker;
  /** Set once the child said it started: a child that dies before that is a start-up failure. */
  startedAt?: number;
  restarts: number;
}

/**
 * `start --web-processes N`: a primary process with no database of its own runs N web processes and
 * one worker process, restarts a child that dies (with backoff), and on SIGTERM/SIGINT stops them
 * all gracefully. A child that fails before it ever started (bad configuration, port in use,
 * database down) stops the whole group with its exit code instead of restarting in a loop.
 */
export function superviseCluster(options: SupervisorOptions): Promise<number> {
  const { logger } = options;
  const slots: Slot[] = [
    ...Array.from({ length: options.webProcesses }, (_, index): Slot => ({ role: 'web', index, restarts: 0 })),
    { role: 'worker', index: 0, restarts: 0 },
  ];
  let stopping = false;
  let resolveDone!: (code: number) => void;
  const done = new Promise<number>((resolve) => (resolveDone = resolve));
  let exitCode = 0;

  // A scrape of /metrics on PORT answers for every child (src/ops/metrics-cluster.ts): the web
  // process that got it asks here for the others' metrics, and gets the primary's own (restarts)
  // with them. Only started children are asked.
  const primaryMetrics = createPrimaryMetrics(slots.map((s) => childName(s.role, s.index)));
  const metricsRelay = createMetricsRelay({
    logger,
    own: primaryMetrics.snapshot,
    others: (requester) =>
      slots
        .filter((s) => s.child && s.child !== requester && s.startedAt !== undefined && s.child.isConnected())
        .map((s) => ({ name: childName(s.role, s.index), child: s.child! })),
  });

  const fork = (slot: Slot) => {
    const name = childName(slot.role, slot.index);
    cluster.setupPrimary({
      args: [...options.childArgs, '--role', slot.role, '--web-processes', '1', '--cluster-process', name],
    });
    const child = cluster.fork();
    slot.child = child;
    slot.startedAt = undefined;
    child.on('message', (message: unknown) => {
      if ((message as { gateway?: string })?.gateway === 'started') slot.startedAt = performance.now();
      else metricsRelay.handle(child, message);
    });
    child.once('exit', (code, signal) => {
      metricsRelay.exited(child);
      onExit(slot, child, code, signal);
    });
  };

  const onExit = (slot: Slot, child: Worker, code: number | null, signal: string | null) => {
    if (slot.child !== child) return;
    slot.child = undefined;
    const who = { role: slot.role, index: slot.index, pid: child.process.pid, code, signal };
    if (stopping) {
      if (slots.every((s) => !s.child)) finish();
      return;
    }
    if (slot.startedAt === undefined) {
      logger.error(who, 'a gateway process failed to start; stopping the others');
      exitCode = code && code > 0 ? code : 1;
      stop('child failed to start');
      return;
    }
    // A child that ran for a while restarts at once; one that keeps dying waits longer each time.
    // Monotonic: a wall clock stepped back must not make a long-lived child look like a crash loop.
    slot.restarts = performance.now() - slot.startedAt > 30_000 ? 0 : slot.restarts + 1;
    const delayMs = Math.min(100 * 2 ** slot.restarts, 5_000);
    logger.warn({ ...who, restartInMs: delayMs }, 'a gateway process died; restarting it');
    setTimeout(() => {
      if (stopping) return;
      primaryMetrics.restarted(childName(slot.role, slot.index));
      fork(slot);
    }, delayMs);
  };

  const finish = () => {
    logger.info({ exitCode }, 'all gateway processes stopped');
    resolveDone(exitCode);
  };

  const stop = (reason: string) => {
    if (stopping) return;
    stopping = true;
    const running = slots.filter((s) => s.child);
    logger.info(
      { reason, waitingFor: running.map((s) => `${s.role} ${s.child!.process.pid}`) },
      `shutting down: waiting for ${running.length} gateway processes to stop`,
    );
    if (running.length === 0) return finish();
    for (const slot of running) slot.child!.process.kill('SIGTERM');
    setTimeout(() => {
      for (const slot of slots) {
        if (!slot.child) continue;
        logger.error(
          { role: slot.role, pid: slot.child.process.pid },
          'a gateway process did not stop in time; killing it',
        );
        slot.child.process.kill('SIGKILL');
      }
    }, options.stopTimeoutMs).unref();
  };

  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  logger.info({ webProcesses: options.webProcesses, workerProcesses: 1 }, 'starting gateway processes');
  for (const slot of slots) fork(slot);
  return done;
}

/** In a child of the supervisor: tells it this process has started (no-op in a lone process). */
export function reportStarted(): void {
  if (cluster.isWorker) process.send?.({ gateway: 'started' });
}
