import { useEffect, useRef, useState } from 'preact/hooks';

export interface SecretOnceProps {
  title: string;
  /** The secret: shown in this dialog only, and forgotten when it closes. */
  secret: string;
  /** What the secret is for and where it goes (the provider's settings page, say). */
  children?: preact.ComponentChildren;
  /** The warning above it, when the default (the gateway keeps only a fingerprint) is not true. */
  warning?: string;
  /** The operator has confirmed they stored it; the caller drops the secret from its state. */
  onClose(): void;
}

/**
 * A new secret or token, shown once: a modal dialog with the value, a copy button, and a Done button
 * that is enabled only after the operator confirms they stored it (Escape does not close it before
 * then). The gateway keeps only a hash or fingerprint, so a secret closed here is gone.
 */
export function SecretOnce({ title, secret, children, warning, onClose }: SecretOnceProps) {
  const dialog = useRef<HTMLDialogElement>(null);
  const [stored, setStored] = useState(false);
  const [copied, setCopied] = useState<'no' | 'yes' | 'failed'>('no');

  useEffect(() => {
    const el = dialog.current!;
    el.showModal();
    return () => el.close();
  }, []);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(secret);
      setCopied('yes');
    } catch {
      // No clipboard (plain HTTP, or permission refused): select the text for Ctrl+C instead.
      dialog.current?.querySelector<HTMLInputElement>('input.secret')?.select();
      setCopied('failed');
    }
  };

  return (
    <dialog
      ref={dialog}
      class="secret-once"
      aria-labelledby="secret-once-title"
      onCancel={(e) => {
        if (!stored) e.preventDefault();
      }}
      onClose={onClose}
    >
      <h2 id="secret-once-title">{title}</h2>
      <p class="message warn">
        {warning ?? 'Shown once: copy it now. The gateway keeps only a fingerprint and cannot show it again.'}
      </p>
      {children}
      <div class="secret-row">
        <input
          class="secret mono"
          aria-label="Secret"
          readOnly
          value={secret}
          spellcheck={false}
          autocomplete="off"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button type="button" onClick={copy}>
          Copy
        </button>
      </div>
      <p role="status" class="muted">
        {copied === 'yes'
          ? 'Copied to the clipboard.'
          : copied === 'failed'
            ? 'Copying is blocked here: the text is selected, press Ctrl+C.'
            : ''}
      </p>
      <label class="check">
        <input type="checkbox" checked={stored} onChange={(e) => setStored(e.currentTarget.checked)} />I have stored
        this secret
      </label>
      <div class="actions">
        <button type="button" disabled={!stored} onClick={() => dialog.current?.close()}>
          Done
        </button>
      </div>
    </dialog>
  );
}
