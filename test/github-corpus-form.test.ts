import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseKinds } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { bodyBytes, formBody, loadGithubExamples } from './helpers/github-corpus';
import {
  DESTINATION_SECRET,
  startCorpusGateway,
  type CorpusGateway,
  type EventDetail,
} from './helpers/github-corpus-gateway';

// A GitHub hook's other content type, `form` (GitHub's default for a hook created through the REST
// API): the same JSON as the form parameter `payload`. Every published example (test/fixtures/github)
// sent that way, and what such an event meets after ingest (docs/providers.md, GitHub).

const examples = loadGithubExamples();
const FORM = 'application/x-www-form-urlencoded';
/** A transformation that posts what it was given as `body`. */
const TYPE_OF_BODY = '{"body_type": $type(body)}';

describe.each(databaseKinds())('GitHub payload examples from a form hook on %s', (kind) => {
  let c: CorpusGateway;

  beforeAll(async () => {
    const routed = (url: string, name: string, filter: object) => ({ name, url, secret: DESTINATION_SECRET, filter });
    c = await startCorpusGateway(kind, (url) => [
      {
        name: 'github-routed',
        provider: 'github',
        secrets: ['github-corpus-secret'],
        destinations: [
          routed(url, 'by-topic', { topic: 'issues.opened' }),
          routed(url, 'by-body', { body: { action: 'opened' } }),
          {
            name: 'transformed',
            url,
            secret: DESTINATION_SECRET,
            transform: { language: 'jsonata', code: TYPE_OF_BODY },
          },
        ],
      },
      {
        name: 'github-schema',
        provider: 'github',
        secrets: ['github-corpus-secret'],
        schemas: { 'issues.opened': { type: 'object', required: ['issue'] } },
      },
    ]);
  });
  afterAll(() => c?.stop());

  it("every example sent form-encoded (a REST-created hook's default) is stored byte for byte under the same topic and completes", async () => {
    const answers = await c.each(examples, async (ex) => ({
      ex,
      res: await c.send(ex, formBody(ex.bytes), { contentType: FORM }),
    }));
    const ids: number[] = [];
    for (const { ex, res } of answers) {
      expect(res.status, `${ex.name}: ${res.text}`).toBe(200);
      expect(res.json, ex.name).toEqual({ status: 'accepted', id: expect.any(Number) });
      ids.push(res.json.id);
    }
    await c.each(examples, async (ex) => {
      const event = await c.eventDetail(ids[examples.indexOf(ex)]!);
      expect(bodyBytes(event.body).equals(formBody(ex.bytes)), `${ex.name}: stored form bytes differ`).toBe(true);
      expect(event.topic, ex.name).toBe(ex.topic);
      expect(event.payload, ex.name).toBeNull();
      expect(event.payload_unavailable?.reason, ex.name).toBe('not_json');
    });
    await c.allCompleted(ids);
    // Not JSON, so the envelope carries the exact form bytes as base64.
    for (const [i, ex] of examples.entries()) {
      const { envelope } = c.delivered(ids[i]!);
      expect(envelope.data, ex.name).toEqual({ raw_base64: formBody(ex.bytes).toString('base64') });
    }
  });

  it("a form hook's event is routed by its topic, but body filters, transformations and payload schemas do not see its JSON", async () => {
    const issue = examples.find((ex) => ex.name === 'issues/opened.with-organization.payload.json')!;
    /** Sends the issue to `source` as `contentType` and waits until its event is completed or failed. */
    const sendTo = async (source: string, contentType: 'application/json' | typeof FORM) => {
      const body = contentType === FORM ? formBody(issue.bytes) : issue.bytes;
      const res = await c.send(issue, body, { contentType }, source);
      expect(res.status, res.text).toBe(200);
      const id = res.json.id as number;
      const settled = await waitFor(
        async () => {
          const event = await c.eventDetail(id);
          return event.status === 'completed' || event.status === 'failed' ? event : undefined;
        },
        15_000,
        `event ${id} settled`,
      );
      return settled!;
    };
    const outcomes = (event: EventDetail) =>
      Object.fromEntries(event.deliveries.map((d) => [d.destination, d.outcome]));

    const json = await sendTo('github-routed', 'application/json');
    expect(outcomes(json)).toEqual({ 'by-topic': 'delivered', 'by-body': 'delivered', transformed: 'delivered' });
    expect(c.sinkBodies(Number(String(json.id)))).toContain('{"body_type":"object"}');
    const form = await sendTo('github-routed', FORM);
    expect(form.topic).toBe('issues.opened');
    // The body of a form delivery is `payload=…`, not JSON: every body condition is false.
    expect(outcomes(form)).toEqual({ 'by-topic': 'delivered', 'by-body': 'ignored', transformed: 'delivered' });
    // A transformation gets the form text as `body`.
    expect(c.sinkBodies(Number(String(form.id)))).toContain('{"body_type":"string"}');

    expect((await sendTo('github-schema', 'application/json')).status).toBe('completed');
    const checked = await sendTo('github-schema', FORM);
    expect(checked.status).toBe('failed');
    expect(checked.last_error).toContain('payload failed validation');
  });
});
