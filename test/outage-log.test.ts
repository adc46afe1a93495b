import { describe, expect, it } from 'vitest';
import { createOutageLog, unreachableCode } from '../src/db/outage';

/** A socket error as postgres.js rejects a statement with it: `query` defined on it, not enumerable. */
const refused = () =>
  Object.defineProperty(
    Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    'query',
    {
      value: 'select 1',
    },
  );
/** The same socket code from a destination's fetch (undici: TypeError "fetch failed", the socket error as its cause). */
const fetchRefused = () =>
  new TypeError('fetch failed', {
    cause: Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:443'), { code: 'ECONNREFUSED' }),
  });
const serverError = (code: string) => Object.assign(new Error('x'), { code, severity: 'FATAL' });

function outageLog() {
  const written: { level: string; fields: Record<string, unknown>; message: string }[] = [];
  let clock = 0;
  const log = createOutageLog({
    write: (level, fields, message) => written.push({ level, fields, message }),
    remindEveryMs: 60_000,
    now: () => clock,
  });
  return { log, written, advance: (ms: number) => (clock += ms) };
}

describe('the database outage log', () => {
  it('tells an unreachable database from a failed statement', () => {
    expect(unreachableCode(refused())).toBe('ECONNREFUSED');
    expect(unreachableCode(new Error('wrapped', { cause: refused() }))).toBe('ECONNREFUSED');
    expect(unreachableCode(serverError('57P01'))).toBe('57P01');
    expect(unreachableCode(serverError('08006'))).toBe('08006');
    expect(unreachableCode(serverError('23505'))).toBeUndefined();
    expect(unreachableCode(new Error('boom'))).toBeUndefined();
    // Not the database: a destination, an alert channel or an SFTP server refusing a connection.
    expect(unreachableCode(fetchRefused())).toBeUndefined();
    expect(unreachableCode(Object.assign(new Error('x'), { code: 'CONNECTION_CLOSED' }))).toBe('CONNECTION_CLOSED');
  });

  it('logs a start once, reminds at most once a minute, and leaves other errors to their caller', () => {
    const { log, written, advance } = outageLog();
    expect(log.absorbs(new Error('boom'))).toBe(false);
    for (let second = 0; second < 150; second++) {
      expect(log.absorbs(refused(), 'worker')).toBe(true);
      advance(1000);
    }
    expect(written.map((w) => [w.level, w.message])).toEqual([
      ['error', expect.stringMatching(/^database unreachable/)],
      ['warn', 'database still unreachable'],
      ['warn', 'database still unreachable'],
    ]);
    expect(written[0]!.fields).toEqual({ code: 'ECONNREFUSED', component: 'worker' });
    expect(written[2]!.fields).toMatchObject({ downSeconds: 120, failures: 121 });
    log.stop();
  });

  it('logs the end with its duration once a probe reaches the database', async () => {
    const written: string[] = [];
    let up = false;
    const log = createOutageLog({
      write: (_level, fields, message) => written.push(`${message} ${JSON.stringify(fields)}`),
      probeEveryMs: 5,
    });
    log.watch(async () => up);
    log.absorbs(refused());
    await new Promise((r) => setTimeout(r, 30));
    expect(written).toHaveLength(1);
    up = true;
    for (let i = 0; i < 200 && written.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
    expect(written[1]).toMatch(/^database reachable again \{"downSeconds":[\d.]+,"failures":1\}$/);
    // A new outage is a new start.
    up = false;
    log.absorbs(refused());
    expect(written).toHaveLength(3);
    log.stop();
  });
});
