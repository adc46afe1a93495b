import { roleNeeded } from '../sources/roles';
import { useState } from 'preact/hooks';
import type { AuditEntry, AuditFilter } from '../../api/types';
import { Field, FieldSet, textOf } from '../../components/Form';
import { Notice, Time } from '../../components/format';
import { Loaded } from '../../components/Loaded';
import { Table, type Column } from '../../components/Table';
import { useResource } from '../../hooks/useResource';
import { useRole } from '../../hooks/useRole';
import { useTitle } from '../../hooks/useTitle';
import { useApi } from '../../session';
import { auditText as text, changeSummary } from './change-summary';

const NAMES = ['action', 'actor', 'target'] as const;

const COLUMNS: Column<AuditEntry>[] = [
  {
    header: 'When',
    cell: (e) => <Time iso={e.at} />,
    title: (e) => `request ${e.request_id ?? '-'} from ${e.client_address ?? 'unknown'}`,
  },
  { header: 'Actor', cell: (e) => e.actor, class: 'mono' },
  { header: 'Action', cell: (e) => e.action, class: 'mono' },
  { header: 'Target', cell: (e) => e.target ?? '', class: 'mono wrap' },
  {
    header: 'Change',
    cell: (e) => changeSummary(e.before, e.after),
    class: 'clip',
    title: (e) => `before: ${text(e.before)}\nafter: ${text(e.after)}`,
  },
  { header: 'From', cell: (e) => e.client_address ?? '', class: 'mono' },
];

/** The operator audit log (admin): who changed what, newest first, with filters and paging. */
export function AuditPage() {
  useTitle('Audit log');
  const api = useApi();
  const [filter, setFilter] = useState<AuditFilter>({});
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const admin = useRole('admin');
  // Asked for only once the role allows it: a refused request is an error in the browser's console.
  const page = useResource(
    (signal) => (admin.may ? api.audit({ ...filter, cursor }, signal) : Promise.resolve(undefined)),
    [JSON.stringify(filter), cursor, admin.may],
  );

  const apply = (form: HTMLFormElement) => {
    const next: AuditFilter = {};
    for (const name of NAMES) {
      const value = textOf(form, name);
      if (value) next[name] = value;
    }
    setCursors([]);
    setFilter(next);
  };

  return (
    <>
      <h1 tabIndex={-1}>Audit log</h1>
      {admin.may ? null : admin.role ? (
        <Notice kind="info">
          {roleNeeded('Reading the audit log needs', 'admin', admin.role)} Sign in with an admin token to read it.
        </Notice>
      ) : null}
      {admin.may ? (
        <>
          <FieldSet class="filters" role="search" aria-label="Filter the audit log" onSubmit={apply}>
            <Field name="action" label="Action">
              {(props) => <input {...props} placeholder="event.replay" autocomplete="off" />}
            </Field>
            <Field name="actor" label="Actor (token name)">
              {(props) => <input {...props} placeholder="bootstrap" autocomplete="off" />}
            </Field>
            <Field name="target" label="Target">
              {(props) => <input {...props} placeholder="event:42" autocomplete="off" />}
            </Field>
            <div class="actions">
              <button type="submit">Apply</button>
            </div>
          </FieldSet>
          <Loaded resource={page} loading="Loading the audit log…">
            {(data) => (
              <>
                <Table
                  caption={`${data.entries.length} ${data.entries.length === 1 ? 'entry' : 'entries'}, newest first`}
                  columns={COLUMNS}
                  rows={data.entries}
                  rowKey={(e) => e.id}
                  rowProps={(e) => ({ 'data-audit-id': String(e.id) })}
                  empty="No changes recorded for these filters."
                />
                <nav class="pager" aria-label="Pages">
                  {cursors.length ? (
                    <button type="button" class="secondary" onClick={() => setCursors([])}>
                      ← Newest
                    </button>
                  ) : (
                    <span />
                  )}
                  {data.next_cursor ? (
                    <button type="button" class="secondary" onClick={() => setCursors([...cursors, data.next_cursor!])}>
                      Older entries →
                    </button>
                  ) : (
                    <span />
                  )}
                </nav>
              </>
            )}
          </Loaded>
        </>
      ) : null}
    </>
  );
}
