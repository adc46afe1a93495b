import { roleNeeded } from '../sources/roles';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from '../../api/client';
import type { AttemptLogEntry, DeliveryEntry, EventDetail } from '../../api/types';
import { Badge, duration, Notice, Time } from '../../components/format';
import { Table, type Column } from '../../components/Table';
import { useLiveEvents } from '../../hooks/live';
import { useResource } from '../../hooks/useResource';
import { useRole } from '../../hooks/useRole';
import { useTitle } from '../../hooks/useTitle';
import { useApi } from '../../session';
import { Conflicts } from './Conflicts';
import { Payload } from './Payload';

const ATTEMPTS: Column<AttemptLogEntry>[] = [
  { header: '#', class: 'num', cell: (a) => String(a.attempt) },
  { header: 'Worker', class: 'mono', cell: (a) => a.worker },
  { header: 'Started', cell: (a) => <Time iso={a.started_at} /> },
  { header: 'Duration', class: 'num', cell: (a) => duration(a.duration_ms) },
  { header: 'Outcome', cell: (a) => <Badge status={a.outcome} /> },
  // The source's transformation this attempt ran (docs/destinations.md#a-sources-transformation).
  { header: 'Transform', class: 'num', cell: (a) => (a.transform_version == null ? '–' : `v${a.transform_version}`) },
  { header: 'Error', class: 'mono', cell: (a) => a.error ?? '' },
];

const DELIVERIES: Column<DeliveryEntry>[] = [
  { header: 'Destination', class: 'mono', cell: (d) => d.destination },
  { header: 'Attempt', class: 'num', cell: (d) => String(d.attempt) },
  { header: 'Started', cell: (d) => <Time iso={d.started_at} /> },
  { header: 'Duration', class: 'num', cell: (d) => duration(d.duration_ms) },
  { header: 'Outcome', cell: (d) => <Badge status={d.outcome} /> },
  { header: 'HTTP', class: 'num', cell: (d) => (d.http_status === null ? '–' : String(d.http_status)) },
  { header: 'Rule', class: 'num', cell: (d) => (d.rule_version == null ? '–' : `v${d.rule_version}`) },
  { header: 'Error', class: 'mono', cell: (d) => d.error ?? '' },
];

type Message = { kind: 'ok' | 'error'; text: string } | null;

