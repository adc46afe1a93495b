import type { Logger } from 'pino';
import { describeDatabaseError } from '../db/errors';
import type { PollFileError } from '../db/schema-poll';
import type { EventStore } from '../store/events';
import type { PollSourceOptions } from './config';
import type { DocumentParser } from './document-parser';
import type { RunProgress } from './lock-sql';
import { RemoteFileError, type PullSession, type RemoteFile } from './source';

/** Most file problems kept in one run's error_details (the count is always exact). */
const MAX_ERROR_DETAILS = 50;

export interface PollJobDeps {
  session: PullSession;
  options: PollSourceOptions;
  store: EventStore;
  /** Parses files off the main thread, within options.parse_timeout_ms. */
  parser: DocumentParser;
  /** Attempts each stored event gets (the worker's MAX_ATTEMPTS). */
  maxAttempts: number;
  /** Counters, updated as the job goes (the heartbeat records them). */
  progress: RunProgress;
  signal: AbortSignal;
  logger: Logger;
  /** Called with each newly stored event's id, to wake the worker. */
  onStored?: (eventId: number) => void;
}

/** A run-level failure (connect or listing); files already listed are still taken. */
export interface PollJobResult {
  fatal?: string;
}

/**
 * One poll: list the directory, then take each file with bounded concurrency. Taking a file is
 * download → store → acknowledge, in that order: the remote delete happens only after the event
 * row is committed. A crash in between leaves the file listed; the next run stores it again, the
 * unique (source, webhook_id) turns that into a duplicate, and the file is deleted then. Nothing
 * is lost and nothing is stored twice.
 */
export async function runPollJob(deps: PollJobDeps): Promise<PollJobResult> {
  const { session, options, progress, signal } = deps;
  const files: RemoteFile[] = [];
  let fatal: string | undefined;
  try {
    for await (const file of session.list(signal)) {
      files.push(file);
      progress.listed = files.length;
      if (files.length >= options.max_files_per_run) break;
    }
  } catch (err) {
    if (signal.aborted) return {};
    fatal = describe(err);
    deps.logger.warn({ source: options.name, err: fatal, listed: files.length }, 'listing failed');
  }
  await forEachLimit(files, options.concurrency, signal, (file) => take(deps, file));
  return fatal ? { fatal } : {};
}

async function take(deps: PollJobDeps, file: RemoteFile): Promise<void> {
  const { session, options, progress, signal } = deps;
  const fail = (code: string, err: unknown, eventId?: number) => {
    if (signal.aborted) return; // an interrupted file is not a problem of the file: the next run takes it
    const message = describe(err);
    progress.errors += 1;
    if (progress.errorDetails.length < MAX_ERROR_DETAILS) {
      const detail: PollFileError = {
        path: file.path,
        code: err instanceof RemoteFileError ? err.code : code,
        message,
      };
      if (eventId !== undefined) detail.eventId = eventId;
      progress.errorDetails.push(detail);
    }
    deps.logger.warn(
      { source: options.name, path: file.path, code: err instanceof RemoteFileError ? err.code : code, err: message },
      'poll file problem',
    );
  };

  if (file.refusal) return fail('unsafe_path', new Error(file.refusal));

  let bytes: Buffer;
  try {
    bytes = await session.download(file, options.max_file_bytes, signal);
  } catch (err) {
    return fail('download_failed', err);
  }

  const document = await untilAborted(deps.parser.parse(file, bytes, options.kind, options.parse_timeout_ms), signal);
  // Interrupted while parsing: store nothing; the file stays listed for the next run.
  if (!document) return;
  let eventId: number | undefined;
  try {
    const result = await deps.store.insert({
      source: options.name,
      webhookId: file.path,
      topic: document.topic,
      body: document.body,
      headers: { 'content-type': 'application/json' },
      maxAttempts: deps.maxAttempts,
    });
    if (result.status === 'accepted') {
      eventId = result.id;
      progress.stored += 1;
      deps.onStored?.(result.id);
    } else {
      progress.duplicates += 1;
    }
  } catch (err) {
    return fail('store_failed', err);
  }
  // Stored, but refused as a document: reported, and still acknowledged (the raw file is in the
  // event, topic x12/invalid; taking it again would not parse any better).
  if (document.parseError && eventId !== undefined) {
    fail(document.errorCode ?? 'parse_failed', new Error(document.parseError), eventId);
  }

  // The row is committed: only now may the remote copy go.
  try {
    await session.acknowledge(file, signal);
    progress.acknowledged += 1;
  } catch (err) {
    fail('acknowledge_failed', err);
  }
}

/** The promise's value, or undefined as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

/** Runs `fn` over `items`, at most `limit` at a time; stops starting new ones once aborted. */
async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  signal: AbortSignal,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < items.length && !signal.aborted) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
}

/** A database error's own text quotes the row (payload, path): only its safe description is kept. */
function describe(err: unknown): string {
  const text = describeDatabaseError(err) ?? (err instanceof Error ? err.message : String(err));
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
