import { useMemo, useState } from 'preact/hooks';
import { useLocation } from 'preact-iso/router';
import type { EventSummary, LiveEvent } from '../../api/types';
import { Badge, Notice, plural, Time } from '../../components/format';
import { hasErrors } from '../../components/Form';
import { Loaded } from '../../components/Loaded';
import { Table, type Column } from '../../components/Table';
import { useLiveEvents } from '../../hooks/live';
import { useStats } from '../../hooks/stats';
import { useResource } from '../../hooks/useResource';
import { useTitle } from '../../hooks/useTitle';
import { useApi } from '../../session';
import { BulkReplay } from './BulkReplay';
import { EventFilters } from './EventFilters';
import { NotSearchedNote } from './NotSearchedNote';
import { belongsOnFirstPage, listHref, readQuery } from './filters';

const eventHref = (id: number) => `/ui/events/${id}`;

const COLUMNS: Column<EventSummary>[] = [
  { header: 'ID', cell: (e) => <a href={eventHref(e.id)}>#{e.id}</a> },
  { header: 'Received', cell: (e) => <Time iso={e.received_at} /> },
  { header: 'Source', class: 'wrap', cell: (e) => e.source },
  { header: 'Topic', class: 'wrap', cell: (e) => <a href={eventHref(e.id)}>{e.topic}</a> },
  { header: 'Status', cell: (e) => <Badge status={e.status} /> },
  { header: 'Attempts', class: 'num', cell: (e) => `${e.attempts} / ${e.max_attempts}` },
  { header: 'Last error', class: 'error', cell: (e) => e.last_error ?? '', title: (e) => e.last_error ?? undefined },
];

/** /ui/events: filters, one page of events (keyset pages), live updates, bulk replay. */
export function EventsPage() {
  useTitle('Events');
  const api = useApi();
  const { query: params, route } = useLocation();
  const query = useMemo(() => readQuery(params), [JSON.stringify(params)]);
  const { data: stats } = useStats();
  const invalid = hasErrors(query.invalid);
  // Not loaded with a filter that is not valid: leaving it out would show more than was asked for.
  const page = useResource(
    (signal) =>
      invalid
        ? Promise.resolve(undefined)
        : api.events({ ...query.filter, cursor: query.cursor, limit: query.limit }, signal),
    [api, query],
  );
  // Streamed changes to rows on the page, and events that arrived since it was loaded.
  const [changed, setChanged] = useState<{ page: unknown; rows: Map<number, LiveEvent>; arrived: Set<number> }>();
  const current =
    changed && changed.page === page.data ? changed : { page: page.data, rows: new Map(), arrived: new Set<number>() };

  useLiveEvents({
    event(event) {
      if (invalid) return;
      const onPage = page.data?.events.some((e) => e.id === event.id);
      if (!onPage && (!belongsOnFirstPage(query, event) || current.arrived.has(event.id))) return;
      const next = { page: page.data, rows: new Map(current.rows), arrived: new Set(current.arrived) };
      if (onPage) next.rows.set(event.id, event);
      else next.arrived.add(event.id);
      setChanged(next);
    },
    reconnected: page.reload,
  });

  const limit = query.limitGiven ? query.limit : undefined;
  const rows = page.data?.events.map((e) => current.rows.get(e.id) ?? e) ?? [];
  return (
    <>
      <h1 tabIndex={-1}>Events</h1>
      <EventFilters
        key={JSON.stringify(query.invalid)}
        filter={query.filter}
        invalid={query.invalid}
        sources={Object.keys(stats?.by_source ?? {}).sort()}
        onApply={(filter) => route(listHref(filter, { limit }))}
        onClear={() => route('/ui/events')}
      />
      {invalid ? (
        <Notice kind="error">
          {`This address has filters that are not valid, so no events are shown: ${Object.entries(query.invalid)
            .map(([name, problem]) => `${name}: ${problem}`)
            .join(' ')} Correct them below and apply, or clear the filters.`}
        </Notice>
      ) : (
        <BulkReplay key={JSON.stringify(query.filter)} filter={query.filter} onReplayed={page.reload} />
      )}
      <div aria-live="polite">
        {current.arrived.size > 0 ? (
          <button type="button" class="secondary new-events" onClick={page.reload}>
            {`${plural(current.arrived.size, 'new event')}: show`}
          </button>
        ) : null}
      </div>
      <Loaded resource={page} loading="Loading events…">
        {(data) => (
          <>
            <Table
              caption={`${plural(rows.length, 'event')}, newest first`}
              columns={COLUMNS}
              rows={rows}
              rowKey={(e) => e.id}
              rowProps={(e) => ({ 'data-event-id': String(e.id) })}
              empty="No events match these filters."
            />
            <NotSearchedNote notSearched={data.not_searched} />
            <nav class="pager" aria-label="Pages">
              {query.cursor ? <a href={listHref(query.filter, { limit })}>← Newest</a> : <span />}
              {data.next_cursor ? (
                <a href={listHref(query.filter, { cursor: data.next_cursor, limit })}>Older events →</a>
              ) : (
                <span />
              )}
            </nav>
          </>
        )}
      </Loaded>
    </>
  );
}
