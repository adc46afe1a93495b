import type { Alert, AlertChannel, AlertRule } from '../api/types';
import { Badge, Notice, Time } from '../components/format';
import { Table, type Column } from '../components/Table';
import { useResource } from '../hooks/useResource';
import { useTitle } from '../hooks/useTitle';
import { useApi } from '../session';

const ALERTS: Column<Alert>[] = [
  { header: 'Status', cell: (a) => <Badge status={a.status} /> },
  { header: 'Rule', cell: (a) => a.rule },
  { header: 'About', class: 'mono', cell: (a) => a.condition },
  { header: 'Summary', cell: (a) => a.summary },
  { header: 'Opened', cell: (a) => <Time iso={a.opened_at} /> },
  { header: 'Resolved', cell: (a) => <Time iso={a.resolved_at} /> },
  {
    header: 'Notice',
    class: 'error',
    cell: (a) => a.notify_error ?? (a.opened_notified_at ? 'sent' : 'pending'),
    title: (a) => a.notify_error ?? undefined,
  },
];

const RULES: Column<AlertRule>[] = [
  { header: 'Name', cell: (r) => r.name },
  { header: 'Kind', class: 'mono', cell: (r) => r.kind },
  {
    header: 'Thresholds',
    class: 'mono',
    cell: (r) =>
      Object.entries(r.params)
        .map(([k, v]) => `${k}=${String(v)}`)
        .join(' '),
  },
  { header: 'Channels', cell: (r) => r.channels.join(', ') },
  { header: 'Enabled', cell: (r) => (r.enabled ? 'yes' : 'no') },
];

const CHANNELS: Column<AlertChannel>[] = [
  { header: 'Name', cell: (c) => c.name },
  { header: 'Type', cell: (c) => c.type },
  { header: 'Target', class: 'mono', cell: (c) => c.target },
  { header: 'Signed', cell: (c) => (c.type === 'webhook' ? (c.has_secret ? 'yes' : 'no') : '') },
];

/** /ui/alerts: open and recent alerts, and the rules and channels behind them (edited through /api/alerts or the config file). */
export function AlertsPage() {
  useTitle('Alerts');
  const api = useApi();
  const alerts = useResource((signal) => api.alerts({ limit: 100 }, signal), [api]);
  const rules = useResource((signal) => api.alertRules(signal), [api]);
  const channels = useResource((signal) => api.alertChannels(signal), [api]);
  const error = alerts.error ?? rules.error ?? channels.error;
  return (
    <>
      <h1 tabIndex={-1}>Alerts</h1>
      {error ? <Notice kind="error">{error.message}</Notice> : null}
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
            columns={RULES}
            rows={rules.data.rules}
            rowKey={(r) => r.id}
            empty="No rules: add them under alerts: in the config file or with POST /api/alerts/rules."
          />
        ) : null}
      </section>
      <section aria-labelledby="channels-title">
        <h2 id="channels-title">Channels</h2>
        {channels.data ? (
          <Table
            caption="Where notices go"
            columns={CHANNELS}
            rows={channels.data.channels}
            rowKey={(c) => c.id}
            empty="No channels."
          />
        ) : null}
      </section>
    </>
  );
}
