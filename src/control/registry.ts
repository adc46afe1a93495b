import type { Logger } from 'pino';
import { parseSourceEntry, type SourceSecret } from '../config/file';
import type { ProcessingConfig } from '../config/processing';
import { sourceBodyLimitProblem } from '../config/body-limit-range';
import { sourceRetryProblem } from '../config/retry-range';
import type { Database } from '../db/client';
import { listenOn } from '../db/listen';
import { describeError } from '../errors';
import type { RateLimit } from '../ingest/rate-limit';
import { pushSourceFrom, type PushSource } from '../ingest/sources';
import type { BackoffPolicy } from '../worker/backoff';
import { open, type Keyring } from './crypto';
import type { ControlStore, SecretRow, SourceRow } from './store';

export const CONTROL_CHANNEL = 'gateway_control';

/** A source as ingest and the API see it right now. */
export interface RegisteredSource extends PushSource {
  /** "file": GATEWAY_CONFIG or env, read-only at runtime; "database": managed through the API/CLI. */
  managedBy: 'file' | 'database';
  /** Its events are stored but not processed until resumed (database sources only). */
  paused: boolean;
  /** The stored row and its secrets' metadata (database sources only). */
  row?: SourceRow;
  secretRows?: readonly SecretRow[];
  /** Its destinations, retry, schemas and masks (database sources only; file ones are wired at start). */
  processing?: ProcessingConfig;
}

export interface RegistryDeps {
  database: Database;
  store: ControlStore;
  /** Sources from GATEWAY_CONFIG and env: always present, and their names reserved. */
  fileSources: readonly PushSource[];
  /** Poll source names: reserved too (one name, one source in webhook_events). */
  reservedNames: readonly string[];
  keyring?: Keyring;
  defaultRateLimit?: RateLimit;
  /** RETRY_BASE_MS and RETRY_MAX_MS, which fill a stored source's retry half it leaves out. */
  retryDefaults?: BackoffPolicy;
  /** INGEST_BODY_BUDGET_BYTES, which a stored source's max_body_bytes should not exceed. */
  ingestBodyBudgetBytes?: number;
  logger: Logger;
  /** Backstop re-read interval: converges even when a NOTIFY is lost (database outage). */
  refreshMs: number;
  /** Re-read with the sources, on the same NOTIFY and interval (the destination catalog). */
  alsoLoad?: { load(): Promise<void> };
  /** Called after each successful re-read (wakes the worker: a resumed destination's events are due). */
  onRefreshed?: () => void;
}

/**
 * The in-memory snapshot of every push source, merged from the file/env (fixed) and the database
 * (re-read on each "gateway_control" NOTIFY and every `refreshMs`). Ingest looks a source up here
 * per request; a refresh swaps the whole map at once, so a request sees one consistent snapshot.
 */
