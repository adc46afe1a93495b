import { useState } from 'preact/hooks';
import type { AlertChannel, AlertRule, AlertRuleInput } from '../../api/types';
import { Field, FieldSet, textOf, type FieldErrors } from '../../components/Form';
import { SaveActions, useSave } from './save';

/** Each kind's thresholds, with the API's defaults and bounds (src/alerts/config.ts). */
const KINDS: Record<
  string,
  { help: string; params: { name: string; label: string; fallback?: number; max?: number }[] }
> = {
  event_failed: {
    help: 'events failed for good',
    params: [
      { name: 'source', label: 'Source (empty: any)' },
      { name: 'window_minutes', label: 'Within minutes', fallback: 15, max: 1440 },
    ],
  },
  destination_failing: {
    help: 'a destination failing every delivery',
    params: [{ name: 'minutes', label: 'For minutes', fallback: 5, max: 1440 }],
  },
  backlog_age: {
    help: 'the oldest due event waiting too long',
    params: [
      { name: 'source', label: 'Source (empty: any)' },
      { name: 'older_than_seconds', label: 'Older than seconds', fallback: 300, max: 604_800 },
    ],
  },
  signature_failures: {
    help: 'a spike of signature failures (a secret rotated on one side?)',
    params: [
      { name: 'source', label: 'Source (empty: any)' },
      { name: 'count', label: 'At least this many', fallback: 10, max: 1_000_000 },
      { name: 'minutes', label: 'Within minutes', fallback: 5, max: 1440 },
    ],
  },
  poll_failing: { help: 'the latest poll run failed', params: [{ name: 'source', label: 'Source (empty: any)' }] },
  destination_circuit_open: {
    help: "a destination's circuit is open (deliveries held) or it answered 410 Gone",
    params: [{ name: 'destination', label: 'Destination (empty: any)' }],
  },
};

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

export interface RuleFormProps {
  /** The rule being edited; undefined for a new one. */
  rule?: AlertRule;
  channels: AlertChannel[];
  onSave(input: AlertRuleInput): Promise<void>;
  onCancel?(): void;
}

/** Create or edit a rule: its kind's thresholds, the channels to tell, enabled or not. */
export function RuleForm({ rule, channels, onSave, onCancel }: RuleFormProps) {
  const [kind, setKind] = useState(rule?.kind ?? 'event_failed');
  const { errors, formError, busy, save } = useSave();
  const spec = KINDS[kind]!;

  const submit = async (form: HTMLFormElement) => {
    const name = textOf(form, 'rule-name');
    const checked: FieldErrors = {
      'rule-name': NAME.test(name) ? undefined : 'Use 1-63 lower-case letters, digits, "-" or "_".',
    };
    const params: Record<string, unknown> = {};
    for (const p of spec.params) {
      const text = textOf(form, `param-${p.name}`);
      if (text === '') continue;
      if (p.fallback === undefined) params[p.name] = text;
      else if (/^\d+$/.test(text) && Number(text) >= 1 && Number(text) <= p.max!) params[p.name] = Number(text);
      else checked[`param-${p.name}`] = `A whole number from 1 to ${p.max}.`;
    }
    const chosen = channels.filter(
      (c) => (form.elements.namedItem(`tell-${c.name}`) as HTMLInputElement | null)?.checked,
    );
    const enabled = (form.elements.namedItem('enabled') as HTMLInputElement).checked;
    await save(form, checked, rule !== undefined, () =>
      onSave({ name, kind, params, channels: chosen.map((c) => c.name), enabled }),
    );
  };

  return (
    <FieldSet
      class="filters alert-form"
      aria-label={rule ? `Edit rule ${rule.name}` : 'New rule'}
      onSubmit={submit}
      error={formError}
    >
      <Field name="rule-name" label="Rule name" error={errors['rule-name']}>
        {(props) => (
          <input {...props} defaultValue={rule?.name ?? ''} placeholder="shopify-signatures" autocomplete="off" />
        )}
      </Field>
      <Field name="rule-kind" label="Kind" hint={spec.help}>
        {(props) => (
          <select {...props} onChange={(e) => setKind(e.currentTarget.value)}>
            {Object.keys(KINDS).map((k) => (
              <option key={k} value={k} selected={k === kind}>
                {k}
              </option>
            ))}
          </select>
        )}
      </Field>
      {spec.params.map((p) => (
        <Field key={`${kind}-${p.name}`} name={`param-${p.name}`} label={p.label} error={errors[`param-${p.name}`]}>
          {(props) => (
            <input
              {...props}
              inputMode={p.fallback === undefined ? undefined : 'numeric'}
              defaultValue={rule?.kind === kind && rule.params[p.name] !== undefined ? String(rule.params[p.name]) : ''}
              placeholder={p.fallback === undefined ? 'any' : String(p.fallback)}
              autocomplete="off"
            />
          )}
        </Field>
      ))}
      <fieldset class="checks">
        <legend>Tell</legend>
        {channels.length === 0 ? <span class="muted">No channels yet: add one below.</span> : null}
        {channels.map((c) => (
          <label class="check" key={c.name}>
            <input type="checkbox" name={`tell-${c.name}`} defaultChecked={rule?.channels.includes(c.name) ?? false} />
            {c.name}
          </label>
        ))}
      </fieldset>
      <label class="check">
        <input type="checkbox" name="enabled" defaultChecked={rule?.enabled ?? true} />
        Enabled
      </label>
      <SaveActions busy={busy} label={rule ? 'Save rule' : 'Create rule'} onCancel={onCancel} />
    </FieldSet>
  );
}
