import { Worker } from 'node:worker_threads';
import type { TransformRequest, TransformResponse } from './transform-thread';
import {
  DEADLINE_MESSAGE,
  TRANSFORM_DEADLINE_MS,
  TRANSFORM_MEMORY_MB,
  type Transform,
  type TransformOutcome,
} from './types';

/**
 * Runs transformations on worker threads, never on the thread that answers webhooks and runs the
 * worker's leases (a run may spin for up to its full deadline). Both languages run inside QuickJS
 * (src/transform/javascript.ts, jsonata-engine.ts), which interrupts them at TRANSFORM_DEADLINE_MS
 * and caps their memory; a thread still busy BACKSTOP_MS later is terminated anyway. The run fails,
 * the next one gets a fresh thread, and queued runs are unaffected.
 *
 * Cost measured on the 2-core machine under tsx (docs/destinations.md#transformations): idle, a
 * JavaScript run ~0.6 ms and a JSONata run ~3 ms (QuickJS interprets the library), the round trip
 * to the thread included; under load 0.6-3.6 and 1.2-7 ms. A new thread takes 0.3-2 s to load both
 * sandboxes before it reports ready, so no run's deadline pays for it.
 */
export interface TransformPool {
  run(transform: Transform, input: string): Promise<TransformOutcome>;
  /** Compiles it (JavaScript: also runs its top level) and says where the first problem is. */
  check(transform: Transform): Promise<TransformOutcome>;
  close(): Promise<void>;
}

const BOOT = new URL('./transform-thread-boot.mjs', import.meta.url);
const ENTRY = new URL(`./transform-thread${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url);
/** Beyond the deadline QuickJS enforces itself: for a native operation it cannot interrupt (a huge `$pad`). */
const BACKSTOP_MS = 1000;
const THREAD_HEAP_MB = 256;
/** Runs waiting for a thread at most; beyond, a run fails at once instead of piling up memory. */
const MAX_QUEUE = 10_000;

interface Job {
  request: Omit<TransformRequest, 'id'>;
  resolve: (outcome: TransformOutcome) => void;
}
interface Slot {
  worker: Worker;
  ready: boolean;
  current?: { id: number; job: Job; timer?: NodeJS.Timeout };
}

export function createTransformPool(options: { threads?: number; boot?: URL; entry?: URL } = {}): TransformPool {
  const size = Math.max(1, options.threads ?? 2);
  const slots = new Set<Slot>();
  const queue: Job[] = [];
  let nextId = 1;
  let closed = false;

  function start(): Slot {
    const worker = new Worker(options.boot ?? BOOT, {
      workerData: { entry: (options.entry ?? ENTRY).href },
      // Transformations allocate in QuickJS's WebAssembly memory (capped by QuickJS at 32 MB); this
      // heap only holds inputs and results in transit.
      resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB },
      stdout: false,
      stderr: false,
    });
    worker.unref();
    const slot: Slot = { worker, ready: false };
    slots.add(slot);
    worker.on('message', (message: TransformResponse) => {
      if ('ready' in message) {
        slot.ready = true;
        return pump();
      }
      if (slot.current?.id !== message.id) return;
      finish(slot, message.outcome);
    });
    worker.on('error', (err: Error & { code?: string }) =>
      retire(
        slot,
        err.code === 'ERR_WORKER_OUT_OF_MEMORY'
          ? `ran out of memory (limit ${TRANSFORM_MEMORY_MB} MB)`
          : `the sandbox failed: ${err.message}`,
      ),
    );
    worker.on('exit', () => retire(slot, 'the sandbox stopped'));
    return slot;
  }

  function finish(slot: Slot, outcome: TransformOutcome): void {
    const current = slot.current;
    if (!current) return;
    clearTimeout(current.timer);
    slot.current = undefined;
    current.job.resolve(outcome);
    pump();
  }

  /** The thread is gone or must go: its run (if any) fails with `reason`, a new thread takes the queue. */
  function retire(slot: Slot, reason: string): void {
    if (!slots.delete(slot)) return;
    void slot.worker.terminate().catch(() => {});
    const current = slot.current;
    slot.current = undefined;
    if (current) {
      clearTimeout(current.timer);
      current.job.resolve({ ok: false, message: reason });
    } else if (!slot.ready) {
      // It died before it could run anything (cannot load QuickJS or JSONata): say so rather than retry forever.
      for (const job of queue.splice(0)) job.resolve({ ok: false, message: `the sandbox could not start: ${reason}` });
    }
    pump();
  }

  function pump(): void {
    if (closed) return;
    while (queue.length > 0) {
      const idle = [...slots].find((s) => s.ready && !s.current);
      if (!idle) {
        if (slots.size < size) start();
        return;
      }
      const job = queue.shift()!;
      const id = nextId++;
      const limit = TRANSFORM_DEADLINE_MS + BACKSTOP_MS;
      const timer = setTimeout(() => retire(idle, DEADLINE_MESSAGE), limit);
      idle.current = { id, job, timer };
      idle.worker.postMessage({ id, ...job.request } satisfies TransformRequest);
    }
  }

  const submit = (request: Omit<TransformRequest, 'id'>) =>
    new Promise<TransformOutcome>((resolve) => {
      if (closed) return resolve({ ok: false, message: 'the gateway is shutting down' });
      if (queue.length >= MAX_QUEUE) return resolve({ ok: false, message: 'too many transformations waiting' });
      queue.push({ request, resolve });
      pump();
    });

  return {
    run: (transform, input) => submit({ op: 'run', language: transform.language, code: transform.code, input }),
    check: (transform) => submit({ op: 'check', language: transform.language, code: transform.code }),
    async close() {
      closed = true;
      for (const job of queue.splice(0)) job.resolve({ ok: false, message: 'the gateway is shutting down' });
      const all = [...slots];
      slots.clear();
      for (const slot of all) {
        clearTimeout(slot.current?.timer);
        slot.current?.job.resolve({ ok: false, message: 'the gateway is shutting down' });
      }
      await Promise.all(all.map((s) => s.worker.terminate()));
    },
  };
}
