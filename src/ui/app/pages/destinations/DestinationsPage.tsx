import { useMemo, useState } from 'preact/hooks';
import { sourcesApi } from '../../api/sources';
import { isVersionMismatch, staleMessage } from '../../api/client';
import type { CreatedDestination, DestinationView } from '../../api/types';
import { Field, FieldSet, hasErrors, textOf, type FieldErrors } from '../../components/Form';
import { Notice, Time } from '../../components/format';
import { SecretOnce } from '../../components/SecretOnce';
import { Loaded } from '../../components/Loaded';
import { Table, type Column } from '../../components/Table';
import { useResource } from '../../hooks/useResource';
import { useTitle } from '../../hooks/useTitle';
import { useApi } from '../../session';
import { allows } from '../sources/roles';

type FormName = 'name' | 'url' | 'sources' | 'header';

const list = (text: string) =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** Client-side checks mirroring the API's, so a mistake is named before a round trip. */
function validate(values: Record<FormName, string>): FieldErrors<FormName> {
  return {
    name: /^[a-z0-9][a-z0-9_-]{0,62}$/.test(values.name)
      ? undefined
      : 'Use 1-63 lower-case letters, digits, "_" or "-".',
    url: /^https?:\/\/[^\s@]+$/.test(values.url)
      ? undefined
      : 'An http:// or https:// URL, without user:password@ (put credentials in a header).',
    header:
      values.header === '' || /^[A-Za-z0-9-]+:\s*\S/.test(values.header)
        ? undefined
        : 'Write Name: value, e.g. Authorization: Bearer …',
  };
}

/** The badge colour of each circuit state (styles/badge.css). */
const CIRCUIT_BADGE = { closed: 'completed', half_open: 'retry', open: 'failed' } as const;
/** The breaker's counts and settings, as the Circuit cell's tooltip. */
const circuitTitle = (d: DestinationView) =>
  `${d.circuit_state.consecutive_failures} consecutive failure(s); opens at ${d.circuit.failure_threshold}, ` +
  `probes after ${d.circuit.cooldown_seconds} s` +
  (d.circuit_state.opened_at ? `; opened ${d.circuit_state.opened_at}` : '');
const rateText = (r: NonNullable<DestinationView['rate_limit']>) =>
  [r.per_second && `≤ ${r.per_second}/s`, r.per_minute && `≤ ${r.per_minute}/min`].filter(Boolean).join(', ');
const state = (d: DestinationView) => (d.problem ? 'unusable' : d.paused ? 'paused' : 'active');

