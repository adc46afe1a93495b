// The stats API's JSON shapes. No imports on purpose: the browser code (src/ui/app, its own
// tsconfig without Node types) imports these types too, so server and UI share one definition.

/** GET /api/stats: operational figures over a window. */
export interface Stats {
  window: { since: string };
  by_status: Record<string, number>;
  by_source: Record<string, Record<string, number>>;
  success_rate: number | null;
  latency_ms: { p50: number | null; p90: number | null; p99: number | null };
  retries: { events_retried: number; extra_attempts: number };
  queue: {
    due: number;
    scheduled_retries: number;
    /** Events of ordered sources waiting behind their key's head (docs/ordering.md). */
    waiting_in_order: number;
    processing: number;
    oldest_due_age_seconds: number | null;
  };
}

export const SERIES_WINDOWS = { '1h': 60, '6h': 360, '24h': 1440 } as const;
export type SeriesWindow = keyof typeof SERIES_WINDOWS;

/** GET /api/stats/series: one entry per minute in each array, oldest first (uPlot's aligned data). */
export interface StatsSeries {
  window: SeriesWindow;
  source: string | null;
  step_seconds: number;
  /** Sources with counts in the window, for a picker. */
  sources: string[];
  /** Column arrays of equal length, one entry per minute, oldest first (uPlot's aligned data). */
  series: {
    t: number[];
    received: number[];
    completed: number[];
    failed: number[];
    rejected: number[];
    latency_p50_ms: (number | null)[];
    latency_p99_ms: (number | null)[];
    backlog: (number | null)[];
  };
}
