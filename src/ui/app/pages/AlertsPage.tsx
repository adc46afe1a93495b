import { roleNeeded } from './sources/roles';
import { useState } from 'preact/hooks';
import { ApiError } from '../api/client';
import type { Alert, AlertChannel, AlertRule, Role } from '../api/types';
import { Badge, Notice, Time } from '../components/format';
import { SecretOnce } from '../components/SecretOnce';
import { Table, type Column } from '../components/Table';
import { useResource } from '../hooks/useResource';
import { useTitle } from '../hooks/useTitle';
import { useApi } from '../session';
import { ChannelForm } from './alerts/ChannelForm';
import { RuleForm } from './alerts/RuleForm';

const ALERTS: Column<Alert>[] = [
  { header: 'Status', cell: (a) => <Badge status={a.status} /> },
  { header: 'Rule', cell: (a) => a.rule },
  { header: 'About', class: 'mono', cell: (a) => a.condition },
  { header: 'Summary', cell: (a) => a.summary },
  { header: 'Opened', cell: (a) => <Time iso={a.opened_at} /> },
  { header: 'Resolved', cell: (a) => <Time iso={a.resolved_at} /> },
  {
    header: 'Notice',
    class: 'clip',
    cell: (a) =>
      a.notify_error ? <span class="failed-text">{a.notify_error}</span> : a.opened_notified_at ? 'sent' : 'pending',
    title: (a) => a.notify_error ?? undefined,
  },
];

const thresholds = (r: AlertRule) =>
  Object.entries(r.params)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');

/**
 * Edits and deletes send If-Match with the version the page read: a rule or channel changed
 * elsewhere meanwhile is refused (412), and said so in the page's words, not overwritten.
 */
const isStale = (err: unknown) => err instanceof ApiError && err.status === 412;
const explained = (err: unknown, what: 'rule' | 'channel'): Error =>
  isStale(err)
    ? new Error(
        `This ${what} was changed elsewhere since the page read it: the list now shows that change; press Edit to start from it.`,
      )
    : (err as Error);

/** Edit and Delete buttons of a row, named for the row so a screen reader (and a test) can tell them apart. */
function RowActions({ name, onEdit, onDelete }: { name: string; onEdit(): void; onDelete(): void }) {
  return (
    <span class="row-actions">
      <button type="button" class="secondary" onClick={onEdit} aria-label={`Edit ${name}`}>
        Edit
      </button>
      <button type="button" class="secondary" onClick={onDelete} aria-label={`Delete ${name}`}>
        Delete
      </button>
    </span>
  );
}

/**
 * /ui/alerts: open and recent alerts, and the rules and channels behind them, created, edited and
 * deleted here through /api/alerts (admin; the gateway refuses other roles and the page says so).
 * Channel secrets are write-only: only their fingerprints are shown.
 */
