import { isVersionMismatch, staleMessage } from '../../api/client';
import type { SecretView, SourceView, SourcesApi } from '../../api/sources';
import type { RejectedRequest, Role } from '../../api/types';
import { CopyButton } from '../../components/CopyButton';
import { plural, Time } from '../../components/format';
import { Table, type Column } from '../../components/Table';
import { EditOptions } from './EditOptions';
import { age, allows } from './roles';
import { SourceActions } from './SourceActions';

/** A secret to show once (SecretOnce), with what to do with it. */
export interface Shown {
  title: string;
  secret: string;
  note: string;
}

export interface SourceCardProps {
  source: SourceView;
  role: Role | undefined;
  api: SourcesApi;
  lastRejection: RejectedRequest | null;
  /** Events stored in the last 24 hours (GET /api/stats). */
  received: number;
  onChanged(): void;
  onSecret(shown: Shown): void;
  onNotice(kind: 'ok' | 'error' | 'info', text: preact.ComponentChildren): void;
}

/** One source: its URL, state, secrets, last rejection, and the actions the role allows. */
export function SourceCard(props: SourceCardProps) {
  const { source: s, role, api, lastRejection, received, onChanged, onNotice } = props;
  const url = `${location.origin}${s.path}`;
  const managed = s.managed_by === 'database';

  const revoke = async (secret: SecretView) => {
    if (
      !window.confirm(
        `Revoke secret ${secret.fingerprint} of "${s.name}" now? Requests signed with it are rejected at once.`,
      )
    )
      return;
    try {
      await api.revoke(s, secret.id!);
      onNotice('ok', `Secret ${secret.fingerprint} of "${s.name}" revoked.`);
    } catch (err) {
      onNotice('error', isVersionMismatch(err) ? staleMessage(`Source "${s.name}"`) : (err as Error).message);
    }
    onChanged();
  };

  const columns: Column<SecretView>[] = [
    { header: 'Fingerprint', class: 'mono', cell: (x) => x.fingerprint },
    { header: 'Age', cell: (x) => age(x.age_seconds) },
    { header: 'Valid until', cell: (x) => (x.not_after ? <Time iso={x.not_after} /> : 'no end') },
    {
      header: 'State',
      cell: (x) => (
        <span class={`badge ${x.expired ? 'status-failed' : 'status-completed'}`}>
          {x.expired ? 'expired' : 'valid'}
        </span>
      ),
    },
  ];
  if (managed && allows(role, 'admin')) {
    columns.push({
      header: '',
      cell: (x) =>
        x.id === null ? null : (
          <button
            type="button"
            class="secondary"
            onClick={() => revoke(x)}
            aria-label={`Revoke secret ${x.fingerprint}`}
          >
            Revoke
          </button>
        ),
    });
  }

  return (
    <section class="source" aria-labelledby={`source-${s.name}`} data-source={s.name}>
      <header class="source-head">
        <h2 id={`source-${s.name}`} class="mono">
          {s.name}
        </h2>
        <span class="badge">{s.provider}</span>
        <span class={`badge ${s.paused ? 'status-retry' : 'status-completed'}`}>{s.paused ? 'paused' : 'active'}</span>
        {s.paused ? <span class="badge status-received">{`${s.on_hold} on hold`}</span> : null}
        {managed ? null : <span class="badge">managed by file</span>}
      </header>
      <div class="source-url">
        <span class="muted">URL to give the provider</span>
        <code class="mono">{url}</code>
        <CopyButton text={url} label={`Copy the URL of ${s.name}`} />
      </div>
      <dl class="source-facts">
        <dt>Events (24 h)</dt>
        <dd>{plural(received, 'event')}</dd>
        <dt>Last rejection</dt>
        <dd>
          {lastRejection ? (
            <>
              <Time iso={lastRejection.received_at} /> <span class="mono">{lastRejection.cause}</span>{' '}
              <a href={`/ui/requests?source=${encodeURIComponent(s.name)}`}>(all)</a>
            </>
          ) : (
            'never'
          )}
        </dd>
        <dt>Body limit</dt>
        <dd>{s.max_body_bytes === null ? 'MAX_BODY_BYTES (the gateway default)' : bytesText(s.max_body_bytes)}</dd>
      </dl>
      <Table
        caption={`Secrets of ${s.name}`}
        columns={columns}
        rows={s.secrets}
        rowKey={(x) => x.fingerprint}
        empty="No secret."
      />
      <SourceActions {...props} />
      {managed && allows(role, 'admin') && s.spec ? (
        <EditOptions source={s} api={api} onChanged={onChanged} onNotice={onNotice} />
      ) : null}
    </section>
  );
}

/** A body limit as bytes, with MiB when it is a whole number of them (max_body_bytes: 26214400). */
const bytesText = (bytes: number) =>
  bytes % (1024 * 1024) === 0 ? `${bytes} bytes (${bytes / (1024 * 1024)} MiB)` : `${bytes} bytes`;
