import { ConfigError, loadConfig } from './config';
import { openDatabase } from './db/client';
import { runMigrations } from './db/migrate';
import { createGateway, type Role } from './gateway';
import { createLogger } from './logger';

const USAGE = 'usage: webhook-gateway [start [--role web|worker|all] | migrate]';

/** Entry point: `start` (default) runs the gateway until SIGTERM/SIGINT; `migrate` applies migrations. */
async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv[0] === undefined || argv[0].startsWith('--') ? ['start', ...argv] : argv;
  const config = loadConfig();
  const logger = createLogger(config.logLevel);

  if (command === 'migrate') {
    const database = await openDatabase(config.database);
    await runMigrations(database, config.database.url);
    await database.close();
    logger.info({ database: database.kind }, 'migrations applied');
    return;
  }
  if (command !== 'start') throw new ConfigError(`Unknown command "${command}". ${USAGE}`);

  const roleIndex = rest.indexOf('--role');
  const role = (roleIndex >= 0 ? rest[roleIndex + 1] : 'all') as Role;
  if (!['web', 'worker', 'all'].includes(role)) throw new ConfigError(`--role must be web, worker or all. ${USAGE}`);

  const gateway = createGateway(config, { logger, role });
  await gateway.start();
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
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`webhook-gateway failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
