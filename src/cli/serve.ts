import cluster from 'node:cluster';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Logger } from 'pino';
import type { GatewayConfig } from '../config/env';
import type { Role } from '../gateway';
import { CliError, usageError, type CliContext } from './context';
import { describeStartupFailure } from './startup-failure';

// The gateway's modules are loaded only by the commands that run it: `events`, `tail` and `send`
// start in a fraction of the time.

interface StartOptions {
  role: Role;
  webProcesses?: number;
  clusterProcess?: string;
}

/** `start [--role web|worker|all] [--web-processes N]`: runs the gateway until SIGTERM/SIGINT, then stops it gracefully. */
export function startCommand(ctx: CliContext): Command {
  return new Command('start')
    .description('run the gateway: HTTP server and worker (default), or one of them')
    .addOption(
      new Option('--role <role>', 'web: HTTP only; worker: processing only; all: both')
        .choices(['web', 'worker', 'all'])
        .default('all'),
    )
    .addOption(
      new Option(
        '--web-processes <n>',
        'run N web processes sharing the port, plus one worker process (PostgreSQL only; default $WEB_PROCESSES or 1)',
      ).argParser(processCount),
    )
    .addOption(
      // Given by the supervisor to its children only (src/cluster/supervisor.ts): the child's name in
      // the group, for a /metrics that answers for the whole group.
      new Option('--cluster-process <name>', 'name of this process in a --web-processes group (set by the supervisor)')
        .argParser(clusterProcessName)
        .hideHelp(),
    )
    .action(async (options: StartOptions) => {
      const config = ctx.config();
      const webProcesses = options.webProcesses ?? config.webProcesses;
      const { createLogger } = await import('../logger');
      const logger = createLogger(config.logLevel);
      if (webProcesses > 1 && !cluster.isWorker) {
        checkClusterUsage(config, options.role, webProcesses, options.webProcesses === undefined);
        const { superviseCluster } = await import('../cluster/supervisor');
        ctx.keepRunning = true;
        const code = await superviseCluster({
          webProcesses,
          childArgs: ['start'],
          logger,
          stopTimeoutMs: config.shutdownDrainMs + config.shutdownTimeoutMs + 10_000,
        });
        process.exit(code);
      }
      // Outside a supervisor's group (a hand-started `--cluster-process`) no one would answer its scrape.
      const clusterProcess = cluster.isWorker ? options.clusterProcess : undefined;
      await runGateway(ctx, config, { role: options.role, clusterProcess }, logger);
    });
}

/** One gateway in this process: started, then stopped gracefully on the first SIGTERM or SIGINT. */
async function runGateway(
  ctx: CliContext,
  config: GatewayConfig,
  { role, clusterProcess }: { role: Role; clusterProcess?: string },
  logger: Logger,
): Promise<void> {
  const [{ createGateway }, { reportStarted }, { limitHeapGrowth }] = await Promise.all([
    import('../gateway'),
    import('../cluster/supervisor'),
    import('../gateway/heap-growth'),
  ]);
  limitHeapGrowth(config.heapGrowingPercent);
  const gateway = createGateway(config, { logger, role, clusterProcess });
  let stopping = false;
  let running = false;
  let pending: NodeJS.Signals | undefined;
  const shutdown = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const forced = setTimeout(
      () => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      },
      config.shutdownDrainMs + config.shutdownTimeoutMs + 5_000,
    );
    forced.unref();
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  // Installed before start(): the listener opens, and the worker claims, before start-up ends
  // (partitions, alerts). A signal in that window used to kill the process outright, cutting the
  // requests it was answering and leaving its claims for the lease; it now waits for start() and
  // stops gracefully. Before the listener opens nothing was accepted: the signal ends it as it did.
  const onSignal = (signal: NodeJS.Signals) => {
    if (running) return shutdown(signal);
    if (gateway.serving) {
      pending ??= signal;
      return;
    }
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    process.kill(process.pid, signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await gateway.start();
  } catch (err) {
    await gateway.stop().catch(() => {});
    const line = describeStartupFailure(err, config);
    if (line) throw new CliError(`webhook-gateway cannot start: ${line}`, 2);
    throw err;
  }
  reportStarted();
  ctx.keepRunning = true;
  running = true;
  if (pending) shutdown(pending);
}

function checkClusterUsage(config: GatewayConfig, role: Role, webProcesses: number, fromEnv: boolean): void {
  // Named as the operator set it: WEB_PROCESSES=2 alone was refused as "--web-processes 2".
  const setting = fromEnv ? `WEB_PROCESSES=${webProcesses}` : `--web-processes ${webProcesses}`;
  if (!config.database.url) {
    throw usageError(
      `${setting} needs PostgreSQL: the embedded database (PGlite) allows one process. ` +
        `Set DATABASE_URL, or run one process (${fromEnv ? 'unset WEB_PROCESSES' : '--web-processes 1'}).`,
    );
  }
  if (role !== 'all') {
    throw usageError(`${setting} runs web processes and a worker itself: use it with --role all (the default).`);
  }
  // node:cluster would share that one port between the web processes and the worker, and hand the
  // worker webhooks it answers 404.
  if (config.worker.httpPort === config.port) {
    throw usageError(
      `WORKER_HTTP_PORT (${config.port}) is PORT: under --web-processes the worker process needs a port of its own.`,
    );
  }
}

function clusterProcessName(value: string): string {
  if (!/^(web-\d{1,2}|worker)$/.test(value)) throw new InvalidArgumentError('web-<n> or worker');
  return value;
}

function processCount(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('a whole number from 1 to 64');
  return n;
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
      try {
        const database = await openDatabase(config.database);
        try {
          await runMigrations(database, config.database.url);
        } finally {
          await database.close();
        }
        logger.info({ database: database.kind }, 'migrations applied');
      } catch (err) {
        const line = describeStartupFailure(err, config);
        if (line) throw new CliError(`webhook-gateway migrate failed: ${line}`, 2);
        throw err;
      }
    });
}
