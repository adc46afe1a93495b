import pino, { type Logger } from 'pino';
import { describeDatabaseError, sqlState } from './db/errors';

/**
 * pino JSON logs. Header and credential fields are redacted as a second line of defence: the code
 * never logs headers or secrets in the first place. Errors logged as `err` go through
 * `serializeError`, so a failed query never writes its parameters to the log.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { pid: process.pid },
      serializers: { err: serializeError },
      redact: {
        paths: [
          'headers',
          '*.headers',
          'authorization',
          '*.authorization',
          'secret',
          '*.secret',
          'secrets',
          '*.secrets',
        ],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/**
 * pino's standard error serializer, except for database errors: their message, their fields
 * (`params`, `query`, `detail`, `where`) and the first line of their stack all quote the statement's
 * parameters or the row's values. Those are logged as the SQLSTATE, the safe description and the
 * stack frames only.
 */
export function serializeError(err: unknown): unknown {
  const description = describeDatabaseError(err);
  if (description === undefined) return pino.stdSerializers.err(err as Error);
  const frames = err instanceof Error ? (err.stack ?? '').split('\n').filter((line) => /^\s+at /.test(line)) : [];
  return {
    type: err instanceof Error ? err.name : typeof err,
    message: description,
    code: sqlState(err),
    stack: [description, ...frames].join('\n'),
  };
}
