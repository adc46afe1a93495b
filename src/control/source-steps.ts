import { parseSourceEntry, SourcesFileError, type SourceConfig } from '../config/file';
import { sourceBodyLimitProblem } from '../config/body-limit-range';
import { sourceRetryProblem } from '../config/retry-range';
import type { BackoffPolicy } from '../worker/backoff';
import { GatewayError, badRequest, notFound } from '../errors';
import { versionMismatch } from '../ops/if-match';
import type { Registry } from './registry';
import type { ControlStore, Guarded } from './store';
import { sourceView, type SourceView } from './view';

/** What changed, for the audit log: views carry fingerprints, never a secret. */
export interface Change {
  action: string;
  source: string;
  before: SourceView | null;
  after: SourceView | null;
}

export const conflict = (code: string, message: string) => new GatewayError(409, code, message);

/**
 * The steps the source service's operations are made of: find a source, refuse a file one, turn a
 * guarded statement's outcome into the right error, validate an entry, and record a change.
 */
export function createSourceSteps({
  store,
  registry,
  retryDefaults,
  ingestBodyBudgetBytes,
}: {
  store: ControlStore;
  registry: Registry;
  /** RETRY_BASE_MS and RETRY_MAX_MS, which fill a source's retry half it leaves out. */
  retryDefaults?: BackoffPolicy;
  /** INGEST_BODY_BUDGET_BYTES, which a source's max_body_bytes must not exceed. */
  ingestBodyBudgetBytes?: number;
}) {
  // Sources are found with registry.lookup: one created on another instance a moment ago, before
  // this one heard of it, is read from the database rather than answered 404.
  const view = async (name: string): Promise<SourceView | null> => {
    const source = await registry.lookup(name);
    if (!source) return null;
    const held = source.paused ? ((await store.onHold()).get(name) ?? 0) : 0;
    return sourceView(source, held);
  };

  /** A database source, or the right error for a file one or none. */
  const managed = async (name: string) => {
    const source = await registry.lookup(name);
    if (!source) throw notFound('source_not_found', `No source named "${name}"`);
    refuseFileSource(name);
    return source;
  };
  /** 409 for a name this instance serves from its file or environment. */
  const refuseFileSource = (name: string) => {
    if (registry.resolve(name)?.managedBy === 'file') {
      throw conflict(
        'managed_by_file',
        `Source "${name}" comes from GATEWAY_CONFIG or the environment: change it there and restart the gateway ` +
          '(the API, the CLI and `webhook-gateway apply` manage only sources stored in the database)',
      );
    }
  };

  const guarded = <T>(name: string, result: Guarded<T>): T => {
    if (result.ok) return result.value;
    if (result.reason === 'missing') throw notFound('source_not_found', `No source named "${name}"`);
    throw versionMismatch(`Source "${name}"`, result.version);
  };

  const validate = (entry: Record<string, unknown>, requireSecrets: boolean): SourceConfig => {
    // Inline destinations carry a signing secret, which would sit in clear in the stored spec:
    // runtime destinations are stored encrypted and attached instead (src/control/destination-*.ts).
    if (entry.destinations !== undefined) {
      throw badRequest(
        'invalid_source',
        'destinations: create them with POST /api/destinations (or a "destinations:" list in apply -f) and attach this source there',
      );
    }
    let config: SourceConfig;
    try {
      config = parseSourceEntry(entry, {}, { requireSecrets });
    } catch (err) {
      if (err instanceof SourcesFileError) throw badRequest('invalid_source', err.message);
      throw err;
    }
    // Only new input is refused: a stored source saved before this check still loads (registry.ts).
    const retryProblem = retryDefaults && sourceRetryProblem(config.processing.retry, retryDefaults);
    if (retryProblem) throw badRequest('invalid_source', retryProblem);
    const bodyProblem =
      ingestBodyBudgetBytes !== undefined &&
      sourceBodyLimitProblem(config.processing.maxBodyBytes, ingestBodyBudgetBytes);
    if (bodyProblem) throw badRequest('invalid_source', bodyProblem);
    return config;
  };

  const change = async (action: string, name: string, before: SourceView | null, mutate: () => Promise<unknown>) => {
    await mutate();
    await registry.refresh();
    return { action, source: name, before, after: await view(name) } satisfies Change;
  };

  return { view, managed, refuseFileSource, guarded, validate, change };
}

export type SourceSteps = ReturnType<typeof createSourceSteps>;
