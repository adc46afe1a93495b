import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import jsonata from 'jsonata';
import {
  RELEASE_SYNC,
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
} from 'quickjs-emscripten';
import { startDeadline } from './deadline';
import { DEADLINE_MESSAGE, MAX_TRANSFORM_OUTPUT, TRANSFORM_MEMORY_MB, type TransformOutcome } from './types';

// JSONata (the `jsonata` library) has no deadline or memory limit of its own, and on V8 a single
// huge allocation (`[1..10000000]`) aborts the whole process even on a worker thread with
// resourceLimits (measured: "FATAL ERROR: Reached heap limit"). So expressions are evaluated by
// the jsonata library running *inside* QuickJS, on the transform thread: memory capped at 32 MB,
// interrupted at the deadline, and whatever an expression reaches (`body.constructor`…) is
// QuickJS's, never Node's. Loading the library into QuickJS costs ~40-150 ms, so one context is
// kept per thread with its intrinsics frozen (no run can change what the next one sees) and
// replaced after any failed run. Compiling (save-time checks) needs no sandbox: it parses, never
// evaluates, so it runs on the calling thread.

interface JsonataError {
  code?: string;
  position?: number;
  message?: string;
}

const describe = (err: unknown): TransformOutcome => {
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as JsonataError;
  const text = String(e.message ?? err).slice(0, 300);
  if (text === 'interrupted') return { ok: false, message: DEADLINE_MESSAGE };
  if (text === 'out of memory') return { ok: false, message: `ran out of memory (limit ${TRANSFORM_MEMORY_MB} MB)` };
  const message = `${e.code ? `${e.code}: ` : ''}${text}`;
  return { ok: false, message, ...(typeof e.position === 'number' ? { position: { offset: e.position } } : {}) };
};

/** Compiles the expression: ok, or the parser's error with its character offset. */
export function checkJsonata(code: string): TransformOutcome {
  try {
    jsonata(code);
    return { ok: true, body: '' };
  } catch (err) {
    // A RangeError (an expression nested too deep for the parser) has no position: still refused.
    return describe(err);
  }
}

const LIBRARY = createRequire(import.meta.url).resolve('jsonata/jsonata.min.js');
// After the library is loaded: every intrinsic and the library are frozen, so an expression that
// reaches a constructor cannot change what later runs see.
// `__io` (the request in, the result out) is the one object left writable.
const FREEZE = `(() => {
  globalThis.__io = {};
  const seen = new Set([globalThis.__io]);
  const freeze = (o) => { if ((typeof o !== 'object' && typeof o !== 'function') || o === null || seen.has(o)) return;
    seen.add(o); Object.freeze(o); for (const k of Reflect.ownKeys(o)) { const d = Object.getOwnPropertyDescriptor(o, k); if (d && 'value' in d) freeze(d.value); } };
  freeze(globalThis);
})()`;
// The run: parse the request (deleted at once), evaluate, serialise inside QuickJS.
const CALL = `(() => {
  const io = globalThis.__io; const q = JSON.parse(io.request); io.request = undefined; io.out = undefined;
  jsonata(q.code).evaluate(JSON.parse(q.input)).then(
    (v) => { io.out = v === undefined || v === null ? { none: String(v) } : { text: JSON.stringify(v) }; },
    (e) => { io.out = { error: { code: e && e.code, position: e && e.position, message: String(e && e.message || e) } }; });
})()`;

/** The thread's JSONata sandbox; `run` evaluates one expression on one input (JSON text). */
export function createJsonataEngine() {
  let sandbox: Promise<{ runtime: QuickJSRuntime; context: QuickJSContext }> | undefined;

  const open = async () => {
    const quickjs = await newQuickJSWASMModule(RELEASE_SYNC);
    const runtime = quickjs.newRuntime();
    runtime.setMemoryLimit(TRANSFORM_MEMORY_MB * 1024 * 1024);
    runtime.setMaxStackSize(512 * 1024);
    const context = runtime.newContext();
    // The library is a UMD bundle: with no module system it defines the global `jsonata`.
    const source = `globalThis.window = globalThis;\n${readFileSync(LIBRARY, 'utf8')}\n;${FREEZE}`;
    context.unwrapResult(context.evalCode(source, 'jsonata.js')).dispose();
    return { runtime, context };
  };

  return {
    /** Evaluates the expression on the input (JSON text); the result's JSON text is the body. */
    async run(code: string, input: string): Promise<TransformOutcome> {
      const { runtime, context } = await (sandbox ??= open());
      let outcome: TransformOutcome;
      const deadline = startDeadline(runtime);
      try {
        outcome = evaluate(runtime, context, code, input);
      } catch (err) {
        outcome = describe(err);
      }
      // Stopped at the deadline, whatever error the cut-off evaluation ended with (src/transform/deadline.ts).
      if (!outcome.ok && deadline.fired) outcome = { ok: false, message: DEADLINE_MESSAGE };
      // A failed run may leave the context out of memory or mid-evaluation: the next run gets a new
      // one (its WebAssembly instance is dropped whole, never freed piecemeal, which QuickJS can abort).
      if (!outcome.ok) {
        // Rebuilt before answering (~40-150 ms), so the next run's deadline does not pay for it.
        sandbox = open();
        await sandbox.catch(() => (sandbox = undefined));
      }
      return outcome;
    },
    /** Loads the library now (before the thread says it is ready). */
    warm: async () => void (await (sandbox ??= open())),
  };
}

function evaluate(runtime: QuickJSRuntime, context: QuickJSContext, code: string, input: string): TransformOutcome {
  const io = context.getProp(context.global, '__io');
  try {
    return exchange(runtime, context, io, code, input);
  } finally {
    io.dispose();
  }
}

function exchange(
  runtime: QuickJSRuntime,
  context: QuickJSContext,
  io: QuickJSHandle,
  code: string,
  input: string,
): TransformOutcome {
  const request = context.newString(JSON.stringify({ code, input }));
  context.setProp(io, 'request', request);
  request.dispose();
  const started = context.evalCode(CALL, 'gateway.js');
  if (started.error) {
    const err = context.dump(started.error) as unknown;
    started.error.dispose();
    return describe(err);
  }
  started.value.dispose();
  const jobs = runtime.executePendingJobs();
  if (jobs.error) {
    const err = context.dump(jobs.error) as unknown;
    jobs.error.dispose();
    return describe(err);
  }
  const handle = context.getProp(io, 'out');
  const out = context.dump(handle) as { text?: string; none?: string; error?: JsonataError } | undefined;
  handle.dispose();
  if (!out) return { ok: false, message: DEADLINE_MESSAGE };
  if (out.error) return describe(out.error);
  if (out.none !== undefined || typeof out.text !== 'string')
    return {
      ok: false,
      message: `the expression gave ${out.none === 'null' ? 'null' : 'no result'}; it must give the body to post (filters decide what is skipped)`,
    };
  if (Buffer.byteLength(out.text) > MAX_TRANSFORM_OUTPUT)
    return { ok: false, message: `the result is larger than ${MAX_TRANSFORM_OUTPUT} bytes` };
  return { ok: true, body: out.text };
}
