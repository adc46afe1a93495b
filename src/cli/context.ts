import { applyEdits, format } from 'jsonc-parser';
import type { GatewayConfig } from '../config/env';
import { stringifyExact } from '../json/exact-values';

/** A failure the CLI reports as one line on stderr with its exit code (1: it failed, 2: wrong usage). */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    /** The gateway's error code when the gateway refused (source_not_found, …), for callers that handle one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Wrong arguments or missing settings: exit code 2, like an invalid configuration. */
export const usageError = (message: string) => new CliError(message, 2);

/** What every command gets: output streams and the gateway's configuration, loaded only when needed. */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  /** loadConfig() on first use; throws ConfigError (exit 2) when the environment is invalid. */
  config(): GatewayConfig;
  /** Set by `start`: the process keeps running after the command returns. */
  keepRunning: boolean;
}

/** Options every command that talks to a running gateway accepts. */
export interface ConnectionOptions {
  url?: string;
  token?: string;
  /** --answer-timeout-ms as typed; undefined means the default. */
  answerTimeoutMs?: string;
}

/** Longest --answer-timeout-ms: an hour. */
const MAX_TIMEOUT_MS = 3_600_000;

/** --answer-timeout-ms as a number of milliseconds, or undefined for the client's default. */
export function answerTimeout(options: ConnectionOptions): number | undefined {
  if (options.answerTimeoutMs === undefined) return undefined;
  const ms = Number(options.answerTimeoutMs);
  if (!/^\d+$/.test(options.answerTimeoutMs) || ms < 1 || ms > MAX_TIMEOUT_MS)
    throw usageError(`--answer-timeout-ms must be a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`);
  return ms;
}

/** The gateway's base URL: --url, else this machine on the configured PORT. */
export function gatewayUrl(ctx: CliContext, options: ConnectionOptions): string {
  const url = options.url ?? `http://localhost:${ctx.config().port}`;
  if (!/^https?:\/\/[^/]/i.test(url))
    throw usageError(`--url must be an http(s) URL such as http://localhost:3000, not "${url}"`);
  return url.replace(/\/+$/, '');
}

/** The ops token: --token, else the first of OPS_API_TOKEN (the gateway's own setting). */
export function opsToken(ctx: CliContext, options: ConnectionOptions): string {
  const token = options.token ?? ctx.config().opsTokens[0];
  if (!token) throw usageError('No ops API token: pass --token <token> or set OPS_API_TOKEN');
  return token;
}

// Control characters could move the cursor or recolour the screen when an event carries them, and
// bidirectional overrides could make a line read differently from what it holds.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const UNSAFE_IN_JSON = /[\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const escapeChar = (c: string) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** Text from the gateway made safe for a terminal: unsafe characters are shown as \uXXXX escapes. */
export const terminalSafe = (text: string) => text.replace(UNSAFE, escapeChar);

/** JSON for a terminal, pretty unless `indent` is 0 (JSON.stringify already escapes C0 controls in strings). */
export const terminalJson = (value: unknown, indent = 2) =>
  stringifyExact(value, indent).replace(UNSAFE_IN_JSON, escapeChar);

/**
 * JSON text from the gateway for a terminal, re-indented token by token (jsonc-parser's formatter)
 * without parsing it into values: numbers stay exactly as sent (820982911946154508, 1e400, -0),
 * and keys keep their order. Valid JSON holds no raw C0 controls, so only C1 and bidi characters
 * need escaping.
 */
export function terminalJsonText(text: string, indent = 2): string {
  const formatted =
    indent > 0 ? applyEdits(text, format(text, undefined, { tabSize: indent, insertSpaces: true, eol: '\n' })) : text;
  return formatted.replace(UNSAFE_IN_JSON, escapeChar);
}
