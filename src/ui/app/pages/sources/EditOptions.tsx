import { useState } from 'preact/hooks';
import { ApiError } from '../../api/client';
import type { SourceView, SourcesApi } from '../../api/sources';
import { Notice } from '../../components/format';
import { parseOptions } from './CreateSource';

export interface EditOptionsProps {
  source: SourceView;
  api: SourcesApi;
  onChanged(): void;
  onNotice(kind: 'ok' | 'error', text: string): void;
}

/**
 * A database source's options as JSON. Saved as a merge patch (a key taken out is sent as null)
 * with If-Match: the version this page read, so a change made meanwhile is refused (412), not lost.
 */
export function EditOptions({ source, api, onChanged, onNotice }: EditOptionsProps) {
  const [text, setText] = useState(() => JSON.stringify(source.spec, null, 2));
  const [error, setError] = useState<string>();
  const [stale, setStale] = useState(false);

  const save = async () => {
    setError(undefined);
    const parsed = parseOptions(text);
    if (typeof parsed === 'string') return setError(parsed);
    const patch: Record<string, unknown> = { ...parsed };
    for (const key of Object.keys(source.spec ?? {})) if (!(key in parsed)) patch[key] = null;
    try {
      await api.update(source, patch);
      onNotice('ok', `Options of "${source.name}" saved.`);
      onChanged();
    } catch (err) {
      if (err instanceof ApiError && err.status === 412) setStale(true);
      else setError((err as Error).message);
    }
  };

  return (
    <details class="source-options">
      <summary>Edit options</summary>
      {stale ? (
        <Notice kind="error">
          Changed by someone else since this page read it: reload to see their change, then edit again.{' '}
          <button type="button" class="link" onClick={() => location.reload()}>
            Reload
          </button>
        </Notice>
      ) : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
      <div class="field">
        <label for={`options-${source.name}`}>{`Options of ${source.name} (JSON, version ${source.version})`}</label>
        <textarea
          id={`options-${source.name}`}
          class="mono"
          rows={6}
          value={text}
          onInput={(e) => setText(e.currentTarget.value)}
        />
      </div>
      <div class="actions">
        <button type="button" onClick={save}>
          Save options
        </button>
      </div>
    </details>
  );
}
