// Small display pieces shared by every page: status badges, times, durations, notices.

const KNOWN = new Set(['received', 'processing', 'completed', 'failed', 'running', 'retry', 'abandoned', 'delivered']);

/** A coloured status (or attempt outcome) badge; the word is always shown, colour only adds to it. */
export function Badge({ status }: { status: string }) {
  return <span class={`badge status-${KNOWN.has(status) ? status : 'other'}`}>{status}</span>;
}

const pad = (n: number) => String(n).padStart(2, '0');

/** A <time> in local time (2026-11-23 10:15:02), the exact UTC instant in its title. */
export function Time({ iso }: { iso: string | null | undefined }) {
  if (!iso) return <span class="muted">–</span>;
  const d = new Date(iso);
  const text = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  return (
    <time dateTime={iso} title={iso}>
      {text}
    </time>
  );
}

/** 12 ms, 1.4 s, 3.2 min. */
export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '–';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60_000).toFixed(1)} min`;
}

/** "1 event", "2 events". */
export const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** A status line: role=alert for errors (read out at once), role=status otherwise. */
export function Notice({ kind, children }: { kind: 'error' | 'ok' | 'info'; children: preact.ComponentChildren }) {
  return (
    <p class={`message ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}
