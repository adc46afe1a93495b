import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { describeDatabaseError } from './db/errors';

/**
 * The one error type of the gateway. `code` is stable and machine-readable, `message` says what
 * was wrong and what to do. Internal errors keep their cause for the log and show a generic message.
 */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly options: { internal?: boolean; cause?: unknown; headers?: Record<string, string> } = {},
  ) {
    super(message, { cause: options.cause });
  }

  get internal(): boolean {
    return this.options.internal ?? this.status >= 500;
  }

  toJSON() {
    return { error: { code: this.code, message: this.internal ? 'Internal error' : this.message } };
  }
}

export const badRequest = (code: string, message: string) => new GatewayError(400, code, message);
export const unauthorized = (code: string, message: string) => new GatewayError(401, code, message);
export const forbidden = (code: string, message: string) => new GatewayError(403, code, message);
export const notFound = (code: string, message: string) => new GatewayError(404, code, message);

/** The database could not be reached or failed: the provider should retry later. */
export const databaseUnavailable = (cause: unknown) =>
  new GatewayError(503, 'database_unavailable', 'Storage is unavailable; retry later', {
    internal: false,
    cause,
    headers: { 'retry-after': '5' },
  });

/**
 * One line about any error, for logs and stored error columns (last_error, poll run errors):
 * database errors without the parameters and values they quote (src/db/errors.ts), others as
 * `Name: message`.
 */
export function describeError(err: unknown): string {
  const database = describeDatabaseError(err);
  if (database) return database;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
