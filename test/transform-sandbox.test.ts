import { afterAll, describe, expect, it } from 'vitest';
import { createTransformPool } from '../src/transform/pool';

// The sandbox itself, below the gateway: what a run can see and change, and that a run stopped at
// the deadline leaves the runs queued behind it alone. (Through the gateway: destinations-transform.)
describe('transform sandbox', () => {
  const pool = createTransformPool({ threads: 1 });
  afterAll(() => pool.close());
  const input = JSON.stringify({ topic: 't', headers: {}, body: { id: 5 }, event: {} });
  const js = (code: string) => pool.run({ language: 'javascript', code }, input);
  const jsonata = (code: string) => pool.run({ language: 'jsonata', code }, input);

  it('a JavaScript run sees no host function and leaves nothing for the next run', async () => {
    expect(
      await js(
        'function transform(i) { return [typeof require, typeof process, typeof fetch, typeof setTimeout, typeof console]; }',
      ),
    ).toEqual({ ok: true, body: '["undefined","undefined","undefined","undefined","undefined"]' });
    expect(await js('function transform(i) { globalThis.leak = 1; Object.prototype.polluted = 1; return 1; }')).toEqual(
      {
        ok: true,
        body: '1',
      },
    );
    expect(await js('function transform(i) { return [typeof leak, ({}).polluted === undefined]; }')).toEqual({
      ok: true,
      body: '["undefined",true]',
    });
  });

  it('a JSONata expression cannot reach constructors, and later runs see the same library', async () => {
    const escape = await jsonata('($f := body.constructor.constructor; $f("globalThis.jsonata = null")())');
    expect(escape.ok).toBe(false);
    expect(await jsonata('{"id": body.id}')).toEqual({ ok: true, body: '{"id":5}' });
  });

  it('runs queued behind one stopped at the deadline complete', async () => {
    const [looping, ...after] = await Promise.all([
      jsonata('($l := function(){ $l() }; $l())'),
      js('function transform(i) { return i.body.id + 1; }'),
      jsonata('body.id * 2'),
    ]);
    // JSONata makes the tail call a loop: no stack grows, only the deadline stops it.
    expect(looping).toEqual({ ok: false, message: 'did not finish within 1000 ms' });
    expect(after).toEqual([
      { ok: true, body: '6' },
      { ok: true, body: '10' },
    ]);
  });

  it('a catastrophic regular expression ($match, $replace, $split, RegExp#test) is stopped at the deadline, off the main thread', async () => {
    // QuickJS's regex engine backtracks too, but calls the interrupt handler while it does.
    const hostile = JSON.stringify({ topic: 't', headers: {}, body: { s: `${'a'.repeat(40)}!` }, event: {} });
    const runs = await Promise.all([
      pool.run({ language: 'jsonata', code: '$match(body.s, /^(a+)+$/)' }, hostile),
      pool.run({ language: 'jsonata', code: '$replace(body.s, /^(a+)+$/, "x")' }, hostile),
      pool.run({ language: 'jsonata', code: '$split(body.s, /(a+)+b/)' }, hostile),
      pool.run({ language: 'javascript', code: 'function transform(i) { return /^(a+)+$/.test(i.body.s); }' }, hostile),
      pool.run({ language: 'jsonata', code: '$contains(body.s, /^(a+)+b/)' }, JSON.stringify({ body: { s: 'aab' } })),
    ]);
    expect(runs.slice(0, 4)).toEqual(Array(4).fill({ ok: false, message: 'did not finish within 1000 ms' }));
    expect(runs[4]).toEqual({ ok: true, body: 'true' });
  });
});
