import { useEffect, useState } from 'preact/hooks';
import { isVersionMismatch, staleMessage } from '../../api/client';
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
 * On a 412 the source is reloaded and the box shows the stored options, the refused edit kept
 * beside it to copy from: a key missing from the box is sent as null, so the box must start from
 * what is stored, not from the version someone else replaced.
 */
export function EditOptions({ source, api, onChanged, onNotice }: EditOptionsProps) {
  const stored = JSON.stringify(source.spec, null, 2);
  const [text, setText] = useState(stored);
  const [error, setError] = useState<string>();
  // The edit a 412 refused, and the version it was made on (the box is reset once a newer one is read).
  const [refused, setRefused] = useState<{ draft: string; version: number | null }>();

  useEffect(() => {
    if (refused && source.version !== refused.version) setText(stored);
  }, [source.version]);

  const save = async () => {
    setError(undefined);
    const parsed = parseOptions(text);
    if (typeof parsed === 'string') return setError(parsed);
    const patch: Record<string, unknown> = { ...parsed };
    for (const key of Object.keys(source.spec ?? {})) if (!(key in parsed)) patch[key] = null;
    try {
      await api.update(source, patch);
      setRefused(undefined);
      onNotice('ok', `Options of "${source.name}" saved.`);
    } catch (err) {
      if (isVersionMismatch(err)) setRefused({ draft: text, version: source.version });
      else setError((err as Error).message);
    }
    onChanged();
  };

  return (
    <details class="source-options">
      <summary>Edit options</summary>
      {refused ? (
        <>
          <Notice kind="error">{staleMessage(`Source "${source.name}"`)}</Notice>
          <details>
            <summary>Your edit, not saved</summary>
            <pre class="mono">{refused.draft}</pre>
          </details>
        </>
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
