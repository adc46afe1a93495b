// ssh2 puts no time limit on an SFTP request: a server that stops answering (overloaded, or
// hostile) left a READDIR, a read or a remove waiting forever, and the run kept heart-beating,
// so the source's lock was held for good. Every request now has `operation_timeout_ms`.

/** The SFTP server did not answer one request in time. */
export class SftpTimeoutError extends Error {
  override name = 'SftpTimeoutError';
  constructor(what: string, ms: number) {
    super(`the SFTP server did not answer ${what} within ${ms} ms`);
  }
}

/** `promise`, or SftpTimeoutError after `ms` (then `onTimeout` runs, e.g. to end the connection). */
export function answerWithin<T>(promise: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(new SftpTimeoutError(what, ms));
    }, ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/**
 * The chunks of `source`, each within `ms` (a download is one read request per chunk: a stall of
 * one is a stall of the file). On a stall `onTimeout` runs and SftpTimeoutError is thrown; the
 * source is let go (a Node stream is destroyed).
 */
export async function* eachWithin<T>(
  source: AsyncIterable<T>,
  ms: number,
  what: string,
  onTimeout: () => void,
): AsyncGenerator<T> {
  const iterator = source[Symbol.asyncIterator]();
  let finished = false;
  try {
    for (;;) {
      const next = await answerWithin(iterator.next(), ms, what, onTimeout);
      if (next.done) {
        finished = true;
        return;
      }
      yield next.value;
    }
  } finally {
    // Not awaited: a stalled stream may settle its return only when its connection ends.
    if (!finished) void iterator.return?.()?.catch(() => {});
  }
}
