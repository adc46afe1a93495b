import { scheduleCron, type CronSchedule } from '../cron';
import type { Logger } from 'pino';
import type { PollRunner } from './runner';

export interface PollSchedulerDeps {
  runner: PollRunner;
  logger: Logger;
}

/**
 * One cron schedule per poll source. Cron only triggers: every instance fires on the same
 * schedule and the lock in the database decides which one polls; the others log that and wait for
 * the next tick. `stop()` also stops the runner, so runs started over HTTP end with it too.
 */
export function createPollScheduler(deps: PollSchedulerDeps) {
  const { runner, logger } = deps;
  const tasks: CronSchedule[] = [];

  async function tick(name: string): Promise<void> {
    try {
      const result = await runner.trigger(name, 'schedule');
      if (result.status === 'busy') {
        const holder = result.holder ? `${result.holder.hostname}:${result.holder.pid}` : 'another instance';
        logger.info({ source: name, holder }, 'scheduled poll skipped: a run is already in progress');
      }
    } catch (err) {
      // Database trouble: nothing was claimed; the next tick tries again.
      logger.error({ err, source: name }, 'could not start a scheduled poll');
    }
  }

  return {
    /** Starts every source's schedule. */
    start(): void {
      for (const name of runner.sourceNames) {
        const schedule = runner.options(name)!.schedule;
        tasks.push(scheduleCron(schedule, () => tick(name), { name: `poll-${name}`, logger }));
        logger.info({ source: name, schedule }, 'poll source scheduled');
      }
    },

    /** Stops the schedules, aborts running runs and waits until they have recorded their end. */
    async stop(): Promise<void> {
      for (const task of tasks.splice(0)) task.stop();
      await runner.stop();
    },
  };
}

export type PollScheduler = ReturnType<typeof createPollScheduler>;
