import { useState } from 'preact/hooks';

/**
 * Copies `text` with the Clipboard API (no inline script: CSP-safe). Where the browser refuses
 * (plain HTTP, permission), the text stays visible and selectable next to the button.
 */
export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle');
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text);
      setState('copied');
    } catch {
      setState('failed');
    }
  };
  return (
    <>
      <button type="button" class="secondary" onClick={copy} aria-label={label}>
        Copy
      </button>
      <span role="status" class="muted copy-state">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'Copying is blocked here: select the text' : ''}
      </span>
    </>
  );
}
