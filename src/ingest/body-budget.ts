import { GatewayError } from '../errors';

/**
 * The ingest body bytes this process may hold in memory at once, over all connections
 * (INGEST_BODY_BUDGET_BYTES). A body is read before its signature can be checked (the HMAC needs
 * the bytes), so without this bound anyone who can reach the port could make the process buffer
 * MAX_CONNECTIONS × MAX_BODY_BYTES (measured: 300 connections holding 1 MiB each took the RSS from
 * 160 MB to 462 MB, 900 to 982 MB). A request takes its bytes before its body is read and gives them
 * back when it ends, however it ends; one that does not fit may wait a bounded time for them
 * (waitToTake), and is refused with 503 when they do not come.
 *
 * Plain integer arithmetic on the fast path: it runs for every webhook.
 */
export interface BodyBudget {
  readonly totalBytes: number;
  /** Takes `bytes` when they fit in what is left and says so; takes nothing when they do not. */
  tryTake(bytes: number): boolean;
  /**
   * For a request tryTake refused: waits, behind the requests already waiting, for `bytes` to be
   * given back by requests in flight, and takes them. False (nothing taken) when waiting is off,
   * `maxWaiting` requests already wait, `waitMs` passes first, or `signal` aborts (the client left).
   */
  waitToTake(bytes: number, signal?: AbortSignal): Promise<boolean>;
  /** Gives back bytes taken with tryTake or waitToTake, and hands them to waiting requests that now fit. */
  release(bytes: number): void;
  /** Bytes taken now. */
  held(): number;
  /** Requests waiting for bytes now. */
  waiting(): number;
}

/** How long, and how many, requests whose body does not fit may wait for room (INGEST_BODY_WAIT_*). */
export interface BodyBudgetWait {
  /** Longest wait for room, in ms; 0 refuses at once. */
  waitMs: number;
  /** Most requests waiting at once; more are refused at once. */
  maxWaiting: number;
}

interface Waiter {
  bytes: number;
  grant: (taken: boolean) => void;
}

export function createBodyBudget(totalBytes: number, wait: BodyBudgetWait = { waitMs: 0, maxWaiting: 0 }): BodyBudget {
  let held = 0;
  // In arrival order. Each release walks it from the front and admits every waiter that now fits,
  // so the longest-waiting request is served first whenever it fits, and a small one behind a large
  // one is not held back by it (first fit: no waiter takes bytes another could not have taken).
  const waiters: Waiter[] = [];

  const admitWaiters = () => {
    for (let i = 0; i < waiters.length && held < totalBytes;) {
      const waiter = waiters[i]!;
      if (held + waiter.bytes > totalBytes) {
        i++;
        continue;
      }
      held += waiter.bytes;
      waiters.splice(i, 1);
      waiter.grant(true);
    }
  };

  return {
    totalBytes,
    tryTake(bytes) {
      if (held + bytes > totalBytes) return false;
      held += bytes;
      return true;
    },
    waitToTake(bytes, signal) {
      if (wait.waitMs === 0 || waiters.length >= wait.maxWaiting || bytes > totalBytes || signal?.aborted) {
        return Promise.resolve(false);
      }
      return new Promise<boolean>((resolve) => {
        const waiter: Waiter = {
          bytes,
          grant: (taken) => {
            clearTimeout(timer);
            signal?.removeEventListener('abort', giveUp);
            resolve(taken);
          },
        };
        const giveUp = () => {
          const at = waiters.indexOf(waiter);
          if (at === -1) return;
          waiters.splice(at, 1);
          waiter.grant(false);
        };
        const timer = setTimeout(giveUp, wait.waitMs);
        signal?.addEventListener('abort', giveUp, { once: true });
        waiters.push(waiter);
      });
    },
    release(bytes) {
      held -= bytes;
      if (waiters.length > 0) admitWaiters();
    },
    held: () => held,
    waiting: () => waiters.length,
  };
}

/**
 * Bodies held by other requests are answered or timed out within REQUEST_TIMEOUT_MS plus the write
 * timeout at worst, and usually within a few seconds even for 25 MB; a retry a few seconds later
 * finds room.
 */
const RETRY_AFTER_SECONDS = '5';

/** The answer to a request whose body does not fit in the budget now. */
export const ingestBusy = () =>
  new GatewayError(503, 'ingest_busy', 'The gateway holds as many request bodies as it may right now; retry later', {
    internal: false,
    headers: { 'retry-after': RETRY_AFTER_SECONDS },
  });
