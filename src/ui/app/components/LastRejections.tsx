import type { RejectedRequest } from '../api/types';
import { useResource } from '../hooks/useResource';
import { useApi } from '../session';
import { Notice, Time } from './format';
import { Table, type Column } from './Table';

type Row = { source: string; last: RejectedRequest | null };

const COLUMNS: Column<Row>[] = [
  { header: 'Source', cell: (r) => <a href={`/ui/requests?source=${encodeURIComponent(r.source)}`}>{r.source}</a> },
  { header: 'Last rejected', cell: (r) => (r.last ? <Time iso={r.last.received_at} /> : 'never') },
  { header: 'Why', class: 'mono', cell: (r) => r.last?.cause ?? '' },
  { header: 'From', class: 'mono', cell: (r) => r.last?.client ?? '' },
];

/** Per source, its latest rejected request and why: the first thing to check after rotating a secret. */
export function LastRejections() {
  const api = useApi();
  const last = useResource((signal) => api.lastRejections(signal), [api]);
  if (last.error) return <Notice kind="error">{last.error.message}</Notice>;
  if (!last.data) return null;
  const rows = Object.entries(last.data.sources)
    .map(([source, request]) => ({ source, last: request }))
    .sort((a, b) => a.source.localeCompare(b.source));
  return (
    <Table
      caption="Each source's latest rejected request"
      columns={COLUMNS}
      rows={rows}
      rowKey={(r) => r.source}
      empty="No sources."
    />
  );
}
