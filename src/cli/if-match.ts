import type { Command } from 'commander';
import { usageError } from './context';

/** --if-match as typed, on the commands that change one source or destination. */
export interface IfMatchOptions {
  ifMatch?: string;
}

/**
 * --if-match <version>: the change is made only if the item is still at the version `get` or
 * `list --json` printed, so a change someone made since is not acted on blindly (412, nothing
 * written). Without it the command acts on whatever is stored, as before.
 */
export function withIfMatch(command: Command): Command {
  return command.option(
    '--if-match <version>',
    'only if it is still at this version (as `get` printed it); else refused with 412 and nothing changed',
  );
}

/** The If-Match header for --if-match, or none. */
export function ifMatchHeader(options: IfMatchOptions): Record<string, string> | undefined {
  if (options.ifMatch === undefined) return undefined;
  if (!/^\d{1,9}$/.test(options.ifMatch))
    throw usageError('--if-match must be the version `get` printed, a whole number such as 3');
  return { 'if-match': `"${options.ifMatch}"` };
}
