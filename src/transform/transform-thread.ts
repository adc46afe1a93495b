import { parentPort } from 'node:worker_threads';
import { createJavascriptEngine } from './javascript';
import { keepInputDigits } from './exact-digits';
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
  if (request.op === 'check')
    return request.language === 'jsonata' ? checkJsonata(request.code) : javascript.check(request.code);
  const input = request.input ?? '{}';
  const engine = request.language === 'jsonata' ? jsonata : javascript;
  const outcome = await engine.run(request.code, input);
  // Here, off the thread that answers webhooks: the result may be megabytes.
  return outcome.ok ? { ok: true, body: keepInputDigits(input, outcome.body) } : outcome;
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
