import { EVENT_STATUSES } from '../api/types';
import { useStats } from '../hooks/stats';
import { duration, Notice } from './format';

/** Figures for the last 24 hours: events per status (each links to the list), rate, latency, queue. */
export function StatsStrip() {
  const { data: stats, error } = useStats();
  if (error && !stats) return <Notice kind="error">Figures unavailable: {error.message}</Notice>;
  if (!stats) return <p class="muted">Loading figures…</p>;
  const rate = stats.success_rate === null ? '–' : `${(stats.success_rate * 100).toFixed(1)} %`;
  const { queue, latency_ms: latency } = stats;
  const oldest =
    queue.oldest_due_age_seconds === null ? null : `oldest ${duration(queue.oldest_due_age_seconds * 1000)}`;
  return (
    <dl class="stat-grid" aria-label="Last 24 hours">
      {EVENT_STATUSES.map((status) => (
        <Stat key={status} label={status[0]!.toUpperCase() + status.slice(1)} class={`status-${status}`}>
          <a href={`/ui/events?status=${status}`}>{String(stats.by_status[status] ?? 0)}</a>
        </Stat>
      ))}
      <Stat label="Success rate">{rate}</Stat>
      <Stat label="Latency p50 / p99" class="wide">{`${duration(latency.p50)} / ${duration(latency.p99)}`}</Stat>
      <Stat label="Queue due" extra={oldest}>
        {String(queue.due)}
      </Stat>
      <Stat label="Retries scheduled">{String(queue.scheduled_retries)}</Stat>
    </dl>
  );
}

function Stat(props: { label: string; extra?: string | null; class?: string; children: preact.ComponentChildren }) {
  return (
    <div class={`stat ${props.class ?? ''}`}>
      <dt>{props.label}</dt>
      <dd>
        {props.children}
        {props.extra ? <small> {props.extra}</small> : null}
      </dd>
    </div>
  );
}
