import { useState } from 'preact/hooks';
import { isVersionMismatch, staleMessage } from '../../api/client';
import { Notice } from '../../components/format';
import { allows } from './roles';
import type { SourceCardProps } from './SourceCard';

const DAY = 24 * 3600;

/** Pause/resume (operator), rotate, test event and delete (admin): only the ones the role may take. */
export function SourceActions({ source: s, role, api, onChanged, onSecret, onNotice }: SourceCardProps) {
  const [busy, setBusy] = useState(false);
  const [overlap, setOverlap] = useState(String(DAY));
  const [topic, setTopic] = useState('');
  const [error, setError] = useState<string>();
  const managed = s.managed_by === 'database';
  const admin = allows(role, 'admin');

  // Every action is sent with the version this page read (If-Match). Refused with 412 because
  // someone changed the source meanwhile, it is said so; the list is reloaded either way.
  const run = async (action: () => Promise<void>) => {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (err) {
      setError(isVersionMismatch(err) ? staleMessage(`Source "${s.name}"`) : (err as Error).message);
    } finally {
      setBusy(false);
      onChanged();
    }
  };

  const rotate = () =>
    run(async () => {
      const seconds = Number(overlap);
      if (!Number.isInteger(seconds) || seconds < 0) throw new Error('Overlap: a whole number of seconds, 0 or more.');
      const rotated = await api.rotate(s, seconds);
      onSecret({
        title: `New secret of "${s.name}"`,
        secret: rotated.secret!,
        note: `Set it at the provider now. The previous secrets stay valid for ${seconds} s; after that, requests signed with them are rejected.`,
      });
    });
  const test = () =>
    run(async () => {
      const answer = await api.testEvent(s, topic.trim() || undefined);
      if (answer.status === 'rejected')
        onNotice('error', `Test event rejected by ingest (${answer.ingest_status}): ${answer.error?.message ?? ''}`);
      else
        onNotice(
          'ok',
          <>
            {`Test event ${answer.status}${answer.topic ? ` (${answer.topic})` : ''}${s.paused ? ', on hold while paused' : ''}: `}
            {answer.event_id !== null ? (
              <a href={`/ui/events/${answer.event_id}`}>{`event ${answer.event_id}`}</a>
            ) : (
              'no new event'
            )}
          </>,
        );
    });
  const remove = () => {
    if (!window.confirm(`Delete the source "${s.name}"? Its URL stops accepting at once; its stored events stay.`))
      return;
    void run(async () => {
      await api.remove(s);
      onNotice('ok', `Source "${s.name}" deleted.`);
    });
  };

  if (!allows(role, 'operator')) return null;
  return (
    <div class="source-actions">
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="filters">
        {managed ? (
          <button
            type="button"
            disabled={busy}
            onClick={() => run(async () => void (await api.setPaused(s, !s.paused)))}
          >
            {s.paused ? 'Resume' : 'Pause'}
          </button>
        ) : null}
        {admin ? (
          <>
            <div class="field">
              <label for={`topic-${s.name}`}>Topic</label>
              <input
                id={`topic-${s.name}`}
                value={topic}
                placeholder="sample's"
                onInput={(e) => setTopic(e.currentTarget.value)}
              />
            </div>
            <button type="button" class="secondary" disabled={busy} onClick={test}>
              Send a test event
            </button>
          </>
        ) : null}
        {admin && managed ? (
          <>
            <div class="field">
              <label for={`overlap-${s.name}`}>Overlap (s)</label>
              <input
                id={`overlap-${s.name}`}
                inputMode="numeric"
                value={overlap}
                onInput={(e) => setOverlap(e.currentTarget.value)}
              />
            </div>
            <button type="button" class="secondary" disabled={busy} onClick={rotate}>
              Rotate secret
            </button>
            <button type="button" class="danger" disabled={busy} onClick={remove}>
              Delete
            </button>
          </>
        ) : null}
      </div>
    </div>
  );
}
