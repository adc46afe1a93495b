import type { ConflictSummary, EventDetail } from '../../api/types';
import { Time } from '../../components/format';
import { Table, type Column } from '../../components/Table';
import { useResource } from '../../hooks/useResource';
import { useApi } from '../../session';

const COLUMNS: Column<ConflictSummary>[] = [
  { header: '#', class: 'num', cell: (c) => String(c.id) },
  { header: 'Received', cell: (c) => <Time iso={c.received_at} /> },
  { header: 'Size', class: 'num', cell: (c) => `${c.size_bytes} bytes` },
  { header: 'SHA-256', class: 'mono', cell: (c) => c.content_sha256.slice(0, 16) },
  { header: 'Bytes (ops API)', class: 'mono', cell: (c) => `GET /api/conflicts/${c.id}` },
];

/**
 * Deliveries that repeated this event's id with other bytes: kept, never processed. Loaded only
 * when there are some (the event detail carries the count).
 */
export function Conflicts({ e }: { e: EventDetail }) {
  const count = e.conflicts?.count ?? 0;
  const api = useApi();
  const list = useResource(
    (signal) => (count > 0 ? api.conflicts(e.id, signal) : Promise.resolve({ conflicts: [], next_cursor: null })),
    [api, e.id, count],
  );
  if (count === 0) return null;
  return (
    <>
      <h2 id="conflicts">Conflicts</h2>
      <p class="muted">
        {count === 1 ? 'One delivery' : `${count} deliveries`} repeated this event’s id with other bytes. They are kept
        byte for byte and never processed; the payload above is the one that was. Read one with the ops API.
      </p>
      <Table
        caption="Conflicting deliveries, newest first"
        columns={COLUMNS}
        rows={list.data?.conflicts ?? []}
        rowKey={(c) => c.id}
        empty={list.error ? list.error.message : 'Loading…'}
      />
    </>
  );
}