/** /ui/events/:id: summary, replay, payload, headers, attempt log and deliveries, followed live. */
export function EventPage({ id: param }: { id: string }) {
  const id = Number(param);
  useTitle(`Event #${id}`);
  const api = useApi();
  const event = useResource((signal) => api.event(id, signal), [api, id]);
  const [message, setMessage] = useState<Message>(null);
  const [replaying, setReplaying] = useState(false);
  const operator = useRole('operator');
  useEffect(() => setMessage(null), [id]);
  useLiveEvents({ event: (e) => e.id === id && event.reload(), reconnected: event.reload });

  /** Runs one action on the event (replay, skip), says how it went, and reloads the event. */
  const act = (call: (id: number) => Promise<unknown>, done: string) => async () => {
    setReplaying(true);
    try {
      await call(id);
      setMessage({ kind: 'ok', text: done });
    } catch (err) {
      setMessage({ kind: 'error', text: (err as Error).message });
    }
    setReplaying(false);
    event.reload();
  };
  const replay = act(api.replay, 'Replayed: the event is due now. This page follows it as it is processed.');
  const skip = act(api.skip, 'Skipped: the event failed with "skipped by" you, and the next event of its key is due.');

  const back = <a href="/ui/events">← All events</a>;
  if (!event.data) {
    const error = event.error;
    const text = error instanceof ApiError && error.status === 404 ? `There is no event #${id}.` : error?.message;
    return (
      <>
        {back}
        <h1 tabIndex={-1}>Event #{id}</h1>
        {text ? <Notice kind="error">{text}</Notice> : <p class="muted">Loading event…</p>}
      </>
    );
  }
  const e = event.data;
  return (
    <>
      {back}
      <h1 tabIndex={-1}>
        Event #{e.id}
        <span id="event-status">
          <Badge status={e.status} />
        </span>
      </h1>
      {message ? <Notice kind={message.kind}>{message.text}</Notice> : null}
      <Summary e={e} />
      {operator.may ? (
        <div class="actions">
          <button
            type="button"
            id="replay"
            disabled={e.status === 'processing' || replaying}
            aria-describedby="replay-help"
            onClick={replay}
          >
            Replay event
          </button>
          <span id="replay-help" class="muted">
            {e.status === 'processing'
              ? 'Being processed right now: replay it when it has finished.'
              : 'Makes the event due now. History is kept; a failed event gets a fresh set of attempts.'}
          </span>
          {/* An ordered event still in its key's lane (waiting, retrying, or a failed head under onFailure 'block'). */}
          {e.orderingKey != null && e.status !== 'completed' && !e.last_error?.startsWith('skipped by') ? (
            <button type="button" id="skip" disabled={e.status === 'processing' || replaying} onClick={skip}>
              Skip in its key
            </button>
          ) : null}
        </div>
      ) : operator.role ? (
        <p class="muted">{roleNeeded('Replaying and skipping need', 'operator', operator.role)}</p>
      ) : null}
      <h2>Payload</h2>
      <Payload event={e} />
      <h2>Headers</h2>
      <Table
        caption="Headers kept with the event (signatures are never stored)"
        columns={[
          { header: 'Name', class: 'mono wrap', cell: ([name]) => name },
          { header: 'Value', class: 'mono wrap', cell: ([, value]) => value },
        ]}
        rows={Object.entries(e.headers)}
        rowKey={([name]) => name}
        empty="No headers kept."
      />
      <h2>Attempts</h2>
      <Table
        caption="Every processing attempt, oldest first"
        columns={ATTEMPTS}
        rows={e.attempt_log}
        rowKey={(a) => a.attempt}
        empty="Not processed yet."
      />
      <h2>Deliveries</h2>
      <Table
        caption="Forwarding to destinations"
        columns={DELIVERIES}
        rows={e.deliveries}
        rowKey={(_d, index) => index}
        empty="No deliveries: this source forwards to no destination."
      />
      <Conflicts e={e} />
    </>
  );
}

function Summary({ e }: { e: EventDetail }) {
  const row = (label: string, value: preact.ComponentChildren) => (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
  return (
    <dl class="summary">
      {row('Source', e.source)}
      {row('Topic', e.topic)}
      {row('Webhook id', <span class="mono">{e.webhook_id}</span>)}
      {e.request_target ? row('Received at', <span class="mono">{e.request_target}</span>) : null}
      {e.account ? row('Account', e.account) : null}
      {row('Attempts', `${e.attempts} of ${e.max_attempts}`)}
      {row('Received', <Time iso={e.received_at} />)}
      {row('Processed', <Time iso={e.processed_at} />)}
      {/* An event waiting behind its key's head has no time of its own: it runs after the head. */}
      {e.status === 'received' && e.blockedBy == null ? row('Next attempt', <Time iso={e.next_attempt_at} />) : null}
      {e.locked_by
        ? row(
            'Locked by',
            <>
              {`${e.locked_by} since `}
              <Time iso={e.locked_at} />
            </>,
          )
        : null}
      {e.orderingKey != null
        ? row('Ordering key', <span class="mono">{e.orderingKey === '' ? '(no key lane)' : e.orderingKey}</span>)
        : null}
      {e.blockedBy != null
        ? row('Waiting', <a href={`/ui/events/${e.blockedBy}`}>{`blocked by event ${e.blockedBy}`}</a>)
        : null}
      {e.last_error ? row('Last error', <span class="mono">{e.last_error}</span>) : null}
      {row('Size', `${e.size_bytes} bytes`)}
      {e.conflicts?.count ? row('Conflicts', <a href="#conflicts">{`${e.conflicts.count} with other bytes`}</a>) : null}
    </dl>
  );
}