export function createRegistry(deps: RegistryDeps) {
  const fixed = new Map<string, RegisteredSource>(
    deps.fileSources.map((s) => [s.name, { ...s, managedBy: 'file', paused: false }]),
  );
  let snapshot = new Map(fixed);
  let running: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;
  let unlisten: (() => Promise<void>) | undefined;
  const logged = new Set<string>();

  /** Logs one problem once per source (a refresh every few seconds must not flood the log). */
  const problem = (
    key: string,
    fields: Record<string, unknown>,
    message: string,
    level: 'error' | 'warn' = 'error',
  ) => {
    if (logged.has(key)) return;
    logged.add(key);
    deps.logger[level](fields, message);
  };

  /** A stored source as it is served; undefined (logged once) when its entry is not valid. */
  const entryFor = (row: SourceRow, secretRows: SecretRow[]): RegisteredSource | undefined => {
    try {
      const config = parseSourceEntry(
        { ...row.spec, name: row.name, provider: row.provider },
        {},
        { requireSecrets: false },
      );
      // The API refuses this now; one saved before still serves (a start-up must not fail over it),
      // and behaves as it always did: every retry waits about max_ms.
      const retryProblem = deps.retryDefaults && sourceRetryProblem(config.processing.retry, deps.retryDefaults);
      if (retryProblem) {
        problem(
          `retry:${row.name}:${row.version}`,
          { source: row.name, problem: retryProblem },
          'a stored source retries at its max_ms from the first retry on; update its retry to make base_ms count',
          'warn',
        );
      }
      // Saved before INGEST_BODY_BUDGET_BYTES was lowered: served, since the bodies that fit the
      // budget still do; the larger ones are refused 503 until one of the two values changes.
      const bodyProblem =
        deps.ingestBodyBudgetBytes !== undefined &&
        sourceBodyLimitProblem(config.processing.maxBodyBytes, deps.ingestBodyBudgetBytes);
      if (bodyProblem) {
        problem(
          `body:${row.name}:${row.version}`,
          { source: row.name, problem: bodyProblem },
          'a stored source accepts bodies the ingest body budget cannot hold; update its max_body_bytes or INGEST_BODY_BUDGET_BYTES',
          'warn',
        );
      }
      const clear: SourceSecret[] = [];
      for (const s of secretRows) {
        try {
          const value = open(deps.keyring!, row.name, s);
          clear.push(s.notAfter ? { value, notAfter: s.notAfter } : { value });
        } catch (err) {
          // Without its key a secret cannot verify anything: the others still do (fail closed).
          problem(
            `secret:${s.id}:${s.keyId}`,
            {
              source: row.name,
              secretId: s.id,
              keyId: s.keyId,
              problem: deps.keyring ? describeError(err) : 'no master key',
            },
            'a stored secret cannot be decrypted; set the master key that sealed it',
          );
        }
      }
      return {
        ...pushSourceFrom({ ...config, secrets: clear }, deps.defaultRateLimit),
        managedBy: 'database',
        paused: row.paused,
        row,
        secretRows,
        processing: config.processing,
      };
    } catch (err) {
      problem(
        `spec:${row.name}:${row.version}`,
        { source: row.name, problem: describeError(err) },
        'a stored source is not valid; it is not served',
      );
      return undefined;
    }
  };

  const build = (rows: SourceRow[], secrets: SecretRow[]): Map<string, RegisteredSource> => {
    const next = new Map(fixed);
    for (const row of rows) {
      if (fixed.has(row.name)) {
        problem(
          `shadowed:${row.name}`,
          { source: row.name },
          'a database source has the name of a file source; the file source is served',
        );
        continue;
      }
      const entry = entryFor(
        row,
        secrets.filter((s) => s.source === row.name),
      );
      if (entry) next.set(row.name, entry);
    }
    return next;
  };

  const load = async () => {
    const [rows, secrets] = await Promise.all([
      deps.store.listSources(),
      deps.store.listSecrets(),
      deps.alsoLoad?.load(),
    ]);
    snapshot = build(rows, secrets);
  };

  /** Re-reads the database; calls during a refresh coalesce into one more. */
  const refresh = async (): Promise<void> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      do {
        again = false;
        try {
          await load();
          deps.onRefreshed?.();
        } catch (err) {
          // Keep serving the last snapshot; the next notification or backstop tick retries.
          deps.logger.warn({ cause: err }, 'source registry refresh failed; serving the previous snapshot');
        }
      } while (again);
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  /**
   * A source not in the snapshot, read from the database and added to it. Instances learn of
   * another's changes by NOTIFY, a few milliseconds after its commit: a source just created on
   * one instance is then unknown to the others, which answered 404 to a pause or delete sent
   * right after the create. Read by name (the row and its secrets), only for a name not served.
   */
  const lookup = async (name: string): Promise<RegisteredSource | undefined> => {
    const known = snapshot.get(name);
    if (known || deps.reservedNames.includes(name)) return known;
    const [row, secretRows] = await Promise.all([deps.store.getSource(name), deps.store.listSecrets(name)]);
    const entry = row && entryFor(row, secretRows);
    if (!entry) return undefined;
    // A refresh that swapped the source in meanwhile is kept; one that had not heard of it yet
    // (its read began before the create) is given it, until the create's own NOTIFY re-reads all.
    if (!snapshot.has(name)) snapshot = new Map(snapshot).set(name, entry);
    return snapshot.get(name);
  };

  return {
    resolve: (name: string): RegisteredSource | undefined => snapshot.get(name),
    lookup,
    all: (): RegisteredSource[] => [...snapshot.values()],
    isReserved: (name: string) => fixed.has(name) || deps.reservedNames.includes(name),
    refresh,

    /** First load, then LISTEN and the backstop timer. */
    async start(): Promise<void> {
      await load();
      const onNotify = () => void refresh();
      // Re-read after a reconnect too: notifications sent during the outage are lost.
      unlisten = await listenOn(deps.database, CONTROL_CHANNEL, onNotify, onNotify);
      timer = setInterval(onNotify, deps.refreshMs);
      timer.unref();
    },

    async stop(): Promise<void> {
      clearInterval(timer);
      await unlisten?.().catch(() => {});
      await running;
    },
  };
}

export type Registry = ReturnType<typeof createRegistry>;
