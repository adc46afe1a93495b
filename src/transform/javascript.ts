import {
  RELEASE_SYNC,
  newQuickJSWASMModule,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSWASMModule,
} from 'quickjs-emscripten';
import { startDeadline } from './deadline';
import {
  DEADLINE_MESSAGE,
  MAX_TRANSFORM_OUTPUT,
  TRANSFORM_MEMORY_MB,
  type TransformOutcome,
  type TransformPosition,
} from './types';

// JavaScript transformations in QuickJS compiled to WebAssembly (quickjs-emscripten), on the
// transform thread (src/transform/thread.ts). Each run gets a runtime of its own — its own heap,
// atoms and GC, capped at 32 MB — with an interrupt handler at the deadline; the script sees only
// its input: no host function is ever exposed (no require, fetch, console, timers or process).
// QuickJS is the isolation, not node:vm (which shares the V8 heap and is no security boundary).

const FILE = 'transform.js';
/** QuickJS's own stack limit: deep recursion becomes "InternalError: stack overflow", not a crash. */
const STACK_BYTES = 512 * 1024;
// Runs after the user's script in the same context: reads the input (a JSON string global, deleted
// at once) and serialises the result inside the sandbox, so a getter or a cycle fails there.
const CALL = `(() => {
  if (typeof transform !== 'function') throw new TypeError('define function transform(input) { return … }');
  const input = JSON.parse(globalThis.__input); delete globalThis.__input;
  const out = transform(input);
  if (out === undefined || out === null) throw new TypeError('transform(input) returned ' + out + '; return the body to post (filters decide what is skipped)');
  const text = JSON.stringify(out);
  if (typeof text !== 'string') throw new TypeError('transform(input) returned a value JSON cannot represent');
  return text;
})()`;

/** The QuickJS WebAssembly module, loaded once per thread (~15 ms); replaced after any failed run. */
export function createJavascriptEngine() {
  let module: Promise<QuickJSWASMModule> | undefined;
  const load = () => (module ??= newQuickJSWASMModule(RELEASE_SYNC));

  /** Evaluates `code` (and then `after`, if given) in a fresh runtime; returns the result text. */
  async function evaluate(
    code: string,
    after?: { script: string; input: string },
    compileOnly = false,
  ): Promise<TransformOutcome> {
    const quickjs = await load();
    const runtime = quickjs.newRuntime();
    let outcome: TransformOutcome;
    let clean = true;
    try {
      runtime.setMemoryLimit(TRANSFORM_MEMORY_MB * 1024 * 1024);
      runtime.setMaxStackSize(STACK_BYTES);
      const deadline = startDeadline(runtime);
      const context = runtime.newContext();
      try {
        outcome = run(context, code, after, compileOnly);
      } finally {
        context.dispose();
      }
      // Stopped at the deadline, whatever error the cut-off script ended with (src/transform/deadline.ts).
      if (!outcome.ok && deadline.fired) outcome = { ok: false, message: DEADLINE_MESSAGE };
    } catch (err) {
      outcome = { ok: false, message: `the sandbox failed: ${err instanceof Error ? err.message : String(err)}` };
      clean = false;
    } finally {
      try {
        runtime.dispose();
      } catch {
        // An interrupted or out-of-memory run can leave QuickJS unable to free its runtime (an
        // assertion aborts the WebAssembly instance): that module is never used again.
        clean = false;
      }
    }
    if (!clean || !outcome!.ok) {
      // Reloaded before answering, so the next run's deadline does not pay for it.
      module = undefined;
      await load().catch(() => (module = undefined));
    }
    return outcome!;
  }

  return {
    /** Loads QuickJS now (before the thread says it is ready). */
    warm: async () => void (await load()),
    /** Runs the script's transform(input); `input` is the JSON text of the TransformInput. */
    run: (code: string, input: string) => evaluate(code, { script: CALL, input }),
    /** Compiles the script, then runs its top level (within the same limits) to see that it defines transform. */
    async check(code: string): Promise<TransformOutcome> {
      const compiled = await evaluate(code, undefined, true);
      if (!compiled.ok) return compiled;
      return evaluate(code, {
        script: `typeof transform === 'function' ? 'ok' : (() => { throw new TypeError('the script must define function transform(input) { return … }') })()`,
        input: '{}',
      });
    },
  };
}

function run(
  context: QuickJSContext,
  code: string,
  after: { script: string; input: string } | undefined,
  compileOnly: boolean,
): TransformOutcome {
  const input = context.newString(after?.input ?? '');
  context.setProp(context.global, '__input', input);
  input.dispose();
  const top = context.evalCode(code, FILE, compileOnly ? { compileOnly: true } : undefined);
  if (top.error) return failure(context, top.error);
  top.value.dispose();
  if (!after) return { ok: true, body: '' };
  const result = context.evalCode(after.script, 'gateway.js');
  if (result.error) return failure(context, result.error);
  const text = context.getString(result.value);
  result.value.dispose();
  if (Buffer.byteLength(text) > MAX_TRANSFORM_OUTPUT)
    return { ok: false, message: `the result is larger than ${MAX_TRANSFORM_OUTPUT} bytes` };
  return { ok: true, body: text };
}

/** The error as "Name: message", with the line and column of the user's code where it happened. */
function failure(context: QuickJSContext, handle: QuickJSHandle): TransformOutcome {
  const error = context.dump(handle) as unknown;
  handle.dispose();
  if (typeof error !== 'object' || error === null)
    return { ok: false, message: `threw ${String(error).slice(0, 300)}` };
  const { name, message, stack } = error as { name?: string; message?: string; stack?: string };
  const text = String(message ?? '').slice(0, 300);
  if (name === 'InternalError' && text === 'interrupted') return { ok: false, message: DEADLINE_MESSAGE };
  if (name === 'InternalError' && text === 'out of memory')
    return { ok: false, message: `ran out of memory (limit ${TRANSFORM_MEMORY_MB} MB)` };
  const where = /transform\.js:(\d+)(?::(\d+))?/.exec(String(stack ?? ''));
  const position: TransformPosition | undefined = where
    ? { line: Number(where[1]), ...(where[2] ? { column: Number(where[2]) } : {}) }
    : undefined;
  return { ok: false, message: `${name ?? 'Error'}: ${text}`, ...(position ? { position } : {}) };
}
