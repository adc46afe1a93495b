// A wall clock that steps, as NTP steps it on a machine that booted without a real-time clock or a
// VM that resumed: Date jumps, timers keep real (monotonic) time. Unlike vi.useFakeTimers, the
// clock goes on ticking after the step.

const RealDate = Date;

/** Moves the wall clock (Date) by `offsetMs` from now on, on top of any earlier step. */
export function stepClock(offsetMs: number): void {
  const offset = ((globalThis.Date as unknown as { offset?: number }).offset ?? 0) + offsetMs;
  class SteppedDate extends RealDate {
    static offset = offset;
    constructor(...args: unknown[]) {
      if (args.length === 0) super(RealDate.now() + offset);
      else super(...(args as [string | number]));
    }
    static override now() {
      return RealDate.now() + offset;
    }
  }
  globalThis.Date = SteppedDate as unknown as DateConstructor;
}

/** The real wall clock again. */
export function restoreClock(): void {
  globalThis.Date = RealDate;
}

export const DAY_MS = 86_400_000;
