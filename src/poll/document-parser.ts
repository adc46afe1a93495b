import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { unparsedDocument, type PolledDocument } from './document';
import type { ParseRequest, ParseResponse } from './parse-worker';
import type { RemoteFile } from './source';

/**
 * Polled files are parsed on a worker thread, never on the thread that answers webhooks: one
 * 150 KB file once stalled ingest for 9.7 s on a backtracking regex. Each file gets a time budget;
 * a file that spends it has its worker terminated (the next file gets a fresh one) and is stored
 * raw, refused with `parse_timeout`. The worker's heap is capped too, so a file that would exhaust
 * memory kills only the worker (`parse_failed`).
 */
export interface DocumentParser {
  parse(file: RemoteFile, bytes: Buffer, sourceKind: string, timeoutMs: number): Promise<PolledDocument>;
  /** Ends the worker; parses still queued are answered as unparsed. */
  close(): Promise<void>;
}

/** Heap of the parser worker: a 5 MiB file's JSON needs well under 100 MB. */
const WORKER_HEAP_MB = 512;
const BOOT = new URL('./parse-worker-boot.mjs', import.meta.url);
const ENTRY = new URL(`./parse-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);

interface Job {
  request: ParseRequest;
  timeoutMs: number;
  fallback: (reason: string, code: 'parse_failed' | 'parse_timeout') => PolledDocument;
  resolve: (document: PolledDocument) => void;
}

/** One worker, one file at a time, started when the first file arrives. */
export function createDocumentParser(deps: { logger: Logger }): DocumentParser {
  const queue: Job[] = [];
  let worker: Worker | undefined;
  let current: { job: Job; timer: NodeJS.Timeout } | undefined;
  let nextId = 1;
  let closed = false;

  function start(): Worker {
    const started = new Worker(BOOT, {
      workerData: { entry: ENTRY.href },
      resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    });
    started.unref();
    started.on('message', (response: ParseResponse) => {
      if (!current || current.job.request.id !== response.id) return;
      const { job, timer } = current;
      clearTimeout(timer);
      current = undefined;
      job.resolve({
        topic: response.topic,
        body: Buffer.from(response.body.buffer, response.body.byteOffset, response.body.byteLength),
        parseError: response.parseError,
        errorCode: response.errorCode,
      });
      pump();
    });
    started.on('error', (err) => abandon(started, `the parser worker failed: ${err.message}`, 'parse_failed'));
    started.on('exit', () => abandon(started, 'the parser worker stopped', 'parse_failed'));
    return started;
  }

  /** The worker is gone (crashed, out of memory, or terminated on a timeout): answer its file. */
  function abandon(gone: Worker, reason: string, code: 'parse_failed' | 'parse_timeout'): void {
    if (worker !== gone) return;
    worker = undefined;
    void gone.terminate().catch(() => {});
    if (current) {
      const { job, timer } = current;
      clearTimeout(timer);
      current = undefined;
      deps.logger.warn({ path: job.request.file.path, reason }, 'polled file not parsed');
      job.resolve(job.fallback(reason, code));
    }
    pump();
  }

  function pump(): void {
    if (current || queue.length === 0) return;
    if (closed) {
      for (const job of queue.splice(0)) job.resolve(job.fallback('the gateway is shutting down', 'parse_failed'));
      return;
    }
    const job = queue.shift()!;
    worker ??= start();
    const running = worker;
    const timer = setTimeout(
      () =>
        abandon(
          running,
          `parsing did not finish within parse_timeout_ms (${job.timeoutMs} ms); the raw file is stored unparsed`,
          'parse_timeout',
        ),
      job.timeoutMs,
    );
    current = { job, timer };
    running.postMessage(job.request, [job.request.bytes.buffer as ArrayBuffer]);
  }

  return {
    parse(file, bytes, sourceKind, timeoutMs) {
      // The worker gets its own copy (transferred, not cloned); `bytes` stays usable here.
      const copy = new Uint8Array(bytes);
      return new Promise((resolve) => {
        queue.push({
          request: { id: nextId++, file: { ...file }, bytes: copy, sourceKind },
          timeoutMs,
          fallback: (reason, code) => unparsedDocument(file, bytes, sourceKind, reason, code),
          resolve,
        });
        pump();
      });
    },

    async close() {
      closed = true;
      const running = worker;
      worker = undefined;
      if (current) {
        const { job, timer } = current;
        clearTimeout(timer);
        current = undefined;
        job.resolve(job.fallback('the gateway is shutting down', 'parse_failed'));
      }
      pump();
      await running?.terminate();
    },
  };
}
