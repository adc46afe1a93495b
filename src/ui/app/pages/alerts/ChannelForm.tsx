import { useState } from 'preact/hooks';
import type { AlertChannel, AlertChannelInput, AlertChannelType } from '../../api/types';
import { Field, FieldSet, textOf, type FieldErrors } from '../../components/Form';
import { SaveActions, useSave } from './save';

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const WHSEC = /^whsec_[A-Za-z0-9+/]{22,}={0,2}$/;
const TYPES: Record<AlertChannelType, string> = {
  webhook: 'webhook (Standard Webhooks-signed POST)',
  slack: 'Slack incoming webhook',
  email: 'email (through alerts.smtp of the config file)',
};

/** A new Standard Webhooks signing secret: whsec_ and 24 random bytes in base64, made in this browser. */
export function newSigningSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(24));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}

export interface ChannelFormProps {
  /** The channel being edited; undefined for a new one. */
  channel?: AlertChannel;
  /** Saves; `generated` is a signing secret this form made up, to be shown once by the caller. */
  onSave(input: AlertChannelInput, generated?: string): Promise<void>;
  onCancel?(): void;
}

/**
 * Create or edit a channel. Secrets are write-only: an edit shows only the fingerprint, and an
 * empty secret (webhook) or URL (Slack) keeps the current one. A new webhook channel without a
 * secret gets one made here, shown once after it is saved.
 */
export function ChannelForm({ channel, onSave, onCancel }: ChannelFormProps) {
  const [type, setType] = useState<AlertChannelType>(channel?.type ?? 'webhook');
  const { errors, formError, busy, save } = useSave();
  const keeps = channel !== undefined && channel.type === type;

  const submit = async (form: HTMLFormElement) => {
    const name = textOf(form, 'channel-name');
    const url = textOf(form, 'channel-url');
    const secret = textOf(form, 'channel-secret');
    const to = textOf(form, 'channel-to')
      .split(/[\s,;]+/)
      .filter(Boolean);
    const checked: FieldErrors = {
      'channel-name': NAME.test(name) ? undefined : 'Use 1-63 lower-case letters, digits, "-" or "_".',
    };
    if (type !== 'email' && !(url === '' && keeps) && !/^https?:\/\/\S+$/.test(url))
      checked['channel-url'] = 'An http:// or https:// URL.';
    if (type === 'webhook' && secret !== '' && !WHSEC.test(secret))
      checked['channel-secret'] = 'whsec_ and base64 of at least 16 bytes, or leave empty.';
    if (type === 'email' && (to.length === 0 || to.some((a) => !/^[^@\s]+@[^@\s]+$/.test(a))))
      checked['channel-to'] = 'One or more addresses, separated by commas.';
    const generated = type === 'webhook' && secret === '' && !keeps ? newSigningSecret() : undefined;
    const input: AlertChannelInput =
      type === 'email'
        ? { name, type, to }
        : type === 'slack'
          ? { name, type, ...(url ? { url } : {}) }
          : { name, type, ...(url ? { url } : {}), ...(secret || generated ? { secret: secret || generated } : {}) };
    await save(form, checked, channel !== undefined, () => onSave(input, generated));
  };

  const kept = channel?.secret_fingerprint
    ? `empty keeps the current one (fingerprint ${channel.secret_fingerprint})`
    : '';
  return (
    <FieldSet
      class="filters alert-form"
      aria-label={channel ? `Edit channel ${channel.name}` : 'New channel'}
      onSubmit={submit}
      error={formError}
    >
      <Field name="channel-name" label="Channel name" error={errors['channel-name']}>
        {(props) => <input {...props} defaultValue={channel?.name ?? ''} placeholder="oncall" autocomplete="off" />}
      </Field>
      <Field name="channel-type" label="Type">
        {(props) => (
          <select {...props} onChange={(e) => setType(e.currentTarget.value as AlertChannelType)}>
            {(Object.keys(TYPES) as AlertChannelType[]).map((t) => (
              <option key={t} value={t} selected={t === type}>
                {TYPES[t]}
              </option>
            ))}
          </select>
        )}
      </Field>
      {type === 'webhook' ? (
        <>
          <Field
            name="channel-url"
            label="URL"
            error={errors['channel-url']}
            hint={
              keeps
                ? `Empty keeps the current one (${channel.target}, fingerprint ${channel.url_fingerprint ?? ''})`
                : 'Its path is never shown again: it may be the credential'
            }
          >
            {(props) => <input {...props} placeholder="https://ops.example.com/alerts" autocomplete="off" />}
          </Field>
          <Field
            name="channel-secret"
            label="Signing secret"
            error={errors['channel-secret']}
            hint={keeps ? kept : 'Empty: one is made for you and shown once'}
          >
            {(props) => <input {...props} type="password" autocomplete="new-password" placeholder="whsec_…" />}
          </Field>
        </>
      ) : null}
      {type === 'slack' ? (
        <Field
          name="channel-url"
          label="Slack webhook URL"
          error={errors['channel-url']}
          hint={keeps ? `The URL is the credential: ${kept}` : 'The URL is the credential: never shown again'}
        >
          {(props) => (
            <input {...props} type="password" autocomplete="off" placeholder="https://hooks.slack.com/services/…" />
          )}
        </Field>
      ) : null}
      {type === 'email' ? (
        <Field name="channel-to" label="Recipients" error={errors['channel-to']}>
          {(props) => (
            <input
              {...props}
              defaultValue={keeps ? channel.target : ''}
              placeholder="oncall@example.com"
              autocomplete="off"
            />
          )}
        </Field>
      ) : null}
      <SaveActions busy={busy} label={channel ? 'Save channel' : 'Create channel'} onCancel={onCancel} />
    </FieldSet>
  );
}
