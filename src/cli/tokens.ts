import { Command } from 'commander';
import type { z } from 'zod';
import type { CreatedToken, TokenList, TokenView } from '../ops/access-schemas';
import {
  answerTimeout,
  gatewayUrl,
  opsToken,
  terminalJson,
  terminalSafe,
  type CliContext,
  type ConnectionOptions,
} from './context';
import { withConnection } from './events';
import { createOpsClient } from './ops-client';
import { formatTable, shortTime } from './table';

/**
 * `tokens create|list|revoke`: ops API tokens through the running gateway's /api/tokens (admin).
 * The new token is printed once, on its own line on stdout, so `$(webhook-gateway tokens create …)`
 * captures just the token; what it is goes to stderr.
 */
export function tokensCommand(ctx: CliContext): Command {
  const clientFor = (options: ConnectionOptions) =>
    createOpsClient(gatewayUrl(ctx, options), opsToken(ctx, options), answerTimeout(options));
  const tokens = new Command('tokens').description('Create, list and revoke ops API tokens (needs an admin token)');

  withConnection(
    tokens
      .command('create')
      .description('Create a token with a role; it is printed once and cannot be shown again')
      .requiredOption('--name <name>', 'a unique name: it appears in the audit log as the actor')
      .requiredOption('--role <role>', 'viewer, operator, admin or metrics')
      .option('--expires-in <duration>', 'lifetime such as 90m, 12h, 30d or 4w (default: no expiry)')
      .option('--json', 'print the whole answer as JSON (token included)'),
  ).action(async (options: ConnectionOptions & { name: string; role: string; expiresIn?: string; json?: boolean }) => {
    const created = await clientFor(options).post<z.infer<typeof CreatedToken>>('/api/tokens', {
      name: options.name,
      role: options.role,
      ...(options.expiresIn ? { expires_in: options.expiresIn } : {}),
    });
    if (options.json) return ctx.out(terminalJson(created));
    ctx.err(
      terminalSafe(
        `Created token "${created.name}" (${created.role}${created.expires_at ? `, expires ${shortTime(created.expires_at)} UTC` : ''}). Store it now: it is not shown again.`,
      ),
    );
    ctx.out(created.token);
  });

  withConnection(
    tokens
      .command('list')
      .description('List tokens: name, role, prefix, dates (never the tokens)')
      .option('--json', 'print JSON'),
  ).action(async (options: ConnectionOptions & { json?: boolean }) => {
    const { tokens: list } = await clientFor(options).get<z.infer<typeof TokenList>>('/api/tokens');
    if (options.json) return ctx.out(terminalJson(list));
    if (list.length === 0) return ctx.out('No tokens yet (OPS_API_TOKEN is the bootstrap admin token).');
    ctx.out(
      formatTable(
        ['NAME', 'ROLE', 'PREFIX', 'CREATED', 'EXPIRES', 'LAST USED', 'STATE'],
        list.map((t) => [
          t.name,
          t.role,
          t.prefix,
          shortTime(t.created_at),
          shortTime(t.expires_at),
          shortTime(t.last_used_at),
          state(t),
        ]),
      ),
    );
  });

  withConnection(
    tokens
      .command('revoke')
      .description('Revoke a token now (refused everywhere within a second)')
      .argument('<name>', 'the token name'),
  ).action(async (name: string, options: ConnectionOptions) => {
    const revoked = await clientFor(options).delete<z.infer<typeof TokenView>>(
      `/api/tokens/${encodeURIComponent(name)}`,
    );
    ctx.out(terminalSafe(`Revoked token "${revoked.name}" at ${shortTime(revoked.revoked_at)} UTC.`));
  });
  return tokens;
}

function state(t: z.infer<typeof TokenView>): string {
  if (t.revoked_at) return 'revoked';
  if (t.expires_at && Date.parse(t.expires_at) <= Date.now()) return 'expired';
  return 'active';
}
