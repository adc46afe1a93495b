import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError } from '../../../api/client';
import { parseExactNumbers, stringifyExact } from '../../../api/json';
import type { PreviewAnswer, PreviewInput, RulesApi } from '../../../api/rules';
import type { EventSummary } from '../../../api/types';
import { Notice } from '../../../components/format';
import { useResource } from '../../../hooks/useResource';
import { useApi } from '../../../session';
import type { Json } from './rule-model';

/** Typing pauses this long before a preview is asked for; one request at a time, the stale one aborted. */
export const PREVIEW_DEBOUNCE_MS = 350;
/** A pasted payload above this is not sent (the preview is for looking at, not for load). */
const MAX_PASTE_BYTES = 64 * 1024;
/** Recent events offered per chosen source, and sources asked (the first ones chosen). */
const RECENT_PER_SOURCE = 10;
const MAX_SOURCES = 5;

export interface Draft {
  filter: Json | null;
  sources: string[];
  transform?: PreviewInput['draft']['transform'];
}

/**
 * "What would this destination receive?" for the rule being edited: a recent stored event of the
 * chosen sources, or a pasted payload, sent to POST /api/destinations/{name}/preview with the
 * unsaved rule as `draft` (debounced). Shows matched or filtered, the exact body and headers
 * (signature included, signed at a fixed past time so it cannot be replayed), or the
 * transformation's error.
 */
