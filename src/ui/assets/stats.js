import { api } from './api.js';
import { duration, h, navLink } from './dom.js';

const STATUSES = ['received', 'processing', 'completed', 'failed'];

/** Fills the stats strip (last 24 hours) and returns the sources seen, for the filter's suggestions. */
export async function loadStats(container) {
  const stats = await api('/api/stats');
  const item = (label, value, extra, className) =>
    h(
      'div',
      { class: `stat ${className ?? ''}` },
      h('dt', {}, label),
      h('dd', {}, value, extra ? h('small', {}, ` ${extra}`) : null),
    );
  const rate = stats.success_rate === null ? '–' : `${(stats.success_rate * 100).toFixed(1)} %`;
  const { queue, latency_ms: latency } = stats;
  const oldest =
    queue.oldest_due_age_seconds === null ? null : `oldest ${duration(queue.oldest_due_age_seconds * 1000)}`;
  container.replaceChildren(
    h(
      'dl',
      { class: 'stat-grid', 'aria-label': 'Last 24 hours' },
      STATUSES.map((status) =>
        item(
          status[0].toUpperCase() + status.slice(1),
          navLink(`/ui?status=${status}`, String(stats.by_status[status] ?? 0)),
          null,
          `status-${status}`,
        ),
      ),
      item('Success rate', rate),
      item('Latency p50 / p99', `${duration(latency.p50)} / ${duration(latency.p99)}`),
      item('Queue due', String(queue.due), oldest),
      item('Retries scheduled', String(queue.scheduled_retries)),
    ),
  );
  return Object.keys(stats.by_source).sort();
}
