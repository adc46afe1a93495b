import { useState } from 'preact/hooks';
import { hasErrors, type FieldErrors } from '../../components/Form';

/**
 * The state of a create-or-edit form: field errors, the server's refusal, and whether a save is
 * under way. `save` shows the field errors and stops if there are any; else runs `write`, resets a
 * new-item form after it, and shows the server's message if it refuses.
 */
export function useSave() {
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const save = async (form: HTMLFormElement, checked: FieldErrors, editing: boolean, write: () => Promise<void>) => {
    setErrors(checked);
    setFormError(undefined);
    if (hasErrors(checked)) return;
    setBusy(true);
    try {
      await write();
      if (!editing) form.reset();
    } catch (err) {
      setFormError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return { errors, formError, busy, save };
}

/** The form's submit button, and Cancel while editing. */
export function SaveActions({ busy, label, onCancel }: { busy: boolean; label: string; onCancel?: () => void }) {
  return (
    <div class="actions">
      <button type="submit" disabled={busy}>
        {label}
      </button>
      {onCancel ? (
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      ) : null}
    </div>
  );
}
