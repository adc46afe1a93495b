import { useMemo, useState } from 'preact/hooks';
import { sourcesApi } from '../../api/sources';
import { Notice } from '../../components/format';
import { SecretOnce } from '../../components/SecretOnce';
import { useStats } from '../../hooks/stats';
import { useResource } from '../../hooks/useResource';
import { useTitle } from '../../hooks/useTitle';
import { useApi } from '../../session';
import { CreateSource } from './CreateSource';
import { allows } from './roles';
import { SourceCard, type Shown } from './SourceCard';

/**
 * Every push source: where the provider sends, its secrets' fingerprints, its state and last
 * rejection, and the actions the signed-in token's role may take (the API checks them again).
 */
export function SourcesPage() {
  useTitle('Sources');
  const api = useApi();
  const sources = useMemo(() => sourcesApi(api), [api]);
  const who = useResource((signal) => sources.whoami(signal), [sources]);
  const list = useResource((signal) => sources.list(signal), [sources]);
  const last = useResource((signal) => api.lastRejections(signal), [api]);
  const stats = useStats();
  const [secret, setSecret] = useState<Shown>();
  const [notice, setNotice] = useState<{ kind: 'ok' | 'error' | 'info'; text: preact.ComponentChildren }>();
  const role = who.data?.role;

  const changed = () => {
    list.reload();
    last.reload();
  };
  const received = (name: string) =>
    Object.values(stats.data?.by_source[name] ?? {}).reduce((sum, count) => sum + count, 0);

  return (
    <>
      <h1 tabIndex={-1}>Sources</h1>
      <p class="muted">
        Where each sender delivers, and with which secrets. Sources from GATEWAY_CONFIG or the environment are managed
        by the file and read-only here. {role ? `Signed in as ${who.data!.token_name} (${role}): ` : ''}
        {role === 'admin'
          ? 'you may change everything.'
          : allows(role, 'operator')
            ? 'you may pause and resume; changes need the admin role.'
            : role
              ? 'read only; pausing needs the operator or admin role, changes the admin role.'
              : ''}
      </p>
      {allows(role, 'admin') ? (
        <CreateSource
          api={sources}
          onCreated={(s) => {
            changed();
            if (s.secret)
              setSecret({
                title: `Secret of the new source "${s.name}"`,
                secret: s.secret,
                note: 'Give it to the provider with the URL below; it signs with it.',
              });
          }}
        />
      ) : null}
      {notice ? <Notice kind={notice.kind}>{notice.text}</Notice> : null}
      {secret ? (
        <SecretOnce title={secret.title} secret={secret.secret} onClose={() => setSecret(undefined)}>
          <p>{secret.note}</p>
        </SecretOnce>
      ) : null}
      <div aria-busy={list.loading}>
        {list.error ? <Notice kind="error">{list.error.message}</Notice> : null}
        {list.data?.sources.length === 0 ? <p class="muted">No push sources yet.</p> : null}
        {list.data?.sources.map((s) => (
          <SourceCard
            key={s.name}
            source={s}
            role={role}
            api={sources}
            lastRejection={last.data?.sources[s.name] ?? null}
            received={received(s.name)}
            onChanged={changed}
            onSecret={setSecret}
            onNotice={(kind, text) => setNotice({ kind, text })}
          />
        ))}
      </div>
    </>
  );
}
