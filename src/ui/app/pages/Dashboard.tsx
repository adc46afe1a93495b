import { useEffect } from 'preact/hooks';
import { useLocation } from 'preact-iso/router';
import type { EventSummary } from '../api/types';
import { Notice, Time } from '../components/format';
import { SeriesCharts } from '../components/SeriesCharts';
import { LastRejections } from '../components/LastRejections';
import { StatsStrip } from '../components/StatsStrip';
import { Table, type Column } from '../components/Table';
import { useLiveEvents } from '../hooks/live';
import { useStats } from '../hooks/stats';
import { useResource } from '../hooks/useResource';
import { useTitle } from '../hooks/useTitle';
import { useApi } from '../session';
import { FILTER_NAMES, listHref, rawListHref } from './events/filters';

const RECENT_FAILURES = 5;

const FAILURES: Column<EventSummary>[] = [
  { header: 'ID', cell: (e) => <a href={`/ui/events/${e.id}`}>#{e.id}</a> },
  { header: 'Received', cell: (e) => <Time iso={e.received_at} /> },
  { header: 'Source', class: 'wrap', cell: (e) => e.source },
  { header: 'Topic', class: 'wrap', cell: (e) => e.topic },
  { header: 'Last error', class: 'error', cell: (e) => e.last_error ?? '', title: (e) => e.last_error ?? undefined },
];

interface SourceRow {
  source: string;
  counts: Record<string, number>;
}

const SOURCES: Column<SourceRow>[] = [
  { header: 'Source', cell: (r) => <a href={listHref({ source: r.source })}>{r.source}</a> },
  { header: 'All', class: 'num', cell: (r) => String(Object.values(r.counts).reduce((sum, n) => sum + n, 0)) },
  ...(['received', 'processing', 'completed', 'failed'] as const).map((status): Column<SourceRow> => ({
    header: status,
    class: 'num',
    cell: (r) =>
      r.counts[status] ? <a href={listHref({ source: r.source, status })}>{String(r.counts[status])}</a> : '0',
  })),
];

/** /ui: the last 24 hours at a glance, events per source, and the latest failures. */
export function Dashboard() {
  useTitle('Dashboard');
  const api = useApi();
  const { query, route } = useLocation();
  const { data: stats } = useStats();
  const failures = useResource((signal) => api.events({ status: 'failed', limit: RECENT_FAILURES }, signal), [api]);
  useLiveEvents({ event: (e) => e.status === 'failed' && failures.reload(), reconnected: failures.reload });

  // Addresses from before the dashboard existed (/ui?status=failed) showed the list: they still do.
  const legacy = FILTER_NAMES.some((name) => query[name]);
  useEffect(() => {
    // As written: a filter that is not valid is named there, not dropped.
    if (legacy) route(rawListHref(query), true);
  }, [legacy]);

  const sources = Object.entries(stats?.by_source ?? {})
    .map(([source, counts]) => ({ source, counts }))
    .sort((a, b) => a.source.localeCompare(b.source));
  return (
    <>
      <h1 tabIndex={-1}>Dashboard</h1>
      <section id="stats" class="stats" aria-labelledby="stats-title">
        <h2 id="stats-title">Last 24 hours</h2>
        <StatsStrip />
      </section>
      <section aria-labelledby="charts-title">
        <h2 id="charts-title">Activity per minute</h2>
        <SeriesCharts />
      </section>
      <section aria-labelledby="sources-title">
        <h2 id="sources-title">Events by source</h2>
        <Table
          caption="Events received in the last 24 hours by source, and where each is now"
          columns={SOURCES}
          rows={sources}
          rowKey={(r) => r.source}
          empty="No events in the last 24 hours."
        />
      </section>
      <section aria-labelledby="rejections-title">
        <h2 id="rejections-title">Last rejection by source</h2>
        <LastRejections />
      </section>
      <section aria-labelledby="failures-title">
        <h2 id="failures-title">Latest failures</h2>
        {failures.error ? <Notice kind="error">{failures.error.message}</Notice> : null}
        {failures.data ? (
          <Table
            caption={`The ${RECENT_FAILURES} most recent events that failed for good`}
            columns={FAILURES}
            rows={failures.data.events}
            rowKey={(e) => e.id}
            empty="No failed events."
          />
        ) : null}
        <p>
          <a href={listHref({ status: 'failed' })}>All failed events →</a>
        </p>
      </section>
    </>
  );
}
