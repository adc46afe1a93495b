import { useEffect, useState } from 'preact/hooks';
import { ApiError, checkToken } from '../api/client';
import { Field, FieldSet, textOf, type FieldErrors } from '../components/Form';
import { Notice } from '../components/format';
import { useTitle } from '../hooks/useTitle';
import { useSession } from '../session';

/** Sign-in with an ops token: checked against the gateway before it is kept (sessionStorage). */
export function SignIn() {
  useTitle('Sign in');
  const { signIn, reason } = useSession();
  const [errors, setErrors] = useState<FieldErrors<'token'>>({});
  const [formError, setFormError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => document.getElementById('field-token')?.focus(), []);

  const submit = async (form: HTMLFormElement) => {
    const token = textOf(form, 'token');
    setFormError(null);
    if (!token) return setErrors({ token: 'Enter an ops API token (a value of OPS_API_TOKEN).' });
    setBusy(true);
    try {
      // Checked before it is stored: a wrong token never reaches storage.
      await checkToken(token);
      setErrors({});
      signIn(token);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) setErrors({ token: 'The gateway refused this token.' });
      else {
        setErrors({});
        setFormError((err as Error).message);
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <main id="main" class="login">
      <p class="product">webhook-gateway</p>
      <h1 id="login-title" tabIndex={-1}>
        Sign in
      </h1>
      <p class="muted">Enter an ops API token (one of OPS_API_TOKEN). It is kept in this browser tab only.</p>
      {reason ? <Notice kind="error">{reason}</Notice> : null}
      <FieldSet aria-labelledby="login-title" onSubmit={submit} error={formError}>
        <Field name="token" label="Ops API token" error={errors.token}>
          {(props) => <input {...props} type="password" required autocomplete="current-password" spellcheck={false} />}
        </Field>
        <button type="submit" disabled={busy}>
          Sign in
        </button>
      </FieldSet>
    </main>
  );
}
