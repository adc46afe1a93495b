import pino, { type Logger } from 'pino';
import { describeDatabaseError, sqlState } from './db/errors';

/**
 * pino JSON logs. Header and credential fields are redacted as a second line of defence: the code
 * never logs headers or secrets in the first place. Errors logged as `err` go through
 * `serializeError`, so a failed query never writes its parameters to the log.
 *
 * Written to stdout synchronously. pino's default asynchronous stdout flushes at exit with
 * sonic-boom's flushSync, which (4.2.1) retries any failed write every 100 ms for ever: once the
 * reader of the log had gone (a closed pipe, EPIPE), SIGTERM stopped the server but the process
 * never exited, nor did its forced exit. A synchronous write sees EPIPE at once and pino then drops
 * further lines. The gateway logs little per request (rejections are rate-limited), so writing on
 * the main thread costs little; the price is that a reader that stops reading without closing its
 * pipe now holds the process once the pipe is full, where the asynchronous stream grew its buffer.
 */
export function createLogger(
  level: string,
  destination: pino.DestinationStream = pino.destination({ dest: 1, sync: true }),
): Logger {
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
