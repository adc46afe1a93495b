import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exportedById } from './helpers/corpus-gateway';
import { databaseKinds } from './helpers/database';
import {
  HOOK,
  bodyBytes,
  exactJson,
  exactJsonOfText,
  loadGithubExamples,
  type GithubExample,
} from './helpers/github-corpus';
import {
  CORPUS_SECRET,
  startCorpusGateway,
  type CorpusGateway,
  type EventDetail,
} from './helpers/github-corpus-gateway';

// The ingest promise — a 200 means the exact bytes are stored once and processed — against every
// event type GitHub sends, as published in octokit/webhooks' payload examples (test/fixtures/github,
// see its README): each signed by @octokit/webhooks-methods, sent with GitHub's delivery headers as
// application/json, and forwarded to a real destination. A form hook's deliveries are in
// github-corpus-form.test.ts.

const examples = loadGithubExamples();

describe.each(databaseKinds())('GitHub payload examples as JSON on %s', (kind) => {
  let c: CorpusGateway;
  /** What each example was sent as, in the first test; the later ones repeat or vary it. */
  const stored = new Map<string, { id: number; delivery: string }>();

  beforeAll(async () => {
    c = await startCorpusGateway(kind);
  });
  afterAll(() => c?.stop());

  it('covers every event type of the corpus, the largest and the oddest', () => {
    expect(new Set(examples.map((ex) => ex.event)).size).toBeGreaterThanOrEqual(60);
    expect(examples.length).toBeGreaterThanOrEqual(70);
    expect(Math.max(...examples.map((ex) => ex.bytes.length))).toBeGreaterThan(30_000);
    expect(examples.some((ex) => ex.bytes.some((byte) => byte > 0x7f))).toBe(true);
  });

  it('every example is answered 200 and stored byte for byte, under its topic, with its numbers as sent', async () => {
    const answers = await c.each(examples, async (ex) => {
      const delivery = randomUUID();
      return { ex, delivery, res: await c.send(ex, ex.bytes, { delivery }) };
    });
    for (const { ex, delivery, res } of answers) {
      expect(res.status, `${ex.name}: ${res.text}`).toBe(200);
      expect(res.json, ex.name).toEqual({ status: 'accepted', id: expect.any(Number) });
      stored.set(ex.name, { id: res.json.id, delivery });
    }
    await c.each(examples, async (ex) => {
      const { id, delivery } = stored.get(ex.name)!;
      const event = await c.eventDetail(id);
      expect(bodyBytes(event.body).equals(ex.bytes), `${ex.name}: stored bytes differ`).toBe(true);
      expect(event.topic, ex.name).toBe(ex.topic);
      expect(event.webhook_id, ex.name).toBe(`${HOOK.id}/${delivery}`);
      expect(event.payload_unavailable, ex.name).toBeNull();
      expect(exactJson(event.payload), `${ex.name}: payload differs`).toBe(exactJsonOfText(ex.bytes.toString('utf8')));
      expect(event.headers, ex.name).toMatchObject({
        'user-agent': 'GitHub-Hookshot/044aadd',
        'x-github-event': ex.event,
        'x-github-hook-installation-target-type': HOOK.targetType,
      });
      expect(
        Object.keys(event.headers).filter((h) => h.startsWith('x-hub-signature')),
        ex.name,
      ).toEqual([]);
    });
  });

  it('every example reaches completed, delivered to a destination with the bytes as sent', async () => {
    await c.allCompleted([...stored.values()].map((s) => s.id));
    for (const ex of examples) {
      const { text, envelope } = c.delivered(stored.get(ex.name)!.id);
      // `data` is the stored text itself, embedded byte for byte (newlines and all).
      expect(text.includes(`"data":${ex.bytes.toString('utf8')}`), `${ex.name}: data is not the bytes sent`).toBe(true);
      expect(exactJson(envelope.data), ex.name).toBe(exactJsonOfText(ex.bytes.toString('utf8')));
    }
  });

  it('the NDJSON export shows every example with its bytes and numbers as sent', async () => {
    const byId = await exportedById(c.gw.url, 'github');
    for (const ex of examples) {
      const row = byId.get(stored.get(ex.name)!.id);
      expect(row, ex.name).toBeDefined();
      expect(bodyBytes(row!.body).equals(ex.bytes), `${ex.name}: exported bytes differ`).toBe(true);
      expect(exactJson(row!.payload), ex.name).toBe(exactJsonOfText(ex.bytes.toString('utf8')));
    }
  });

  it('a redelivery of each example (same hook, same delivery id, same bytes) is acknowledged and not stored twice', async () => {
    const answers = await c.each(examples, async (ex) => ({
      ex,
      res: await c.send(ex, ex.bytes, { delivery: stored.get(ex.name)!.delivery }),
    }));
    for (const { ex, res } of answers) {
      expect(res.status, ex.name).toBe(200);
      expect(res.json, ex.name).toEqual({ status: 'duplicate' });
    }
    await c.each(examples, async (ex) => {
      const webhookId = `${HOOK.id}/${stored.get(ex.name)!.delivery}`;
      const { events } = await c.opsGet<{ events: unknown[] }>(
        `/api/events?source=github&webhook_id=${encodeURIComponent(webhookId)}`,
      );
      expect(events, ex.name).toHaveLength(1);
    });
  });

  it('the same delivery id with other bytes is answered 200 and kept as a conflict, byte for byte', async () => {
    // The same event serialised compactly: a realistic "same id, other bytes" (a re-signed edit).
    const compact = (ex: GithubExample) => Buffer.from(JSON.stringify(JSON.parse(ex.bytes.toString('utf8'))));
    const answers = await c.each(examples, async (ex) => ({
      ex,
      res: await c.send(ex, compact(ex), { delivery: stored.get(ex.name)!.delivery }),
    }));
    for (const { ex, res } of answers) {
      expect(res.status, ex.name).toBe(200);
      expect(res.json, ex.name).toEqual({ status: 'conflict', event_id: stored.get(ex.name)!.id });
    }
    await c.each(examples, async (ex) => {
      const { conflicts } = await c.opsGet<{ conflicts: { id: unknown }[] }>(
        `/api/conflicts?event_id=${stored.get(ex.name)!.id}`,
      );
      expect(conflicts, ex.name).toHaveLength(1);
      const conflict = await c.opsGet<EventDetail>(`/api/conflicts/${String(conflicts[0]!.id)}`);
      expect(bodyBytes(conflict.body).equals(compact(ex)), `${ex.name}: conflict bytes differ`).toBe(true);
      expect(exactJson(conflict.payload), ex.name).toBe(exactJsonOfText(compact(ex).toString('utf8')));
    });
  });

  it('ids beyond 2^53 in a GitHub payload are stored and shown as sent', async () => {
    // The published examples' ids all fit a double (the longest has 12 digits); GitHub's ids grow,
    // so the same push with every "id" ten digits longer: JSON.parse would round each of them.
    const push = examples.find((ex) => ex.name === 'push/payload.json')!;
    const bytes = Buffer.from(push.bytes.toString('utf8').replace(/("id": )(\d+)/g, '$1$21234567890'));
    expect(bytes.toString('utf8')).toMatch(/"id": \d{17,}/);
    const res = await c.send(push, bytes);
    expect(res.status, res.text).toBe(200);
    const event = await c.eventDetail(res.json.id);
    expect(bodyBytes(event.body).equals(bytes)).toBe(true);
    expect(exactJson(event.payload)).toBe(exactJsonOfText(bytes.toString('utf8')));
  });

  it('nothing was dropped or stored twice: one event per accepted delivery, one conflict per changed copy', async () => {
    // Every example once and the push with long ids: the redeliveries added nothing.
    const { events } = await c.opsGet<{ events: unknown[] }>('/api/events?source=github&limit=500');
    expect(events).toHaveLength(examples.length + 1);
    const { conflicts } = await c.opsGet<{ conflicts: unknown[] }>('/api/conflicts?source=github&limit=500');
    expect(conflicts).toHaveLength(examples.length);
    expect(c.gw.logs.some((line) => line.includes('conflicting copy stored'))).toBe(true);
    expect(c.gw.logs.filter((line) => line.includes(CORPUS_SECRET))).toEqual([]);
  });
});
