import type { Command } from 'commander';
import { answerTimeout, gatewayUrl, opsToken, type CliContext, type ConnectionOptions } from './context';
import { withConnection } from './events';
import { ifMatchHeader, withIfMatch, type IfMatchOptions } from './if-match';
import { createOpsClient } from './ops-client';

// `pause`, `resume` and `delete` of the two runtime resources the CLI manages (sources and
// destinations): the same requests and If-Match handling; only the descriptions and what an
// answer says is held differ.

/** What a resource's `pause`/`resume`/`delete` commands say and read from an answer. */
export interface PauseCommandsSpec<View> {
  /** The resource's path under the ops API ("/api/sources/<name>"). */
  readonly path: (name: string) => string;
  readonly describe: { readonly pause: string; readonly resume: string; readonly delete: string };
  /** What the answer to pause/resume says is waiting ("3 event(s) on hold"). */
  readonly waiting: (answer: View) => string;
}

/** A client of the ops API for one command's connection options. */
export const opsClientFor = (ctx: CliContext, options: ConnectionOptions) =>
  createOpsClient(gatewayUrl(ctx, options), opsToken(ctx, options), answerTimeout(options));

/** Adds `pause <name>`, `resume <name>` and `delete <name>` to `parent`. */
export function addPauseCommands<View>(parent: Command, ctx: CliContext, spec: PauseCommandsSpec<View>): void {
  for (const action of ['pause', 'resume'] as const) {
    withIfMatch(withConnection(parent.command(`${action} <name>`).description(spec.describe[action]))).action(
      async (name: string, options: ConnectionOptions & IfMatchOptions) => {
        const answer = await opsClientFor(ctx, options).call<View>(
          'POST',
          `${spec.path(name)}/${action}`,
          undefined,
          ifMatchHeader(options),
        );
        ctx.out(`${name} ${action === 'pause' ? 'paused' : 'resumed'} (${spec.waiting(answer)})`);
      },
    );
  }
  withIfMatch(withConnection(parent.command('delete <name>').description(spec.describe.delete))).action(
    async (name: string, options: ConnectionOptions & IfMatchOptions) => {
      await opsClientFor(ctx, options).call('DELETE', spec.path(name), undefined, ifMatchHeader(options));
      ctx.out(`deleted ${name}`);
    },
  );
}
