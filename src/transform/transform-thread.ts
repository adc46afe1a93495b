import { parentPort } from 'node:worker_threads';
import { createJavascriptEngine } from './javascript';
import { checkJsonata, createJsonataEngine } from './jsonata-engine';
import type { TransformLanguage, TransformOutcome } from './types';

// The transform thread (started by src/transform/pool.ts): one run at a time, answered by id. Its
// heap is capped, and the gateway terminates it at the deadline, so nothing a transformation does
// reaches the thread that answers webhooks and runs the worker.

export interface TransformRequest {
  id: number;
  op: 'run' | 'check';
  language: TransformLanguage;
  code: string;
  /** op "run": the TransformInput as JSON text. */
  input?: string;
}

export type TransformResponse = { id: number; outcome: TransformOutcome } | { ready: true };

const javascript = createJavascriptEngine();
const jsonata = createJsonataEngine();

async function handle(request: TransformRequest): Promise<TransformOutcome> {
  if (request.language === 'jsonata')
    return request.op === 'check' ? checkJsonata(request.code) : jsonata.run(request.code, request.input ?? '{}');
  return request.op === 'check' ? javascript.check(request.code) : javascript.run(request.code, request.input ?? '{}');
}

parentPort!.on('message', (request: TransformRequest) => {
  void handle(request).then(
    (outcome) => parentPort!.postMessage({ id: request.id, outcome } satisfies TransformResponse),
    (err: unknown) =>
      parentPort!.postMessage({
        id: request.id,
        outcome: { ok: false, message: `the sandbox failed: ${err instanceof Error ? err.message : String(err)}` },
      } satisfies TransformResponse),
  );
});
// Ready once both sandboxes are loaded: no run's deadline pays for loading them.
await Promise.all([javascript.warm(), jsonata.warm()]);
parentPort!.postMessage({ ready: true } satisfies TransformResponse);
