import pino, { type Logger } from 'pino';
import { describeDatabaseError, sqlState } from './db/errors';
import { describeError } from './errors';
import { createOutageLog, type OutageLog } from './db/outage';

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
  const logger = pino(
    {
      level,
      base: { pid: process.pid },
      hooks: {
        // A warning or error caused by the database being unreachable is told once by the outage
        // log (src/db/outage.ts); the line itself goes to debug, so LOG_LEVEL=debug still shows it.
        logMethod(args, method, lineLevel) {
          const fields = args[0] as { err?: unknown; cause?: unknown; component?: unknown } | undefined;
          const err = typeof fields === 'object' && fields !== null ? (fields.err ?? fields.cause) : undefined;
          if (lineLevel >= 40 && err !== undefined && outage.absorbs(err, this.bindings().component)) {
            if (this.isLevelEnabled('debug')) this.debug(...(args as [object, string]));
            return;
          }
          method.apply(this, args);
        },
      },
      serializers: { err: serializeError, cause: serializeCause },
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
  const outage = createOutageLog({ write: (lineLevel, fields, message) => logger[lineLevel](fields, message) });
  (logger as OutageAware)[OUTAGE] = outage;
  return logger;
}

const OUTAGE = Symbol('database outage log');
type OutageAware = Logger & { [OUTAGE]?: OutageLog };

/**
 * The outage log of a logger made by `createLogger` (children share their root's), so the gateway
 * can tell it how to probe the database. Undefined for a logger from elsewhere (an embedder's).
 */
export const outageLogOf = (logger: Logger): OutageLog | undefined => (logger as OutageAware)[OUTAGE];

/**
 * A `cause` is logged as one line (`describeError`: a database error without its parameters); the
 * error object itself stays in the call, so the outage log can tell an unreachable database.
 */
export const serializeCause = (cause: unknown): unknown => (cause instanceof Error ? describeError(cause) : cause);

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
