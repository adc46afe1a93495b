import cron from 'node-cron';
import type { Logger } from 'pino';

// node-cron parses the expressions and finds their next match; the timer is ours. node-cron 4.6's
// own scheduler, woken after the wall clock stepped forward (NTP correcting a machine that booted
// without a real-time clock, a resumed VM, a test faking Date), walks every slot it missed, one by
// one, on the event loop: measured with '* * * * * *', a 1-day step blocked the process for 9.7 s
// and grew its RSS by 99 MB; a 30-day step had not finished after 2 minutes — ingest and worker
// frozen with it. Here each run's next time is read off the clock as it is then, so a step forward
// runs once and skips what it missed, and a step back goes on at the clock's next match.

/** A timer is never armed for longer than this: a stepped clock is noticed within a minute. */
const MAX_DELAY_MS = 60_000;
/** Timers may fire a little before the wall-clock instant they were armed for; this early still counts as due. */
const EARLY_MS = 100;

export interface CronSchedule {
  /** Stops the schedule; a run in progress goes on (its caller awaits its own work). */
  stop(): void;
}

/**
 * Runs `run` at every match of the cron expression (seconds field allowed, server time zone). A
 * match that comes while the previous run is still going is skipped, like node-cron's noOverlap.
 * Errors of `run` are the caller's to handle; one that escapes is logged.
 */
export function scheduleCron(
  expression: string,
  run: () => unknown,
  options: { name: string; logger: Logger },
): CronSchedule {
  // Never started: only its matcher is used (getNextRuns reads the clock each time).
  const matcher = cron.createTask(expression, () => undefined, { name: options.name });
  let timer: NodeJS.Timeout | undefined;
  let due = 0;
  let running = false;
  let stopped = false;

  /** The next match after `after` (ms), read off the clock now. */
  function nextAfter(after: number): number {
    // `after` is at most one match ahead of the clock, so the third match from now is past it.
    return matcher
      .getNextRuns(3)
      .find((at) => at.getTime() > after)!
      .getTime();
  }

  function arm(): void {
    if (stopped) return;
    timer = setTimeout(fire, Math.min(MAX_DELAY_MS, Math.max(0, due - Date.now())));
  }

  function fire(): void {
    if (stopped) return;
    const now = Date.now();
    if (now < due - EARLY_MS) {
      // Not due yet: armed for at most a minute, or the clock stepped back. Read the next match
      // off the clock again (unchanged unless it stepped back: then it is sooner).
      due = nextAfter(now - 1);
      return arm();
    }
    if (!running) {
      running = true;
      void Promise.resolve()
        .then(run)
        .catch((err: unknown) => options.logger.error({ err, schedule: options.name }, 'a scheduled run failed'))
        .finally(() => (running = false));
    }
    due = nextAfter(Math.max(now, due));
    arm();
  }

  due = nextAfter(Date.now());
  arm();
  return {
    stop() {
      stopped = true;
      clearTimeout(timer);
      void matcher.destroy();
    },
  };
}