export function PreviewPanel({
  name,
  draft,
  draftProblem,
  rules,
}: {
  name: string;
  draft: Draft;
  /** Set while the rule being edited cannot be evaluated (invalid JSON, say): no request is made. */
  draftProblem?: string;
  rules: RulesApi;
}) {
  const api = useApi();
  const [mode, setMode] = useState<'event' | 'paste'>('event');
  const [eventId, setEventId] = useState<string>('');
  const [paste, setPaste] = useState({ payload: '{\n  "total": 150\n}', topic: 'orders/create', path: '', query: '' });
  const [answer, setAnswer] = useState<{ result?: PreviewAnswer; error?: string; busy: boolean }>({ busy: false });

  const asked = draft.sources.slice(0, MAX_SOURCES);
  const recent = useResource(
    async (signal) => {
      const pages = await Promise.all(asked.map((source) => api.events({ source, limit: RECENT_PER_SOURCE }, signal)));
      return pages.flatMap((p) => p.events).sort((a, b) => b.id - a.id);
    },
    [asked.join(',')],
  );
  const events: EventSummary[] = recent.data ?? [];
  // The newest event is picked until the user picks one (or when the picked one left the list).
  const chosen = events.some((e) => String(e.id) === eventId) ? eventId : String(events[0]?.id ?? '');

  const input = useMemo((): PreviewInput | string => {
    if (mode === 'event')
      return chosen ? { event_id: Number(chosen), draft } : 'No stored event of these sources yet: paste a payload.';
    if (new TextEncoder().encode(paste.payload).length > MAX_PASTE_BYTES) return 'The pasted payload is over 64 KiB.';
    let payload: Json;
    try {
      // Exact: a pasted 820982911946154508 is previewed as that id.
      payload = parseExactNumbers(paste.payload) as Json;
    } catch (err) {
      return `The pasted payload is not JSON: ${(err as Error).message}`;
    }
    return {
      payload,
      topic: paste.topic || 'preview',
      ...(draft.sources[0] ? { source: draft.sources[0] } : {}),
      ...(paste.path ? { path: paste.path } : {}),
      ...(paste.query ? { query: paste.query.replace(/^\?/, '') } : {}),
      draft,
    };
  }, [mode, chosen, paste, JSON.stringify(draft)]);
  const key = typeof input === 'string' ? input : stringifyExact(input);

  useEffect(() => {
    if (draftProblem || typeof input === 'string') return;
    const controller = new AbortController();
    const timer = setTimeout(async () => {
      setAnswer((a) => ({ ...a, busy: true }));
      try {
        const result = await rules.preview(name, input, controller.signal);
        setAnswer({ result, busy: false });
      } catch (err) {
        if (controller.signal.aborted) return;
        const message = err instanceof ApiError ? `${err.message}` : (err as Error).message;
        setAnswer({ error: message, busy: false });
      }
    }, PREVIEW_DEBOUNCE_MS);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [key, draftProblem, name]);

  const problem = draftProblem ?? (typeof input === 'string' ? input : undefined);
  return (
    <section class="rule-preview" aria-labelledby="preview-title" aria-busy={answer.busy}>
      <h2 id="preview-title">Live preview</h2>
      <div class="preview-mode" role="radiogroup" aria-label="Preview with">
        <label class="check">
          <input type="radio" name="preview-mode" checked={mode === 'event'} onChange={() => setMode('event')} />A
          recent event
        </label>
        <label class="check">
          <input type="radio" name="preview-mode" checked={mode === 'paste'} onChange={() => setMode('paste')} />A
          pasted payload
        </label>
      </div>
      {mode === 'event' ? (
        <div class="field">
          <label for="preview-event">Event</label>
          <select id="preview-event" value={chosen} onChange={(e) => setEventId(e.currentTarget.value)}>
            {events.map((e) => (
              <option key={e.id} value={String(e.id)}>
                #{e.id} {e.topic} ({e.source})
              </option>
            ))}
          </select>
        </div>
      ) : (
        <div class="preview-paste">
          <div class="field">
            <label for="preview-payload">Payload (JSON)</label>
            <textarea
              id="preview-payload"
              class="mono code"
              rows={8}
              value={paste.payload}
              onInput={(e) => setPaste({ ...paste, payload: e.currentTarget.value })}
            />
          </div>
          {(['topic', 'path', 'query'] as const).map((k) => (
            <div class="field" key={k}>
              <label for={`preview-${k}`}>{k === 'topic' ? 'Topic' : k === 'path' ? 'Path' : 'Query string'}</label>
              <input
                id={`preview-${k}`}
                class="mono"
                value={paste[k]}
                placeholder={k === 'path' ? '/api/webhooks/shop' : k === 'query' ? 'region=eu' : ''}
                onInput={(e) => setPaste({ ...paste, [k]: e.currentTarget.value })}
              />
            </div>
          ))}
        </div>
      )}
      <div id="preview-result" aria-live="polite">
        {problem ? <Notice kind="info">{problem}</Notice> : <Result answer={answer} />}
      </div>
    </section>
  );
}

function Result({ answer }: { answer: { result?: PreviewAnswer; error?: string; busy: boolean } }) {
  if (answer.error) return <Notice kind="error">{answer.error}</Notice>;
  const r = answer.result;
  if (!r) return <p class="muted">{answer.busy ? 'Previewing…' : ''}</p>;
  const verdict = r.error
    ? ['failed', r.error.stage === 'source' ? "the source's transformation failed" : 'transformation failed']
    : r.routed === false
      ? ['none', 'not routed: its source is not chosen']
      : r.matched
        ? ['completed', 'matched: would be delivered']
        : ['retry', 'filtered: ignored, not sent'];
  return (
    <>
      <p>
        <span class={`badge status-${verdict[0]}`} id="preview-verdict">
          {verdict[1]}
        </span>
      </p>
      {r.source_transform && (
        <p class="muted" id="preview-source-transform">
          {`The transformation of source ${r.source_transform.source} (v${r.source_transform.transform_version}) ran first: the filter and the body below see its result.`}
        </p>
      )}
      {r.error ? (
        <pre class="preview-error">{`${r.error.code}: ${r.error.message}`}</pre>
      ) : (
        <>
          <h3>Body</h3>
          <pre class="preview-body" id="preview-body">
            {r.body}
          </pre>
          <h3>Headers</h3>
          <dl class="preview-headers">
            {Object.entries(r.headers ?? {}).map(([k, v]) => (
              <>
                <dt class="mono">{k}</dt>
                <dd class="mono">{v}</dd>
              </>
            ))}
          </dl>
          <p class="muted">Signed at 2000-01-01T00:00:00Z: checkable by hand, never accepted by a receiver.</p>
        </>
      )}
    </>
  );
}
