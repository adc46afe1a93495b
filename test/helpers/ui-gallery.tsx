import { render } from 'preact';
import { useState } from 'preact/hooks';
import { Chart } from '../../src/ui/app/components/Chart';
import { Field, FieldSet, hasErrors, textOf, type FieldErrors } from '../../src/ui/app/components/Form';
import { SecretOnce } from '../../src/ui/app/components/SecretOnce';
import { Table } from '../../src/ui/app/components/Table';
import '../../src/ui/app/styles/app.css';

// The shared components no page uses yet, on one page for test/ui-components.test.ts (built there
// with esbuild and served under the UI's Content-Security-Policy).

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLc4y';
const MINUTE = 60;
const start = 1_795_390_000;
const times = Array.from({ length: 30 }, (_, i) => start + i * MINUTE);
const received = times.map((_, i) => 20 + ((i * 7) % 13));
const failed = times.map((_, i) => (i % 9 === 0 ? 3 : 0));
const SERIES = [
  { label: 'received', stroke: '#174a8b' },
  { label: 'failed', stroke: '#9b1c1c' },
];

function Gallery() {
  const [secret, setSecret] = useState<string | null>(null);
  const [closed, setClosed] = useState(0);
  const [errors, setErrors] = useState<FieldErrors<'name' | 'url'>>({});
  const [saved, setSaved] = useState<string | null>(null);

  const save = (form: HTMLFormElement) => {
    const name = textOf(form, 'name');
    const url = textOf(form, 'url');
    const next: FieldErrors<'name' | 'url'> = {};
    if (!/^[a-z][a-z0-9-]*$/.test(name)) next.name = 'Lower-case letters, digits and dashes, starting with a letter.';
    if (!/^https?:\/\/./.test(url)) next.url = 'An http:// or https:// address.';
    setErrors(next);
    setSaved(hasErrors(next) ? null : name);
  };

  return (
    <main id="main">
      <h1>Components</h1>
      <section>
        <h2>Secret shown once</h2>
        <button type="button" onClick={() => setSecret(SECRET)}>
          Rotate secret
        </button>
        <p>
          Closed <span id="closed">{closed}</span> times
        </p>
        {secret ? (
          <SecretOnce
            title="New signing secret for shopify"
            secret={secret}
            onClose={() => {
              setSecret(null);
              setClosed((n) => n + 1);
            }}
          >
            <p>Paste it into the Shopify admin under Settings → Notifications.</p>
          </SecretOnce>
        ) : null}
      </section>
      <section>
        <h2>Form</h2>
        <FieldSet aria-label="New destination" onSubmit={save}>
          <Field name="name" label="Name" hint="Used in URLs and logs." error={errors.name}>
            {(props) => <input {...props} />}
          </Field>
          <Field name="url" label="URL" error={errors.url}>
            {(props) => <input {...props} type="url" />}
          </Field>
          <button type="submit">Save</button>
        </FieldSet>
        {saved ? <p id="saved">Saved {saved}</p> : null}
      </section>
      <section>
        <h2>Table</h2>
        <Table
          caption="Destinations"
          columns={[{ header: 'Name', cell: (row: { name: string }) => row.name }]}
          rows={[]}
          rowKey={(row) => row.name}
          empty="No destinations yet."
        />
      </section>
      <section>
        <h2>Chart</h2>
        <Chart
          title="Events per minute, last 30 minutes"
          series={SERIES}
          data={[times, received, failed]}
          summary="Between 20 and 32 events received per minute; 3 failed in four of the minutes."
        />
      </section>
    </main>
  );
}

render(<Gallery />, document.getElementById('app')!);
