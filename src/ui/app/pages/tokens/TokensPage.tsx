import { roleNeeded } from '../sources/roles';
import { useState } from 'preact/hooks';
import { ROLES, type CreatedToken, type Role, type TokenView } from '../../api/types';
import { Field, FieldSet, hasErrors, textOf, type FieldErrors } from '../../components/Form';
import { Notice, Time } from '../../components/format';
import { SecretOnce } from '../../components/SecretOnce';
import { Loaded } from '../../components/Loaded';
import { Table, type Column } from '../../components/Table';
import { useResource } from '../../hooks/useResource';
import { useRole } from '../../hooks/useRole';
import { useTitle } from '../../hooks/useTitle';
import { useApi } from '../../session';

const ROLE_HELP: Record<Role, string> = {
  viewer: 'read events, stats, logs and the live stream',
  operator: 'viewer, plus replay and pause/resume',
  admin: 'everything: tokens, audit log, sources and secrets',
  metrics: 'only /metrics, for a Prometheus scraper',
};

type FormName = 'name' | 'role' | 'expires_in';

/** Client-side checks mirroring the API's, so a mistake is named before a round trip. */
function validate(values: Record<FormName, string>): FieldErrors<FormName> {
  return {
    name: /^[a-z0-9][a-z0-9._-]{0,62}$/.test(values.name)
      ? undefined
      : 'Use 1-63 lower-case letters, digits, ".", "_" or "-".',
    expires_in:
      values.expires_in === '' || /^[1-9]\d{0,5}[mhdw]$/.test(values.expires_in)
        ? undefined
        : 'A number and a unit: 90m, 12h, 30d or 4w (or leave empty).',
  };
}

const state = (t: TokenView) =>
  t.revoked_at ? 'revoked' : t.expires_at && Date.parse(t.expires_at) <= Date.now() ? 'expired' : 'active';

/** Ops API tokens (admin): create one (shown once), list them, revoke one. */
export function TokensPage() {
  useTitle('Tokens');
  const api = useApi();
  const admin = useRole('admin');
  // Asked for only once the role allows it: a refused request is an error in the browser's console.
  const list = useResource((signal) => (admin.may ? api.tokens(signal) : Promise.resolve(undefined)), [admin.may]);
  const [errors, setErrors] = useState<FieldErrors<FormName>>({});
  const [formError, setFormError] = useState<string>();
  const [created, setCreated] = useState<CreatedToken>();
  const [busy, setBusy] = useState(false);
  const [revokeError, setRevokeError] = useState<string>();

  const submit = async (form: HTMLFormElement) => {
    const values = { name: textOf(form, 'name'), role: textOf(form, 'role'), expires_in: textOf(form, 'expires_in') };
    const checked = validate(values);
    setErrors(checked);
    setFormError(undefined);
    if (hasErrors(checked)) return;
    setBusy(true);
    try {
      const token = await api.createToken({
        name: values.name,
        role: values.role as Role,
        ...(values.expires_in ? { expires_in: values.expires_in } : {}),
      });
      form.reset();
      setCreated(token);
      list.reload();
    } catch (err) {
      setFormError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };

  const revoke = async (t: TokenView) => {
    if (!window.confirm(`Revoke the token "${t.name}"? Anything using it is refused within a second.`)) return;
    setRevokeError(undefined);
    try {
      await api.revokeToken(t.name);
    } catch (err) {
      setRevokeError((err as Error).message);
    }
    list.reload();
  };

  const columns: Column<TokenView>[] = [
    { header: 'Name', cell: (t) => t.name, class: 'mono' },
    { header: 'Role', cell: (t) => t.role },
    { header: 'Prefix', cell: (t) => t.prefix, class: 'mono' },
    { header: 'Created', cell: (t) => <Time iso={t.created_at} /> },
    { header: 'Expires', cell: (t) => (t.expires_at ? <Time iso={t.expires_at} /> : 'never') },
    { header: 'Last used', cell: (t) => (t.last_used_at ? <Time iso={t.last_used_at} /> : 'never') },
    {
      header: 'State',
      cell: (t) => <span class={`badge ${state(t) === 'active' ? 'completed' : 'failed'}`}>{state(t)}</span>,
    },
    {
      header: '',
      cell: (t) =>
        t.revoked_at ? null : (
          <button type="button" class="secondary" onClick={() => revoke(t)} aria-label={`Revoke ${t.name}`}>
            Revoke
          </button>
        ),
    },
  ];

  return (
    <>
      <h1 tabIndex={-1}>Tokens</h1>
      <p class="muted">
        Tokens for the ops API, the CLI and this UI. The gateway keeps only a hash: a new token is shown once.
        OPS_API_TOKEN stays the bootstrap admin token and is not listed.
      </p>
      {admin.may ? null : admin.role ? (
        <Notice kind="info">
          {roleNeeded('Listing, creating and revoking tokens needs', 'admin', admin.role)} Sign in with an admin token
          to manage them.
        </Notice>
      ) : null}
      {admin.may ? (
        <FieldSet class="filters" aria-label="Create a token" onSubmit={submit} error={formError}>
          <Field name="name" label="Name" error={errors.name} hint="Shown in the audit log as who acted">
            {(props) => <input {...props} placeholder="ci-replays" autocomplete="off" required />}
          </Field>
          <Field name="role" label="Role">
            {(props) => (
              <select {...props}>
                {ROLES.map((r) => (
                  <option key={r} value={r}>
                    {`${r}: ${ROLE_HELP[r]}`}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field name="expires_in" label="Expires in" error={errors.expires_in} hint="Empty: never">
            {(props) => <input {...props} placeholder="30d" autocomplete="off" />}
          </Field>
          <div class="actions">
            <button type="submit" disabled={busy}>
              Create token
            </button>
          </div>
        </FieldSet>
      ) : null}
      {created ? (
        <SecretOnce
          title={`Token "${created.name}" (${created.role})`}
          secret={created.token}
          onClose={() => setCreated(undefined)}
        >
          <p>Send it as Authorization: Bearer &lt;token&gt;, or sign in to this UI with it.</p>
        </SecretOnce>
      ) : null}
      {revokeError ? <Notice kind="error">{revokeError}</Notice> : null}
      {/* Below admin the list is refused too: the note above says why, once. */}
      {admin.may ? (
        <Loaded resource={list}>
          {(data) => (
            <Table
              caption="Tokens"
              columns={columns}
              rows={data.tokens}
              rowKey={(t) => t.name}
              rowProps={(t) => ({ 'data-token': t.name })}
              empty="No tokens yet: only OPS_API_TOKEN works."
            />
          )}
        </Loaded>
      ) : null}
    </>
  );
}
