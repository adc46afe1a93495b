import { useEffect, useState } from 'preact/hooks';
import type { SeriesWindow, StatsSeries } from '../api/types';
import { useResource } from '../hooks/useResource';
import { useApi } from '../session';
import { Chart, type ChartSeries } from './Chart';
import { duration, Notice } from './format';

const REFRESH_MS = 15_000;
const WINDOWS: { value: SeriesWindow; label: string }[] = [
  { value: '1h', label: 'Last hour' },
  { value: '6h', label: 'Last 6 hours' },
  { value: '24h', label: 'Last 24 hours' },
];

// Module constants: the Chart is drawn afresh only when its series change, never on new data.
const COUNTS: ChartSeries[] = [
  { label: 'Received', stroke: '#174a8b' },
  { label: 'Completed', stroke: '#17612f' },
  { label: 'Failed', stroke: '#9b1c1c' },
  { label: 'Rejected', stroke: '#c25e00' },
];
// Minutes without a completion (or a sample) have no value: points show a lone minute, the line bridges the gaps.
const LATENCY: ChartSeries[] = [
  { label: 'p50 (ms)', stroke: '#1f4e8c', sparse: true },
  { label: 'p99 (ms)', stroke: '#7a5200', sparse: true },
];
const BACKLOG: ChartSeries[] = [{ label: 'Due events', stroke: '#3e4856', sparse: true }];

const total = (values: (number | null)[]) => values.reduce<number>((sum, n) => sum + (n ?? 0), 0);
const largest = (values: (number | null)[]) =>
  values.reduce<number | null>((max, n) => (n === null ? max : Math.max(max ?? 0, n)), null);
const latest = (values: (number | null)[]) => [...values].reverse().find((n) => n !== null) ?? null;

/**
 * The dashboard's time series (GET /api/stats/series): requests and events per minute, latency
 * percentiles and backlog, for a window and optionally one source; refreshed every 15 s.
 */
export function SeriesCharts() {
  const api = useApi();
  const [range, setRange] = useState<SeriesWindow>('1h');
  const [source, setSource] = useState('');
  const series = useResource(
    (signal) => api.statsSeries({ window: range, source: source || undefined }, signal),
    [api, range, source],
  );
  useEffect(() => {
    const timer = setInterval(series.reload, REFRESH_MS);
    return () => clearInterval(timer);
  }, [series.reload]);

  const data = series.data;
  const span = WINDOWS.find((w) => w.value === range)!.label.toLowerCase();
  const who = source ? ` (${source})` : '';
  return (
    <>
      <form class="chart-controls" aria-label="Chart window and source" onSubmit={(e) => e.preventDefault()}>
        <label for="chart-window">Window</label>
        <select
          id="chart-window"
          name="window"
          value={range}
          onChange={(e) => setRange(e.currentTarget.value as SeriesWindow)}
        >
          {WINDOWS.map((w) => (
            <option key={w.value} value={w.value}>
              {w.label}
            </option>
          ))}
        </select>
        <label for="chart-source">Source</label>
        <select id="chart-source" name="source" value={source} onChange={(e) => setSource(e.currentTarget.value)}>
          <option value="">all sources</option>
          {[...new Set([...(data?.sources ?? []), ...(source ? [source] : [])])].map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </form>
      {series.error && !data ? <Notice kind="error">Charts unavailable: {series.error.message}</Notice> : null}
      {data ? <Figures data={data} span={span} who={who} /> : <p class="muted">Loading charts…</p>}
    </>
  );
}

function Figures({ data, span, who }: { data: StatsSeries; span: string; who: string }) {
  const s = data.series;
  const p99 = largest(s.latency_p99_ms);
  const backlogNow = latest(s.backlog);
  return (
    <div class="chart-grid">
      <Chart
        title={`Requests and events per minute, ${span}${who}`}
        series={COUNTS}
        data={[s.t, s.received, s.completed, s.failed, s.rejected]}
        summary={`${span}${who}: ${total(s.received)} received, ${total(s.completed)} completed, ${total(s.failed)} failed, ${total(s.rejected)} rejected.`}
      />
      <Chart
        title={`Receive → completed latency per minute, ${span}${who}`}
        series={LATENCY}
        data={[s.t, s.latency_p50_ms, s.latency_p99_ms]}
        summary={p99 === null ? `No event completed ${span}${who}.` : `Highest p99 ${duration(p99)} ${span}${who}.`}
      />
      <Chart
        title={`Backlog (due events), ${span}${who}`}
        series={BACKLOG}
        data={[s.t, s.backlog]}
        summary={
          backlogNow === null
            ? `Backlog not sampled ${span}.`
            : `${backlogNow} due now; at most ${largest(s.backlog)} ${span}${who}.`
        }
      />
    </div>
  );
}
