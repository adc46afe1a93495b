import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Database } from '../db/client';
import { describeDatabaseError } from '../db/errors';
import type { PollRunStatus, PollTrigger } from '../db/schema-poll';
import type { EventStore } from '../store/events';
import type { PollSourceOptions } from './config';
import { createDocumentParser, type DocumentParser } from './document-parser';
import { runPollJob } from './job';
import { createPollLocks, type ClaimedRun, type LockHolder, type PollInstance, type RunProgress } from './lock-sql';
import type { PullSource } from './source';
import { createPullSource, type PullSourceDeps } from './sources';
import type { OpenSocket } from '../outbound/guarded-socket';

export interface PollRunnerDeps {
  database: Database;
  store: EventStore;
  sources: readonly PollSourceOptions[];
  logger: Logger;
  /** Attempts each stored event gets (the worker's MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Called with each newly stored event's id, to wake the worker at once. */
  onStored?: (eventId: number) => void;
  /** Written to the lock and the run; defaults to this host and process. */
  instance?: PollInstance;
  /** Parses polled files on a worker thread; one is created (and closed by stop()) when omitted. */
  parser?: DocumentParser;
  /** Builds a source's client; defaults to createPullSource. */
  pullSource?: (options: PollSourceOptions, deps: PullSourceDeps) => PullSource;
  fetch?: typeof fetch;
  /** Opens SFTP connections (the gateway's outbound guard); ssh2 connects by itself when omitted. */
  openSocket?: OpenSocket;
  now?: () => number;
}

export interface RunSummary extends Omit<RunProgress, 'errorDetails'> {
  runId: number;
  source: string;
  status: Exclude<PollRunStatus, 'running'>;
  error: string | null;
}

export type TriggerResult =
  | { status: 'started'; source: string; runId: number; done: Promise<RunSummary> }
  | { status: 'busy'; source: string; holder?: LockHolder }
  | { status: 'unknown_source'; source: string }
  | { status: 'stopping'; source: string };

/**
 * Starts poll runs. A run first claims its source's lock in the database (so two instances, or a
 * schedule and a manual trigger, never poll one source at once), then runs in the background
 * with a heartbeat that extends the lease and records progress, and finally records its outcome
 * and releases the lock. Whatever triggers runs (cron, HTTP) goes through `trigger`.
 */