/** Destinations (viewer): health and last deliveries; pause/resume (operator); create/delete (admin). */
export function DestinationsPage() {
  useTitle('Destinations');
  const api = useApi();
  // Offer only what the token's role may do (the API checks every action again).
  const whoami = useMemo(() => sourcesApi(api).whoami, [api]);
  const who = useResource((signal) => whoami(signal), [whoami]);
  const role = who.data?.role;
  const destinations = useResource((signal) => api.destinations(signal), []);
  const [errors, setErrors] = useState<FieldErrors<FormName>>({});
  const [formError, setFormError] = useState<string>();
  const [actionError, setActionError] = useState<string>();
  const [created, setCreated] = useState<CreatedDestination>();
  const [busy, setBusy] = useState(false);

  const submit = async (form: HTMLFormElement) => {
    const values = {
      name: textOf(form, 'name'),
      url: textOf(form, 'url'),
      sources: textOf(form, 'sources'),
      header: textOf(form, 'header'),
    };
    const checked = validate(values);
    setErrors(checked);
    setFormError(undefined);
    if (hasErrors(checked)) return;
    setBusy(true);
    try {
      const at = values.header.indexOf(':');
      const headers = values.header
        ? { [values.header.slice(0, at).trim()]: values.header.slice(at + 1).trim() }
        : undefined;
      const answer = await api.createDestination({
        name: values.name,
        url: values.url,
        sources: list(values.sources),
        ...(headers ? { headers } : {}),
      });
      form.reset();
      setCreated(answer);
      destinations.reload();
    } catch (err) {
      setFormError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const act = async (d: DestinationView, action: 'pause' | 'resume' | 'delete') => {
    if (
      action === 'delete' &&
      !window.confirm(`Delete the destination "${d.name}"? Its sources stop forwarding to it within a second.`)
    )
      return;
    setActionError(undefined);
    // Sent with the version this page read (If-Match): one changed meanwhile is refused, said so, and reloaded.
    try {
      if (action === 'delete') await api.deleteDestination(d);
      else await api.destinationAction(d, action);
    } catch (err) {
      setActionError(isVersionMismatch(err) ? staleMessage(`Destination "${d.name}"`) : (err as Error).message);
    }
    destinations.reload();
  };

  const columns: Column<DestinationView>[] = [
    {
      header: 'Name',
      class: 'wrap',
      cell: (d) => (
        <>
          <a class="mono" href={`/ui/destinations/${encodeURIComponent(d.name)}`}>
            {d.name}
          </a>
          <br />
          <span class="muted">{d.managed_by === 'file' ? 'file, read-only' : `database (${d.origin})`}</span>
        </>
      ),
    },
    { header: 'URL', cell: (d) => d.url, class: 'url' },
    { header: 'Sources', cell: (d) => d.sources.join(', ') || '–' },
    {
      header: 'State',
      cell: (d) => (
        <span class={`badge ${state(d) === 'active' ? 'completed' : state(d) === 'paused' ? 'received' : 'failed'}`}>
          {state(d)}
        </span>
      ),
    },
    {
      header: 'Circuit',
      cell: (d) => (
        <span title={circuitTitle(d)}>
          <span class={`badge status-${CIRCUIT_BADGE[d.circuit_state.state]}`}>
            {d.circuit_state.state.replace('_', '-')}
          </span>
          {d.paused_reason && (
            <>
              <br />
              <span class="muted">{d.paused_reason}</span>
            </>
          )}
          {d.rate_limit && (
            <>
              <br />
              <span class="muted">{rateText(d.rate_limit)}</span>
            </>
          )}
        </span>
      ),
    },
    { header: 'Delivered 24 h', cell: (d) => String(d.health.delivered), class: 'num' },
    { header: 'Failed 24 h', cell: (d) => String(d.health.failed), class: 'num' },
    { header: 'Held', cell: (d) => String(d.health.held), class: 'num' },
    {
      header: 'Last delivery',
      cell: (d) => {
        const last = d.health.last_deliveries[0];
        if (!last) return <span class="muted">none yet</span>;
        return (
          <span title={last.error ?? undefined}>
            <a href={`/ui/events/${last.event_id}`}>#{last.event_id}</a> {last.outcome}
            {last.http_status ? ` (${last.http_status})` : ''} <Time iso={last.at} />
          </span>
        );
      },
    },
    {
      header: 'Rule',
      // The rule page: its filter and transformation, with a live preview.
      cell: (d) => (
        <a href={`/ui/destinations/${encodeURIComponent(d.name)}`} aria-label={`Rule of ${d.name}`}>
          {[d.filter ? 'filtered' : 'every event', 'transform' in d && d.transform ? 'transformed' : null]
            .filter(Boolean)
            .join(', ')}
        </a>
      ),
    },
    {
      header: '',
      cell: (d) =>
        d.managed_by === 'file' || !allows(role, 'operator') ? null : (
          <span class="row-actions">
            <button
              type="button"
              class="secondary"
              onClick={() => act(d, d.paused ? 'resume' : 'pause')}
              aria-label={`${d.paused ? 'Resume' : 'Pause'} ${d.name}`}
            >
              {d.paused ? 'Resume' : 'Pause'}
            </button>
            {allows(role, 'admin') ? (
              <button type="button" class="secondary" onClick={() => act(d, 'delete')} aria-label={`Delete ${d.name}`}>
                Delete
              </button>
            ) : null}
          </span>
        ),
    },
  ];

  return (
    <>
      <h1 tabIndex={-1}>Destinations</h1>
      <p class="muted">
        Where the gateway forwards events, signed with Standard Webhooks. Pausing holds deliveries: events wait, no
        attempt is counted, and resuming delivers them. Destinations of the config file are shown read-only.
      </p>
      {allows(role, 'admin') ? (
        <FieldSet class="filters" aria-label="Create a destination" onSubmit={submit} error={formError}>
          <Field name="name" label="Name" error={errors.name}>
            {(props) => <input {...props} placeholder="erp" autocomplete="off" required />}
          </Field>
          <Field name="url" label="URL" error={errors.url}>
            {(props) => <input {...props} placeholder="https://erp.example.com/hooks" autocomplete="off" required />}
          </Field>
          <Field name="sources" label="Sources" hint="Comma-separated source names">
            {(props) => <input {...props} placeholder="shopify, acme" autocomplete="off" />}
          </Field>
          <Field name="header" label="Header" error={errors.header} hint="Optional; stored encrypted, never shown">
            {(props) => <input {...props} placeholder="Authorization: Bearer …" autocomplete="off" />}
          </Field>
          <div class="actions">
            <button type="submit" disabled={busy}>
              Create destination
            </button>
          </div>
        </FieldSet>
      ) : null}
      {created?.secret ? (
        <SecretOnce
          title={`Signing secret of "${created.name}"`}
          secret={created.secret}
          onClose={() => setCreated(undefined)}
        >
          <p>
            Give it to the receiver: it verifies each delivery's webhook-signature with it (any Standard Webhooks
            library).
          </p>
        </SecretOnce>
      ) : null}
      {actionError ? <Notice kind="error">{actionError}</Notice> : null}
      <Loaded resource={destinations}>
        {(data) => (
          <Table
            caption="Destinations"
            columns={columns}
            rows={data.destinations}
            rowKey={(d) => d.name}
            rowProps={(d) => ({ 'data-destination': d.name })}
            empty="No destinations yet."
          />
        )}
      </Loaded>
    </>
  );
}
