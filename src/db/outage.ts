import { sqlState } from './errors';

/** postgres.js's own connection errors: "the database cannot be reached", whatever the statement. */
const DRIVER_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_ENDED', 'CONNECTION_DESTROYED', 'CONNECT_TIMEOUT']);

/**
 * Socket errors postgres.js passes on. The same codes come from a destination's fetch, an alert
 * channel or an SFTP poll, which are not the database: they count only on an error postgres.js
 * rejected a statement with (it defines `query` on it, src/connection.js queryError) or one a
 * failed drizzle query wraps.
 */
const SOCKET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * SQLSTATEs of a server that is going away or not accepting sessions yet: 57P01 admin shutdown,
 * 57P02 crash shutdown, 57P03 cannot connect now (starting up or recovering); class 08 covers
 * connection exceptions.
 */
const UNREACHABLE_STATES = new Set(['57P01', '57P02', '57P03']);

/** The code that says why the database is unreachable, or undefined when `err` is anything else. */
export function unreachableCode(err: unknown): string | undefined {
  const state = sqlState(err);
  if (state !== undefined) return state.startsWith('08') || UNREACHABLE_STATES.has(state) ? state : undefined;
  let ofStatement = false;
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 10; e = e.cause, depth++) {
    ofStatement ||= 'query' in e;
    const code = (e as { code?: unknown }).code;
    if (typeof code !== 'string') continue;
    if (DRIVER_CODES.has(code) || (ofStatement && SOCKET_CODES.has(code))) return code;
  }
  return undefined;
}

export interface OutageLogOptions {
  /** Writes one line of the outage's own (never an error object: only codes and counts). */
  write(level: 'error' | 'warn' | 'info', fields: Record<string, unknown>, message: string): void;
  /** How often a still-running outage is mentioned again. */
  remindEveryMs?: number;
  /** How often the database is tried while it is down, to log the end of the outage. */
  probeEveryMs?: number;
  now?: () => number;
}

/**
 * One outage, one story in the log. While the database is down every component fails on every
 * tick (the worker's claim each second, lease recovery, maintenance, charts, alerts, the source
 * registry, each ingest request's 503): measured over a 20 s outage on PostgreSQL, 116 warn/error
 * lines, most with a stack. Instead the outage is logged once when it starts (error, with the
 * code), reminded at most every `remindEveryMs` (warn), and once when a probe reaches the database
 * again (info, with its duration); the components' own lines for it go to debug.
 */
export function createOutageLog({
  write,
  remindEveryMs = 60_000,
  probeEveryMs = 1000,
  now = Date.now,
}: OutageLogOptions) {
  let down: { since: number; failures: number; lastMentioned: number } | undefined;
  let probe: (() => Promise<boolean>) | undefined;
  let timer: NodeJS.Timeout | undefined;
  let probing = false;

  function startProbing(): void {
    if (!probe || timer) return;
    timer = setInterval(() => {
      if (probing || !down) return;
      probing = true;
      probe!()
        .then((reachable) => reachable && ended())
        .catch(() => {})
        .finally(() => (probing = false));
    }, probeEveryMs);
    timer.unref();
  }

  function ended(): void {
    if (!down) return;
    const downSeconds = Math.round((now() - down.since) / 100) / 10;
    write('info', { downSeconds, failures: down.failures }, 'database reachable again');
    down = undefined;
    clearInterval(timer);
    timer = undefined;
  }

  return {
    /**
     * True when `err` means the database is unreachable: the outage is noted (its start logged
     * once, a reminder now and then) and the caller's own line belongs at debug.
     */
    absorbs(err: unknown, component?: unknown): boolean {
      const code = unreachableCode(err);
      if (code === undefined) return false;
      const at = now();
      if (!down) {
        down = { since: at, failures: 1, lastMentioned: at };
        write(
          'error',
          { code, component },
          'database unreachable; ingest answers 503 and processing waits until it is back',
        );
        startProbing();
        return true;
      }
      down.failures++;
      if (at - down.lastMentioned >= remindEveryMs) {
        down.lastMentioned = at;
        const downSeconds = Math.round((at - down.since) / 1000);
        write('warn', { code, downSeconds, failures: down.failures }, 'database still unreachable');
      }
      return true;
    },
    /** How to tell the database is back (resolves true when a statement succeeded). */
    watch(reachable: () => Promise<boolean>): void {
      probe = reachable;
      if (down) startProbing();
    },
    /** Stops probing (at shutdown). */
    stop(): void {
      probe = undefined;
      clearInterval(timer);
      timer = undefined;
    },
  };
}

export type OutageLog = ReturnType<typeof createOutageLog>;