export function AlertsPage() {
  useTitle('Alerts');
  const api = useApi();
  const alerts = useResource((signal) => api.alerts({ limit: 100 }, signal), [api]);
  const rules = useResource((signal) => api.alertRules(signal), [api]);
  const channels = useResource((signal) => api.alertChannels(signal), [api]);
  const who = useResource((signal) => api.request<{ role: Role }>('/api/whoami', { signal }), [api]);
  // Only an admin may change rules and channels; if the role cannot be read, offer the forms and
  // let the API answer (it checks every write).
  const canEdit = who.data ? who.data.role === 'admin' : who.error !== undefined;
  const [editingRule, setEditingRule] = useState<AlertRule>();
  const [editingChannel, setEditingChannel] = useState<AlertChannel>();
  const [generated, setGenerated] = useState<{ channel: string; secret: string }>();
  const [actionError, setActionError] = useState<string>();
  const error = alerts.error ?? rules.error ?? channels.error;

  const remove = async (what: 'rule' | 'channel', name: string, run: () => Promise<unknown>) => {
    if (!window.confirm(`Delete the ${what} "${name}"?`)) return;
    setActionError(undefined);
    try {
      await run();
    } catch (err) {
      setActionError(explained(err, what).message);
    }
    rules.reload();
    channels.reload();
    alerts.reload();
  };

  const ruleColumns: Column<AlertRule>[] = [
    { header: 'Name', cell: (r) => r.name },
    { header: 'Kind', class: 'mono', cell: (r) => r.kind },
    { header: 'Thresholds', class: 'mono', cell: thresholds },
    { header: 'Channels', cell: (r) => r.channels.join(', ') },
    { header: 'Enabled', cell: (r) => (r.enabled ? 'yes' : 'no') },
    {
      header: 'Actions',
      cell: (r) => (
        <RowActions
          name={r.name}
          onEdit={() => setEditingRule(r)}
          onDelete={() => remove('rule', r.name, () => api.deleteAlertRule(r))}
        />
      ),
    },
  ];
  const channelColumns: Column<AlertChannel>[] = [
    { header: 'Name', cell: (c) => c.name },
    { header: 'Type', cell: (c) => c.type },
    { header: 'Target', class: 'mono', cell: (c) => c.target },
    { header: 'Secret', class: 'mono', cell: (c) => c.secret_fingerprint ?? '' },
    {
      header: 'Actions',
      cell: (c) => (
        <RowActions
          name={c.name}
          onEdit={() => setEditingChannel(c)}
          onDelete={() => remove('channel', c.name, () => api.deleteAlertChannel(c))}
        />
      ),
    },
  ];

  return (
    <>
      <h1 tabIndex={-1}>Alerts</h1>
      {error ? <Notice kind="error">{error.message}</Notice> : null}
      {actionError ? <Notice kind="error">{actionError}</Notice> : null}
      {who.data && !canEdit ? (
        <p class="muted">{roleNeeded('Changing rules and channels needs', 'admin', who.data.role)}</p>
      ) : null}
      <section aria-labelledby="alerts-title">
        <h2 id="alerts-title">Alerts</h2>
        {alerts.data ? (
          <Table
            caption="Open and resolved alerts, newest first"
            columns={ALERTS}
            rows={alerts.data.alerts}
            rowKey={(a) => a.id}
            empty="No alerts."
          />
        ) : null}
      </section>
      <section aria-labelledby="rules-title">
        <h2 id="rules-title">Rules</h2>
        {rules.data ? (
          <Table
            caption="Alert rules"
            columns={canEdit ? ruleColumns : ruleColumns.slice(0, -1)}
            rows={rules.data.rules}
            rowKey={(r) => r.id}
            rowProps={(r) => ({ 'data-rule': r.name })}
            empty="No rules yet."
          />
        ) : null}
        {canEdit ? <h3>{editingRule ? `Edit rule ${editingRule.name}` : 'New rule'}</h3> : null}
        {canEdit ? (
          <RuleForm
            key={editingRule ? `${editingRule.id}@${editingRule.version}` : 'new'}
            rule={editingRule}
            channels={channels.data?.channels ?? []}
            onSave={async (input) => {
              try {
                await api.saveAlertRule(input, editingRule);
              } catch (err) {
                if (isStale(err)) rules.reload();
                throw explained(err, 'rule');
              }
              setEditingRule(undefined);
              rules.reload();
            }}
            onCancel={editingRule ? () => setEditingRule(undefined) : undefined}
          />
        ) : null}
      </section>
      <section aria-labelledby="channels-title">
        <h2 id="channels-title">Channels</h2>
        {channels.data ? (
          <Table
            caption="Where notices go"
            columns={canEdit ? channelColumns : channelColumns.slice(0, -1)}
            rows={channels.data.channels}
            rowKey={(c) => c.id}
            rowProps={(c) => ({ 'data-channel': c.name })}
            empty="No channels yet."
          />
        ) : null}
        {canEdit ? <h3>{editingChannel ? `Edit channel ${editingChannel.name}` : 'New channel'}</h3> : null}
        {canEdit ? (
          <ChannelForm
            key={editingChannel ? `${editingChannel.id}@${editingChannel.version}` : 'new'}
            channel={editingChannel}
            onSave={async (input, secret) => {
              try {
                await api.saveAlertChannel(input, editingChannel);
              } catch (err) {
                if (isStale(err)) channels.reload();
                throw explained(err, 'channel');
              }
              setEditingChannel(undefined);
              if (secret) setGenerated({ channel: input.name, secret });
              channels.reload();
            }}
            onCancel={editingChannel ? () => setEditingChannel(undefined) : undefined}
          />
        ) : null}
      </section>
      {generated ? (
        <SecretOnce
          title={`Signing secret of channel "${generated.channel}"`}
          secret={generated.secret}
          warning="Shown once: copy it now. The gateway keeps it to sign notices but never shows it again."
          onClose={() => setGenerated(undefined)}
        >
          <p>Give it to the receiver: it verifies each notice's webhook-signature (Standard Webhooks) with it.</p>
        </SecretOnce>
      ) : null}
    </>
  );
}
