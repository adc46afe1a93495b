import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportedById } from './helpers/corpus-gateway';
import { databaseKinds } from './helpers/database';
import { waitFor } from './helpers/gateway';
import { SECRETS } from './helpers/gateway';
import { bodyBytes, exactJson, exactJsonOfText, formBody, loadGithubExamples } from './helpers/github-corpus';
import {
  DESTINATION_SECRET,
  startCorpusGateway,
  type CorpusGateway,
  type EventDetail,
} from './helpers/github-corpus-gateway';

// A GitHub hook's other content type, `form` (GitHub's default for a hook created through the REST
// API): the same JSON as the form parameter `payload`. Every published example (test/fixtures/github)
// sent that way: stored as sent, while everything after ingest reads the JSON inside it
// (docs/providers.md, GitHub).

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
        name: 'github-masked',
        provider: 'github',
        secrets: ['github-corpus-secret'],
        mask: ['issue.title'],
        ordering: { key: { jsonPath: '$.repository.full_name' } },
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

  it("every example sent form-encoded (a REST-created hook's default) is stored byte for byte, shown and delivered as its JSON", async () => {
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
    const sent = (ex: (typeof examples)[number]) => ex.bytes.toString('utf8');
    await c.each(examples, async (ex) => {
      const event = await c.eventDetail(ids[examples.indexOf(ex)]!);
      // The stored bytes are the form as sent; the payload is the JSON inside it, numbers as sent.
      expect(bodyBytes(event.body).equals(formBody(ex.bytes)), `${ex.name}: stored form bytes differ`).toBe(true);
      expect(event.topic, ex.name).toBe(ex.topic);
      expect(event.payload_unavailable, ex.name).toBeNull();
      expect(event.payload_from, ex.name).toBe('form_payload');
      expect(exactJson(event.payload), `${ex.name}: payload differs`).toBe(exactJsonOfText(sent(ex)));
    });
    await c.allCompleted(ids);
    for (const [i, ex] of examples.entries()) {
      const { text, envelope } = c.delivered(ids[i]!);
      // `data` is the JSON exactly as GitHub encoded it in the form, embedded byte for byte.
      expect(text.includes(`"data":${sent(ex)}`), `${ex.name}: data is not the JSON sent`).toBe(true);
      expect(exactJson(envelope.data), ex.name).toBe(exactJsonOfText(sent(ex)));
    }
    // The NDJSON export shows the same: the form bytes as `body`, the JSON as `payload`.
    const byId = await exportedById(c.gw.url, 'github');
    for (const [i, ex] of examples.entries()) {
      const row = byId.get(ids[i]!);
      expect(row, ex.name).toBeDefined();
      expect(bodyBytes(row!.body).equals(formBody(ex.bytes)), `${ex.name}: exported bytes differ`).toBe(true);
      expect(exactJson(row!.payload), ex.name).toBe(exactJsonOfText(sent(ex)));
    }
  });

  it("a form hook's event meets body filters, transformations and payload schemas with its JSON, as a json hook's does", async () => {
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

    for (const contentType of ['application/json', FORM] as const) {
      const routed = await sendTo('github-routed', contentType);
      expect(routed.topic, contentType).toBe('issues.opened');
      expect(outcomes(routed), contentType).toEqual({
        'by-topic': 'delivered',
        'by-body': 'delivered',
        transformed: 'delivered',
      });
      // A transformation gets the JSON as `body`.
      expect(c.sinkBodies(Number(String(routed.id))), contentType).toContain('{"body_type":"object"}');
      const checked = await sendTo('github-schema', contentType);
      expect(checked.status, `${contentType}: ${checked.last_error}`).toBe('completed');
    }
  });

  it("a form hook's event is ordered by a key in its JSON, masked in its JSON, and previewed with its JSON", async () => {
    const issue = examples.find((ex) => ex.name === 'issues/opened.with-organization.payload.json')!;
    const title = 'Spelling error in the README file';
    const masked = await c.send(issue, formBody(issue.bytes), { contentType: FORM }, 'github-masked');
    expect(masked.status, masked.text).toBe(200);
    const event = await c.opsGet<EventDetail & { orderingKey: string | null }>(`/api/events/${masked.json.id}`);
    // The ordering key computed at ingest reads the form's JSON (no key was found in the form text).
    expect(event.orderingKey).toBe('Codertocat/Hello-World');
    // Masked in the JSON; the form text (which holds every value unmasked) is not shown.
    expect((event.payload as { issue: { title: string } }).issue.title).toBe('[masked]');
    expect(event.body).toMatchObject({ encoding: 'utf8', masked: true });
    for (const shown of [event.body.data, JSON.stringify(event.payload)]) {
      expect(shown).not.toContain(title);
      expect(shown).not.toContain(encodeURIComponent(title));
      expect(shown).not.toContain('Spelling+error');
    }

    const routed = await c.send(issue, formBody(issue.bytes), { contentType: FORM }, 'github-routed');
    expect(routed.status, routed.text).toBe(200);
    const res = await fetch(`${c.gw.url}/api/destinations/by-body/preview`, {
      method: 'POST',
      headers: { authorization: `Bearer ${SECRETS.ops}`, 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: routed.json.id }),
    });
    const text = await res.text();
    expect(res.status, text).toBe(200);
    const preview = JSON.parse(text) as { matched: boolean; body: string };
    // The body filter matches, and the envelope's data is the JSON as GitHub encoded it.
    expect(preview.matched).toBe(true);
    expect(preview.body).toContain(`"data":${issue.bytes.toString('utf8')}`);
  });
});
