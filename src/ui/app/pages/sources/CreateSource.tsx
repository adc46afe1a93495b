import { useState } from 'preact/hooks';
import { PROVIDERS, type SourcesApi, type WithSecret } from '../../api/sources';
import { Field, FieldSet, hasErrors, textOf, type FieldErrors } from '../../components/Form';

type FormName = 'name' | 'provider' | 'options';

/** The options textarea: empty, or a JSON object; else the message to show. */
export function parseOptions(text: string): Record<string, unknown> | string {
  if (text.trim() === '') return {};
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through to the message
  }
  return 'Options: a JSON object such as {"rate_limit": {"per_second": 50}}, or leave it empty.';
}

/** Create a source (admin): provider, name and options; a generated secret is shown once. */
export function CreateSource({ api, onCreated }: { api: SourcesApi; onCreated(source: WithSecret): void }) {
  const [errors, setErrors] = useState<FieldErrors<FormName>>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);

  const submit = async (form: HTMLFormElement) => {
    const name = textOf(form, 'name');
    const options = parseOptions(textOf(form, 'options'));
    const checked: FieldErrors<FormName> = {
      name: /^[a-z0-9][a-z0-9_-]{0,62}$/.test(name) ? undefined : 'Use 1-63 lower-case letters, digits, "-" or "_".',
      options: typeof options === 'string' ? options : undefined,
    };
    setErrors(checked);
    setFormError(undefined);
    if (hasErrors(checked) || typeof options === 'string') return;
    setBusy(true);
    try {
      const created = await api.create({ ...options, name, provider: textOf(form, 'provider') });
      form.reset();
      onCreated(created);
    } catch (err) {
      setFormError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="create-source">
      <summary>Add a source</summary>
      <FieldSet class="filters" aria-label="Add a source" onSubmit={submit} error={formError}>
        <Field name="provider" label="Provider">
          {(props) => (
            <select {...props}>
              {PROVIDERS.map((p) => (
                <option key={p} value={p}>
                  {p}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field name="name" label="Name" error={errors.name} hint="Part of its URL: /api/webhooks/<name>">
          {(props) => <input {...props} placeholder="acme-shop" autocomplete="off" required />}
        </Field>
        <Field
          name="options"
          label="Options (JSON)"
          error={errors.options}
          hint="As in the config file; empty for the defaults"
        >
          {(props) => <textarea {...props} class="mono" rows={3} placeholder='{"rate_limit": {"per_second": 50}}' />}
        </Field>
        <div class="actions">
          <button type="submit" disabled={busy}>
            Create source
          </button>
        </div>
      </FieldSet>
    </details>
  );
}
