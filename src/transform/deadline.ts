import type { QuickJSRuntime } from 'quickjs-emscripten';
import { TRANSFORM_DEADLINE_MS } from './types';

/**
 * Sets the run's deadline as the runtime's interrupt handler, and remembers whether it fired. A
 * run stopped at the deadline does not always end with QuickJS's own "interrupted" error: an
 * endless JSONata recursion cut off inside the library's async evaluator ended now and then with
 * "not a function" instead (1 run in 20 on a loaded machine), so whether the handler fired decides.
 * Timed on the monotonic clock: a wall clock stepped during a run neither stops it at once nor
 * lets it run on.
 */
export function startDeadline(runtime: QuickJSRuntime): { readonly fired: boolean } {
  const end = performance.now() + TRANSFORM_DEADLINE_MS;
  let fired = false;
  runtime.setInterruptHandler(() => (fired ||= performance.now() > end));
  return {
    get fired() {
      return fired;
    },
  };
}
