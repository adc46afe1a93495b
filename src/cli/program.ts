import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import type { GatewayConfig } from '../config/env';
import { ConfigError, StartupError } from '../config/errors';
import { PACKAGE_JSON } from '../resources';
import { CannotSignError } from '../senders/signers';
import { CliError, terminalSafe, type CliContext } from './context';
import { eventsCommand } from './events';
import { sendCommand } from './send';
import { migrateCommand, startCommand } from './serve';
import { listenCommand } from './listen';
import { triggerCommand } from './trigger';
import { tailCommand } from './tail';
import { tokensCommand } from './tokens';
import { applyCommand } from './apply';
import { keysCommand } from './keys';
import { sourcesCommand } from './sources';
import { destinationsCommand } from './destinations';

const { version } = JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string };

export interface CliDeps {
  /**
   * Loads the configuration reader (src/config/env.ts) before a command runs; --help and --version
   * never load it (zod, yaml and node-cron are half the start-up time of a short command).
   */
  configLoader: () => Promise<() => GatewayConfig>;
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** What the process should do once the command returned: exit with this code, or keep running. */
export type CliOutcome = number | 'running';

/**
 * Runs one CLI invocation. Exit codes: 0 done, 1 the operation failed (the gateway refused or
 * could not be reached), 2 wrong usage or invalid configuration.
 */
export async function runCli(argv: string[], deps: CliDeps): Promise<CliOutcome> {
  let config: GatewayConfig | undefined;
  let loadConfig: (() => GatewayConfig) | undefined;
  const ctx: CliContext = {
    out: (text) => deps.stdout.write(`${text}\n`),
    err: (text) => deps.stderr.write(`${text}\n`),
    config: () => (config ??= loadConfig!()),
    keepRunning: false,
  };
  const program = new Command('webhook-gateway')
    .description('Inbound webhook gateway: run it, and inspect, replay, follow and send its events.')
    .version(version)
    .addCommand(startCommand(ctx))
    .addCommand(migrateCommand(ctx))
    .addCommand(eventsCommand(ctx))
    .addCommand(tailCommand(ctx))
    .addCommand(sendCommand(ctx))
    .addCommand(tokensCommand(ctx))
    .addCommand(listenCommand(ctx))
    .addCommand(triggerCommand(ctx))
    .addCommand(sourcesCommand(ctx))
    .addCommand(destinationsCommand(ctx))
    .addCommand(applyCommand(ctx))
    .addCommand(keysCommand(ctx))
    .addHelpText(
      'after',
      `
Without a command, or with only options (--role web), the gateway starts.
Commands that talk to a running gateway take --url (default http://localhost:$PORT) and --token
(default $OPS_API_TOKEN).

Examples:
  webhook-gateway start --role worker
  webhook-gateway send shopify --file payload.json
  webhook-gateway events list --status failed --source shopify --since 1h
  webhook-gateway events replay --status failed --yes
  webhook-gateway tail --source stripe
  webhook-gateway tokens create --name ci --role operator --expires-in 30d
  webhook-gateway sources create acme --provider shopify
  webhook-gateway send acme --file payload.json --secret "$ACME_SECRET"
  webhook-gateway destinations create erp --endpoint https://erp.example.com/hooks --source acme
  webhook-gateway apply -f gateway.yaml --dry-run`,
    );
  configureAll(program, deps);
  program.hook('preAction', async () => {
    loadConfig ??= await deps.configLoader();
  });

  const args = withDefaultCommand(argv);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.keepRunning ? 'running' : 0;
  } catch (err) {
    // Commander has already printed its message (or the help) through configureOutput.
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    if (err instanceof ConfigError || err instanceof StartupError) {
      ctx.err(err.message);
      return 2;
    }
    if (err instanceof CliError) {
      ctx.err(terminalSafe(err.message));
      return err.exitCode;
    }
    // A source send, trigger or listen --forward-to cannot sign for: a usage problem.
    if (err instanceof CannotSignError) {
      ctx.err(terminalSafe(err.message));
      return 2;
    }
    const what = args[0] === 'start' ? 'failed to start' : 'failed';
    ctx.err(`webhook-gateway ${what}: ${err instanceof Error ? err.stack : String(err)}`);
    return 1;
  }
}

/** `webhook-gateway` alone, or with options only (`npm start -- --role web`), means `start`. */
function withDefaultCommand(argv: string[]): string[] {
  const first = argv[0];
  const asksForHelp = first === '-h' || first === '--help' || first === '-V' || first === '--version';
  return first === undefined || (first.startsWith('-') && !asksForHelp) ? ['start', ...argv] : argv;
}

/** Errors and help go through our streams, and nothing calls process.exit behind our back. */
function configureAll(command: Command, deps: CliDeps): void {
  command
    .exitOverride()
    .configureOutput({ writeOut: (text) => deps.stdout.write(text), writeErr: (text) => deps.stderr.write(text) })
    .showHelpAfterError(
      `(see: webhook-gateway ${command.name() === 'webhook-gateway' ? '' : `${fullName(command)} `}--help)`,
    );
  for (const sub of command.commands) configureAll(sub, deps);
}

const fullName = (command: Command): string =>
  command.parent && command.parent.name() !== 'webhook-gateway'
    ? `${fullName(command.parent)} ${command.name()}`
    : command.name();
