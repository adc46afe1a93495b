import type { Logger } from 'pino';

export interface RejectionLogOptions {
  logger: Logger;
  /** Lines logged per source and reason in one interval; the rest are counted. */
  limit: number;
  intervalMs: number;
}

export interface RejectionLog {
  rejected(entry: { source: string; reason: string; status: number; client: string }): void;
  /** Writes the pending summaries now (at shutdown). */
  flush(): void;
}

interface Window {
  logged: number;
  suppressed: number;
  timer?: NodeJS.Timeout;
}

/**
 * Rejected ingest requests at `info`: source, reason code, status and client address — never a
 * header, a signature or a secret. A flood must not flood the log: per source and reason, at most
 * `limit` lines per interval, then one summary line with the count of those not logged when the
 * interval ends. Keys are configured source names × the gateway's own error codes, so the map
 * stays small whatever is sent.
 */
export function createRejectionLog(options: RejectionLogOptions): RejectionLog {
  const windows = new Map<string, Window>();

  const close = (key: string, source: string, reason: string) => {
    const window = windows.get(key);
    if (!window) return;
    clearTimeout(window.timer);
    windows.delete(key);
    if (window.suppressed > 0) {
      options.logger.info(
        { source, reason, suppressed: window.suppressed, intervalSeconds: options.intervalMs / 1000 },
        `${window.suppressed} more rejected requests (${source}, ${reason}) were not logged`,
      );
    }
  };

  return {
    rejected({ source, reason, status, client }) {
      const key = `${source}\u0000${reason}`;
      let window = windows.get(key);
      if (!window) {
        window = { logged: 0, suppressed: 0 };
        windows.set(key, window);
        window.timer = setTimeout(() => close(key, source, reason), options.intervalMs);
        window.timer.unref();
      }
      if (window.logged < options.limit) {
        window.logged += 1;
        options.logger.info({ source, reason, status, client }, 'request rejected');
      } else {
        window.suppressed += 1;
      }
    },
    flush() {
      for (const key of [...windows.keys()]) {
        const [source = '', reason = ''] = key.split('\u0000');
        close(key, source, reason);
      }
    },
  };
}
