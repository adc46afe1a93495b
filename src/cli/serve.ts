import { Command, Option } from 'commander';
import type { Role } from '../gateway';
import type { CliContext } from './context';

// The gateway's modules are loaded only by the commands that run it: `events`, `tail` and `send`
// start in a fraction of the time.

/** `start [--role web|worker|all]`: runs the gateway until SIGTERM/SIGINT, then stops it gracefully. */
export function startCommand(ctx: CliContext): Command {
  return new Command('start')
    .description('run the gateway: HTTP server and worker (default), or one of them')
    .addOption(
      new Option('--role <role>', 'web: HTTP only; worker: processing only; all: both')
        .choices(['web', 'worker', 'all'])
        .default('all'),
    )
    .action(async (options: { role: Role }) => {
      const config = ctx.config();
      const [{ createGateway }, { createLogger }] = await Promise.all([import('../gateway'), import('../logger')]);
      const logger = createLogger(config.logLevel);
      const gateway = createGateway(config, { logger, role: options.role });
      await gateway.start();
      ctx.keepRunning = true;
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        const forced = setTimeout(() => {
          logger.error('shutdown took too long; exiting');
          process.exit(1);
        }, config.shutdownTimeoutMs + 5_000);
        forced.unref();
        gateway.stop().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, 'error during shutdown');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    });
}

/** `migrate`: applies the migrations to DATABASE_URL (or the PGlite data directory) and exits. */
export function migrateCommand(ctx: CliContext): Command {
  return new Command('migrate')
    .description('apply database migrations and exit (start also applies them)')
    .action(async () => {
      const config = ctx.config();
      const [{ openDatabase }, { runMigrations }, { createLogger }] = await Promise.all([
        import('../db/client'),
        import('../db/migrate'),
        import('../logger'),
      ]);
      const logger = createLogger(config.logLevel);
      const database = await openDatabase(config.database);
      await runMigrations(database, config.database.url);
      await database.close();
      logger.info({ database: database.kind }, 'migrations applied');
    });
}