export function createPollRunner(deps: PollRunnerDeps) {
  const instance = deps.instance ?? { hostname: hostname(), pid: process.pid };
  const locks = createPollLocks(deps.database);
  const makeSource = deps.pullSource ?? createPullSource;
  const parser = deps.parser ?? createDocumentParser({ logger: deps.logger.child({ component: 'poll-parser' }) });
  const sources = new Map(
    deps.sources.map((options) => [
      options.name,
      {
        options,
        source: makeSource(options, {
          logger: deps.logger,
          fetch: deps.fetch,
          openSocket: deps.openSocket,
          now: deps.now,
        }),
      },
    ]),
  );
  const active = new Map<number, { controller: AbortController; done: Promise<RunSummary> }>();
  let stopping = false;

  async function execute(
    run: ClaimedRun,
    options: PollSourceOptions,
    source: PullSource,
    controller: AbortController,
    trigger: PollTrigger,
  ): Promise<RunSummary> {
    const log = deps.logger.child({ component: 'poll', source: run.source, runId: run.runId });
    const startedAt = Date.now();
    const progress: RunProgress = { listed: 0, stored: 0, duplicates: 0, acknowledged: 0, errors: 0, errorDetails: [] };
    log.info({ trigger, kind: options.kind, directory: options.directory }, 'poll run started');

    let lockLost = false;
    const heartbeat = setInterval(
      () => {
        locks
          .heartbeat(run, options.lease_seconds, progress)
          .then((held) => {
            if (held || controller.signal.aborted) return;
            lockLost = true;
            controller.abort(new Error('the lock was taken over after this run stopped heart-beating'));
          })
          // A failed heartbeat is not a lost lock: the lease (and the next beat) decide.
          .catch((err: unknown) => log.error({ err }, 'poll heartbeat failed'));
      },
      Math.max(250, (options.lease_seconds * 1000) / 3),
    );
    heartbeat.unref();

    let fatal: string | undefined;
    try {
      const session = await source.connect(controller.signal);
      try {
        fatal = (
          await runPollJob({
            session,
            options,
            store: deps.store,
            parser,
            maxAttempts: deps.maxAttempts,
            progress,
            signal: controller.signal,
            logger: log,
            onStored: deps.onStored,
          })
        ).fatal;
      } finally {
        await session.close().catch((err: unknown) => log.warn({ err }, 'closing the poll session failed'));
      }
    } catch (err) {
      fatal = describeDatabaseError(err) ?? (err instanceof Error ? err.message : String(err));
    } finally {
      clearInterval(heartbeat);
    }

    const aborted = controller.signal.aborted;
    const status = runStatus(aborted, fatal, progress);
    const reason = controller.signal.reason;
    const error = aborted ? `aborted: ${reason instanceof Error ? reason.message : String(reason)}` : (fatal ?? null);
    const recorded = await locks.finish(run, status, progress, error).catch((err: unknown) => {
      log.error({ err }, 'could not record the poll run; its lock is freed when the lease expires');
      return true;
    });
    const { errorDetails: _details, ...counts } = progress;
    const summary: RunSummary = {
      runId: run.runId,
      source: run.source,
      status: recorded ? status : 'abandoned',
      error,
      ...counts,
    };
    const level = status === 'succeeded' ? 'info' : 'warn';
    log[level](
      { ...counts, status: summary.status, error, durationMs: Date.now() - startedAt, lockLost },
      'poll run finished',
    );
    return summary;
  }

  return {
    /** Configured source names, in configuration order. */
    get sourceNames(): string[] {
      return [...sources.keys()];
    },

    /** The options of a configured source. */
    options(name: string): PollSourceOptions | undefined {
      return sources.get(name)?.options;
    },

    /**
     * Claims the source's lock and starts a run in the background. 'busy' when another run (here or
     * in another instance) holds the lock. Resolves as soon as the run has started.
     */
    async trigger(name: string, trigger: PollTrigger): Promise<TriggerResult> {
      const entry = sources.get(name);
      if (!entry) return { status: 'unknown_source', source: name };
      if (stopping) return { status: 'stopping', source: name };
      const run = await locks.claim(name, instance, trigger, entry.options.lease_seconds);
      if (!run) return { status: 'busy', source: name, holder: await locks.holder(name) };
      const controller = new AbortController();
      const done = execute(run, entry.options, entry.source, controller, trigger).finally(() =>
        active.delete(run.runId),
      );
      active.set(run.runId, { controller, done });
      return { status: 'started', source: name, runId: run.runId, done };
    },

    /** Aborts running runs (files in flight are re-listed next time) and waits for them to record it. */
    async stop(): Promise<void> {
      stopping = true;
      const running = [...active.values()];
      for (const { controller } of running) controller.abort(new Error('the gateway is shutting down'));
      await Promise.allSettled(running.map((r) => r.done));
      if (!deps.parser) await parser.close();
    },

    get running(): number {
      return active.size;
    },
  };
}

export type PollRunner = ReturnType<typeof createPollRunner>;

/**
 * aborted (shutdown or lost lock) before anything else; a run-level failure is `failed` when it
 * took nothing and `partial` when files listed before the failure were still taken; file problems
 * alone make it `partial`.
 */
function runStatus(
  aborted: boolean,
  fatal: string | undefined,
  progress: RunProgress,
): Exclude<PollRunStatus, 'running' | 'abandoned'> {
  if (aborted) return 'aborted';
  if (fatal) return progress.listed === 0 ? 'failed' : 'partial';
  return progress.errors > 0 ? 'partial' : 'succeeded';
}
