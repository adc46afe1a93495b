import { useLocation } from 'preact-iso/router';
import type { RejectedRequest } from '../api/types';
import { Notice, Time } from '../components/format';
import { Table, type Column } from '../components/Table';
import { useResource } from '../hooks/useResource';
import { useTitle } from '../hooks/useTitle';
import { useApi } from '../session';

const COLUMNS: Column<RejectedRequest>[] = [
  { header: 'Received', cell: (r) => <Time iso={r.received_at} /> },
  { header: 'Source', cell: (r) => <a href={`/ui/requests?source=${encodeURIComponent(r.source)}`}>{r.source}</a> },
  {
    header: 'Cause',
    class: 'mono',
    cell: (r) => <a href={`/ui/requests?cause=${encodeURIComponent(r.cause)}`}>{r.cause}</a>,
  },
  { header: 'Status', class: 'num', cell: (r) => String(r.status) },
  {
    header: 'Count',
    class: 'num',
    cell: (r) => (r.aggregate ? `${r.count} (past the minute's cap)` : String(r.count)),
  },
  { header: 'Client', class: 'mono', cell: (r) => r.client ?? '' },
  { header: 'User agent', cell: (r) => r.user_agent ?? '', title: (r) => r.user_agent ?? undefined },
  { header: 'Body', class: 'num', cell: (r) => (r.body_bytes === null ? '' : `${r.body_bytes} B`) },
  {
    header: 'SHA-256',
    class: 'mono',
    cell: (r) => r.body_sha256?.slice(0, 12) ?? '',
    title: (r) => r.body_sha256 ?? undefined,
  },
  {
    header: 'Headers',
    class: 'mono',
    cell: (r) => Object.keys(r.headers).length,
    title: (r) =>
      Object.entries(r.headers)
        .map(([name, value]) => `${name}: ${value}`)
        .join('\n'),
  },
];

/** /ui/requests: the rejected-request log, newest first, filtered by ?source= and ?cause=. */
export function RequestsPage() {
  useTitle('Rejected requests');
  const api = useApi();
  const { query } = useLocation();
  const source = query.source || undefined;
  const cause = query.cause || undefined;
  const page = useResource(
    (signal) => api.rejectedRequests({ source, cause, limit: 100 }, signal),
    [api, source, cause],
  );
  return (
    <>
      <h1 tabIndex={-1}>Rejected requests</h1>
      <p class="muted">
        Requests the gateway refused, with the reason. Headers other than content type, user agent and the provider's
        ids are recorded with their values redacted. {source || cause ? <a href="/ui/requests">Show all</a> : null}
      </p>
      {page.error ? <Notice kind="error">{page.error.message}</Notice> : null}
      {page.data ? (
        <Table
          caption={`The 100 most recent rejected requests${source ? ` of ${source}` : ''}${cause ? ` for ${cause}` : ''}`}
          columns={COLUMNS}
          rows={page.data.requests}
          rowKey={(r) => r.id}
          rowProps={(r) => ({ 'data-request-id': String(r.id) })}
          empty="No rejected requests."
        />
      ) : null}
    </>
  );
}
