/**
 * Database errors, described without the data they carry. A failed drizzle query's message is
 * "Failed query: <sql> params: <every parameter>" (payload bytes, nonces, ids), and the server's own
 * message and detail quote values too: `invalid input syntax for type … : "<value>"`, `Failing row
 * contains (<the whole row>)`. None of that may reach a log, an API answer or a stored error column,
 * so every place that reports a database error goes through `describeDatabaseError`.
 */

/** The server-side error found in a cause chain (postgres.js PostgresError, PGlite DatabaseError). */
interface ServerError {
  code: string;
  constraint?: string;
  table?: string;
  column?: string;
  constraint_name?: string;
  table_name?: string;
  column_name?: string;
}

const SQLSTATE = /^[0-9A-Z]{5}$/;

/** Condition names of the SQLSTATEs the gateway meets (PostgreSQL "Appendix A. Error Codes"). */
const CONDITIONS: Record<string, string> = {
  '22001': 'string data right truncation',
  '22003': 'numeric value out of range',
  '22007': 'invalid datetime format',
  '22008': 'datetime field overflow',
  '22021': 'character not in repertoire',
  '22P02': 'invalid text representation',
  '22P05': 'untranslatable character',
  '23502': 'not null violation',
  '23503': 'foreign key violation',
  '23505': 'unique violation',
  '23514': 'check violation',
  '40001': 'serialization failure',
  '40P01': 'deadlock detected',
  '54000': 'program limit exceeded',
  '57014': 'query canceled',
  '57P01': 'admin shutdown',
  '53300': 'too many connections',
};

/** Class names (the first two characters), for codes not listed above. */
const CLASSES: Record<string, string> = {
  '08': 'connection exception',
  '22': 'data exception',
  '23': 'integrity constraint violation',
  '25': 'invalid transaction state',
  '28': 'invalid authorization specification',
  '3D': 'invalid catalog name',
  '40': 'transaction rollback',
  '42': 'syntax error or access rule violation',
  '53': 'insufficient resources',
  '54': 'program limit exceeded',
  '55': 'object not in prerequisite state',
  '57': 'operator intervention',
  '58': 'system error',
  XX: 'internal error',
};

/**
 * Classes whose server messages name only objects (databases, roles, relations, connections), never
 * values: their message helps the operator and is kept. Every other class is reduced to its name.
 */
const MESSAGE_IS_SAFE = new Set(['08', '28', '3D', '53', '55', '57', '58']);

/** The server error in `err`'s cause chain, if any. */
function serverError(err: unknown): (ServerError & { message: string }) | undefined {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    const { code, severity } = e as { code?: unknown; severity?: unknown };
    if (typeof code === 'string' && typeof severity === 'string' && SQLSTATE.test(code)) {
      return e as unknown as ServerError & { message: string };
    }
  }
  return undefined;
}

/** True when `err` is a failed drizzle query (its message and fields list the parameters). */
const isDrizzleQueryError = (err: unknown) =>
  err instanceof Error && err.message.startsWith('Failed query: ') && 'params' in err;

/** The SQLSTATE of a database error anywhere in the cause chain. */
export function sqlState(err: unknown): string | undefined {
  return serverError(err)?.code;
}

/**
 * True when the server refused a value (class 22 data exception, class 54 program limit exceeded,
 * e.g. an index row too large): the same request will fail the same way, so it is the client's
 * error (400), not an outage to retry (503).
 */
export function isDataError(err: unknown): boolean {
  const code = sqlState(err);
  return code !== undefined && (code.startsWith('22') || code.startsWith('54'));
}

/** True when `err` came from the database or its driver by way of a query. */
export function isDatabaseError(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    if (isDrizzleQueryError(e) || serverError(e)) return true;
  }
  return false;
}

/**
 * A one-line description of a database error that contains no parameter and no row value:
 * `database error 23514 (check violation) on constraint "x" of table "y"`. A query that failed
 * before reaching the server (connection refused, timeout) is described by its driver's error,
 * whose text names hosts and ports only. Undefined when `err` is not a database error.
 */
export function describeDatabaseError(err: unknown): string | undefined {
  const server = serverError(err);
  if (server) {
    const cls = server.code.slice(0, 2);
    const condition = CONDITIONS[server.code] ?? CLASSES[cls] ?? 'error';
    const where = [
      named('constraint', server.constraint ?? server.constraint_name),
      named('column', server.column ?? server.column_name),
      named('table', server.table ?? server.table_name),
    ].filter(Boolean);
    const message = MESSAGE_IS_SAFE.has(cls) ? `: ${server.message}` : '';
    return `database error ${server.code} (${condition})${where.length ? ` on ${where.join(' of ')}` : ''}${message}`;
  }
  if (!isDatabaseError(err)) return undefined;
  // A drizzle wrapper around a driver error that never reached the server. Connection-level errors
  // carry a code (ECONNREFUSED, CONNECT_TIMEOUT, CONNECTION_CLOSED) and name only hosts and ports;
  // anything else (a parameter the driver could not serialise) may quote the value: name only.
  const cause = (err as Error).cause;
  if (!(cause instanceof Error) || isDrizzleQueryError(cause)) return 'database query failed';
  const code = (cause as { code?: unknown }).code;
  return typeof code === 'string' ? `database query failed: ${cause.message}` : `database query failed: ${cause.name}`;
}

const named = (kind: string, name: string | undefined) => (name ? `${kind} "${name}"` : undefined);
