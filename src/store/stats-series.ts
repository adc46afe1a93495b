import { addHistogram, emptyHistogram, quantile } from './latency-histogram';
import type { StatsMinutes } from './stats-minute';
import { SERIES_WINDOWS, type SeriesWindow, type StatsSeries } from './stats-shapes';

export type { SeriesWindow, StatsSeries };

/** Per-minute series for a window ending with the current minute, from the rollup only. */
export async function statsSeries(
  minutes: StatsMinutes,
  window: SeriesWindow,
  source: string | undefined,
  now = Date.now(),
): Promise<StatsSeries> {
  const count = SERIES_WINDOWS[window];
  const end = Math.floor(now / 60_000) * 60_000 + 60_000;
  const start = end - count * 60_000;
  const [stored, sources] = await Promise.all([
    minutes.range(new Date(start), new Date(end), source),
    minutes.sources(new Date(start), new Date(end)),
  ]);
  const t = Array.from({ length: count }, (_, i) => (start + i * 60_000) / 1000);
  const zeros = () => new Array<number>(count).fill(0);
  const series: StatsSeries['series'] = {
    t,
    received: zeros(),
    completed: zeros(),
    failed: zeros(),
    rejected: zeros(),
    latency_p50_ms: new Array<number | null>(count).fill(null),
    latency_p99_ms: new Array<number | null>(count).fill(null),
    backlog: new Array<number | null>(count).fill(null),
  };
  const histograms = new Map<number, number[]>();
  for (const row of stored) {
    const i = (row.t * 1000 - start) / 60_000;
    if (!(i >= 0 && i < count)) continue;
    series.received[i]! += row.received;
    series.completed[i]! += row.completed;
    series.failed[i]! += row.failed;
    series.rejected[i]! += row.rejected;
    if (row.backlog !== null) series.backlog[i] = (series.backlog[i] ?? 0) + row.backlog;
    if (row.latency) {
      let histogram = histograms.get(i);
      if (!histogram) histograms.set(i, (histogram = emptyHistogram()));
      addHistogram(histogram, row.latency);
    }
  }
  for (const [i, histogram] of histograms) {
    series.latency_p50_ms[i] = quantile(histogram, 0.5);
    series.latency_p99_ms[i] = quantile(histogram, 0.99);
  }
  return { window, source: source ?? null, step_seconds: 60, sources, series };
}
